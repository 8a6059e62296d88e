package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"strings"

	"github.com/rawland/rawland/transform"
)

func init() {
	register(&command{
		name:    "sql",
		usage:   "[--csv|--json|--markdown] [QUERY]",
		summary: "run DuckDB SQL on the warehouse (read-only); interactive when no QUERY and stdin is a terminal",
		run:     runSQL,
	})
}

func runSQL(ctx context.Context, a *app, args []string) error {
	fs := flag.NewFlagSet("sql", flag.ContinueOnError)
	asCSV := fs.Bool("csv", false, "print CSV")
	asJSON := fs.Bool("json", false, "print a JSON array of objects")
	asMarkdown := fs.Bool("markdown", false, "print a Markdown table")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	format := transform.FormatTable
	switch {
	case btoi(*asCSV)+btoi(*asJSON)+btoi(*asMarkdown) > 1:
		return usagef("--csv, --json and --markdown exclude each other")
	case *asMarkdown:
		format = transform.FormatMarkdown
	case *asCSV:
		format = transform.FormatCSV
	case *asJSON:
		format = transform.FormatJSON
	}
	// sql works without a config (default ./data), but honours its data_dir.
	if a.dataFlag == "" {
		if _, err := os.Stat(a.configPath); err == nil {
			if err := a.loadConfig(); err != nil {
				return err
			}
		}
	}
	wh := a.warehousePath()
	if len(pos) > 0 {
		return sqlErr(transform.Query(ctx, wh, strings.Join(pos, " "), format, a.stdout))
	}
	if !isTerminal(os.Stdin) {
		q, err := io.ReadAll(os.Stdin)
		if err != nil {
			return err
		}
		if strings.TrimSpace(string(q)) == "" {
			return usagef("no query: pass one as an argument or on stdin")
		}
		return sqlErr(transform.Query(ctx, wh, string(q), format, a.stdout))
	}
	return sqlShell(ctx, a, wh, format)
}

// sqlErr maps a query error to the command's outcome: a busy warehouse is
// exit 75, anything else 1.
func sqlErr(err error) error {
	if errors.Is(err, transform.ErrWarehouseBusy) {
		return &busyError{err: err}
	}
	return err
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
