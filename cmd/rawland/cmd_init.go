package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rawland/rawland/landing"
)

func init() {
	register(&command{
		name:    "init",
		usage:   "[--force] [DIR]",
		summary: "start a new project in DIR (default .): a commented rawland.yaml, schemas/ and .gitignore",
		help: "Writes DIR/rawland.yaml (one source, one stream, every common key explained in a comment),\n" +
			"DIR/schemas/items.json (a placeholder: replace it with `rawland schema draft items --write --force`\n" +
			"after the first ingest) and DIR/.gitignore (the data directory). It asks nothing and never\n" +
			"overwrites a file unless --force is given.",
		run: runInit,
	})
}

func runInit(_ context.Context, a *app, args []string) error {
	fs := flag.NewFlagSet("init", flag.ContinueOnError)
	force := fs.Bool("force", false, "overwrite files that exist")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return usagef("at most one DIR")
	}
	dir := "."
	if len(pos) == 1 {
		dir = pos[0]
	}
	files := []struct {
		path string
		body string
	}{
		{filepath.Join(dir, "rawland.yaml"), starterConfig},
		{filepath.Join(dir, "schemas", "items.json"), starterSchema},
		{filepath.Join(dir, ".gitignore"), "# rawland's data directory: raw landing, state, warehouse\n/data/\n"},
	}
	if !*force {
		paths := make([]string, len(files))
		for i, f := range files {
			paths[i] = f.path
		}
		if err := refuseOverwrite(paths...); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "schemas"), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Join(dir, "schemas"), err)
	}
	for _, f := range files {
		if err := landing.WriteFileAtomic(f.path, []byte(f.body)); err != nil {
			return fmt.Errorf("write %s: %w", f.path, err)
		}
		fmt.Fprintf(a.stdout, "wrote %s\n", f.path)
	}
	cfg := filepath.Join(dir, "rawland.yaml")
	fmt.Fprintf(a.stdout, `
next:
  1. edit %[1]s: base_url, auth (the secret's environment variable), path, records, pagination
  2. rawland --config %[1]s ingest                       land the raw records
  3. rawland --config %[1]s schema draft items --write --force   draft schemas/items.json from them
  4. rawland --config %[1]s transform                    load the typed table
  5. rawland --config %[1]s sql "SELECT count(*) FROM items"
`, cfg)
	return nil
}

// starterConfig is the commented rawland.yaml that init writes. It is valid
// as written (tested): only the upstream's address and shape need editing.
const starterConfig = `# rawland.yaml: what to pull, from where, and how to land it.
# Reference: docs in the README ("Config reference"). Durations are Go
# durations (30s, 10m, 168h); sizes accept KiB/MiB/GiB.

# Where raw runs, state and the DuckDB warehouse live (relative to this file).
data_dir: data

sources:
  api:
    # The API's address; stream paths are appended to it.
    base_url: https://api.example.com/v1
    headers: {Accept: application/json}
    # Secrets come only from environment variables, never from this file:
    #   none | bearer {token_env} | basic {user_env, password_env}
    #   header {name, value_env} | query {name, value_env}
    auth: {type: bearer, token_env: API_TOKEN}
    concurrency: 5                          # requests in flight for this source
    # rate_limit: {requests: 5000, per: 1h}  # client-side quota, shared across processes
    timeout: 30s                            # per request
    # allowed_origins: [https://files.example.com]  # other origins links may lead to

streams:
  items:
    source: api
    path: /items
    params: {per_page: "100"}
    # Dot path to the record array in the body ("" = the body is the array).
    records: data
    primary_key: [id]
    # Pagination: none | link | next_url {field} | cursor {next, param, has_more}
    #             | offset {param, limit_param, limit} | page {param, size_param, size}
    pagination: {type: cursor, next: next_cursor, param: cursor, has_more: has_more}
    # Incremental reads: the record field that holds the high-water mark and
    # the query parameter that sends it back. Remove for full reads.
    # cursor: {field: updated_at, param: since, start: "2024-01-01T00:00:00Z", lookback: 10m}
    # A placeholder: after the first ingest, replace it with
    #   rawland schema draft items --write --force
    schema: schemas/items.json

reconcile:
  every: 168h    # rawland run does a full resync when the last one is older
`

// starterSchema is the placeholder schema init writes.
const starterSchema = `{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "title": "items (placeholder: run rawland schema draft items --write --force after the first ingest)",
  "type": "object",
  "properties": {
    "id": {"type": "integer"}
  },
  "required": ["id"]
}
`
