package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rawland/rawland/landing"
	"github.com/rawland/rawland/state"
	"github.com/rawland/rawland/transform/schemadraft"
)

func init() {
	register(&command{
		name:        "schema",
		usage:       "draft STREAM [--write] [--force] [--sample N]",
		summary:     "draft a JSON Schema from a stream's landed records (print it, or --write schemas/STREAM.json)",
		needsConfig: true,
		help: "Reads the stream's committed raw runs, newest first, up to --sample records, and infers\n" +
			"a draft-07 schema: types and nullability, integer vs number, required (fields present in\n" +
			"every record), formats (date-time, date, email, uri, uuid), enums for low-cardinality\n" +
			"strings, nested objects and arrays. Every record it read validates against the draft.\n" +
			"--write puts it at the stream's schema path (schemas/STREAM.json by default); an existing\n" +
			"file is replaced only with --force.",
		run: runSchema,
	})
}

// errSampleFull stops the walk over landed records once enough were read.
var errSampleFull = errors.New("sample full")

func runSchema(ctx context.Context, a *app, args []string) error {
	if len(args) == 0 || args[0] != "draft" {
		return usagef("schema needs an action: draft STREAM")
	}
	fs := flag.NewFlagSet("schema draft", flag.ContinueOnError)
	write := fs.Bool("write", false, "write the draft to the stream's schema file instead of printing it")
	force := fs.Bool("force", false, "with --write: replace an existing schema file")
	sample := fs.Int("sample", 100000, "read at most N records, newest runs first (0 = all)")
	pos, err := parseFlags(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("schema draft takes one STREAM")
	}
	if *sample < 0 {
		return usagef("--sample must be 0 (all) or more")
	}
	streams, err := a.cfg.Select(pos)
	if err != nil {
		return err
	}
	st := streams[0]
	store, err := a.readStore(ctx)
	if err != nil {
		return err
	}
	runs, err := store.List(ctx, state.RunFilter{Stream: st.Name, Status: []state.Status{state.StatusCommitted, state.StatusTransformed}})
	if err != nil {
		return err
	}
	d := schemadraft.New()
	if err := a.openLanding(ctx); err != nil {
		return err
	}
	zone := a.zone()
	nruns := 0
	for _, r := range runs {
		if *sample > 0 && d.Records() >= int64(*sample) {
			break
		}
		nruns++
		_, err = zone.Records(ctx, st.Name, r.ID, func(rec landing.Record) error {
			if *sample > 0 && d.Records() >= int64(*sample) {
				return errSampleFull
			}
			if err := d.Observe(rec.Data); err != nil {
				return fmt.Errorf("%s line %d: %w", rec.File, rec.Line, err)
			}
			return nil
		})
		if err != nil && !errors.Is(err, errSampleFull) {
			return fmt.Errorf("read run %s of %s: %w", r.ID, st.Name, err)
		}
	}
	if d.Records() == 0 {
		return fmt.Errorf("stream %s has no landed records to draft from: run `rawland ingest %s` first", st.Name, st.Name)
	}
	body, err := schemadraft.Marshal(d.Schema(st.Name))
	if err != nil {
		return err
	}
	if !*write {
		_, err := a.stdout.Write(body)
		return err
	}
	path := st.SchemaPath
	if path == "" {
		path = filepath.Join(a.cfg.Dir, "schemas", st.Name+".json")
	}
	if !*force {
		if err := refuseOverwrite(path); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	if err := landing.WriteFileAtomic(path, body); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	fmt.Fprintf(a.stdout, "wrote %s: drafted from %d records of %d runs of %s; review it, then run `rawland transform %s`\n",
		path, d.Records(), nruns, st.Name, st.Name)
	return nil
}
