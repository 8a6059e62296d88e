package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	fs2 "io/fs"
	"os"
	"strings"

	_ "github.com/duckdb/duckdb-go/v2" // the baseline's DuckDB
)

func init() {
	register(&command{
		name:    "bench-read-json",
		usage:   "[--columns STRUCT --file PATH [--memory-limit SIZE]] GLOB",
		summary: "internal (bench's baselines, in their own process): DuckDB's read_json_auto of the files into an in-memory table, or with --columns and --file read_json typing them into a table of a DuckDB file; prints the row count",
		hidden:  true,
		run:     runBenchReadJSON,
	})
}

// runBenchReadJSON is the bench's floor of any load: DuckDB reads the
// landed JSON lines files matching GLOB into a table of an in-memory
// database. The bench runs it as a child process so that DuckDB's memory
// (gigabytes at 10M records) is measured on its own and never sits in the
// bench's address space while the transform runs.
//
// With --columns and --file it is the durable baseline instead: DuckDB's
// read_json types the records with the stream's columns (as its table
// types them) into a table of a new DuckDB file, under the transform's
// memory limit, and checkpoints: what DuckDB itself takes to parse, type,
// compress and store the same values, without validating anything.
func runBenchReadJSON(ctx context.Context, a *app, args []string) error {
	fs := flag.NewFlagSet("bench-read-json", flag.ContinueOnError)
	columns := fs.String("columns", "", "read_json's columns (a DuckDB struct literal); with --file")
	file := fs.String("file", "", "a new DuckDB file for the table (removed first); with --columns")
	memLimit := fs.String("memory-limit", "", "DuckDB's memory_limit for --file (e.g. 128MiB)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("bench-read-json takes one GLOB")
	}
	if (*columns == "") != (*file == "") {
		return usagef("--columns and --file go together")
	}
	if *file != "" {
		for _, p := range []string{*file, *file + ".wal"} {
			if err := os.Remove(p); err != nil && !errors.Is(err, fs2.ErrNotExist) {
				return err
			}
		}
	}
	db, err := sql.Open("duckdb", *file)
	if err != nil {
		return err
	}
	defer db.Close()
	// one connection: the table must be there for the count
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	glob := "'" + strings.ReplaceAll(pos[0], "'", "''") + "'"
	q := "CREATE TABLE t AS SELECT * FROM read_json_auto(" + glob + ")"
	if *file != "" {
		if *memLimit != "" {
			if _, err := conn.ExecContext(ctx, "SET memory_limit = '"+strings.ReplaceAll(*memLimit, "'", "''")+"'"); err != nil {
				return fmt.Errorf("bench-read-json --memory-limit %s: %w", *memLimit, err)
			}
		}
		q = "CREATE TABLE t AS SELECT * FROM read_json(" + glob + ", format = 'newline_delimited', columns = " + *columns + ")"
	}
	if _, err := conn.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("read_json of %s: %w", pos[0], err)
	}
	if *file != "" {
		if _, err := conn.ExecContext(ctx, "CHECKPOINT"); err != nil {
			return fmt.Errorf("checkpoint %s: %w", *file, err)
		}
	}
	var n int64
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil {
		return fmt.Errorf("count the rows read from %s: %w", pos[0], err)
	}
	_, err = fmt.Fprintln(a.stdout, n)
	return err
}
