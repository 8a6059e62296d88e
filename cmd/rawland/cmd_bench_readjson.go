package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"strings"

	_ "github.com/duckdb/duckdb-go/v2" // the baseline's DuckDB
)

func init() {
	register(&command{
		name:    "bench-read-json",
		usage:   "GLOB",
		summary: "internal (bench's baseline, in its own process): DuckDB's read_json_auto of the files into an in-memory table; prints the row count",
		hidden:  true,
		run:     runBenchReadJSON,
	})
}

// runBenchReadJSON is the bench's floor of any load: DuckDB reads the
// landed JSON lines files matching GLOB into a table of an in-memory
// database. The bench runs it as a child process so that DuckDB's memory
// (gigabytes at 10M records) is measured on its own and never sits in the
// bench's address space while the transform runs.
func runBenchReadJSON(ctx context.Context, a *app, args []string) error {
	fs := flag.NewFlagSet("bench-read-json", flag.ContinueOnError)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("bench-read-json takes one GLOB")
	}
	db, err := sql.Open("duckdb", "")
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
	q := fmt.Sprintf("CREATE TABLE t AS SELECT * FROM read_json_auto('%s')", strings.ReplaceAll(pos[0], "'", "''"))
	if _, err := conn.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("read_json_auto of %s: %w", pos[0], err)
	}
	var n int64
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil {
		return fmt.Errorf("count the rows read from %s: %w", pos[0], err)
	}
	_, err = fmt.Fprintln(a.stdout, n)
	return err
}
