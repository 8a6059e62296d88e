package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/rawland/rawland/transform"
)

func init() {
	register(&command{
		name:    "sql",
		usage:   "[--csv|--json] [QUERY]",
		summary: "run DuckDB SQL on the warehouse (read-only); interactive when no QUERY and stdin is a terminal",
		run:     runSQL,
	})
}

func runSQL(ctx context.Context, a *app, args []string) error {
	fs := flag.NewFlagSet("sql", flag.ContinueOnError)
	asCSV := fs.Bool("csv", false, "print CSV")
	asJSON := fs.Bool("json", false, "print a JSON array of objects")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	format := transform.FormatTable
	switch {
	case *asCSV && *asJSON:
		return usagef("--csv and --json exclude each other")
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

// sqlShell reads statements ending in ";" until EOF or .quit; a failing
// statement prints its error and the shell goes on.
func sqlShell(ctx context.Context, a *app, wh, format string) error {
	fmt.Fprintf(a.stderr, "rawland sql on %s (read-only). End statements with ;  —  .quit to leave\n", wh)
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 16<<20)
	var stmt strings.Builder
	prompt := func() {
		if stmt.Len() == 0 {
			fmt.Fprint(a.stderr, "rawland> ")
		} else {
			fmt.Fprint(a.stderr, "      -> ")
		}
	}
	for prompt(); in.Scan(); prompt() {
		line := in.Text()
		if stmt.Len() == 0 && (strings.TrimSpace(line) == ".quit" || strings.TrimSpace(line) == ".exit") {
			return nil
		}
		stmt.WriteString(line)
		stmt.WriteString("\n")
		if !strings.HasSuffix(strings.TrimSpace(line), ";") {
			continue
		}
		if err := transform.Query(ctx, wh, stmt.String(), format, a.stdout); err != nil {
			fmt.Fprintf(a.stderr, "error: %v\n", err)
		}
		stmt.Reset()
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	fmt.Fprintln(a.stderr)
	return in.Err()
}

// sqlErr maps a query error to the command's outcome: a busy warehouse is
// exit 75, anything else 1.
func sqlErr(err error) error {
	if errors.Is(err, transform.ErrWarehouseBusy) {
		return &busyError{err: err}
	}
	return err
}
