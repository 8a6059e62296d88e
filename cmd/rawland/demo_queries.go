package main

import (
	"context"
	"fmt"
	"strings"

	sqlfiles "github.com/rawland/rawland/sql"
	"github.com/rawland/rawland/transform"
)

// demoTransform loads every landed run into the warehouse.
func demoTransform(ctx context.Context, a *app) error {
	fmt.Fprintln(a.stdout, "\n== transform (validate against schemas/, merge into typed DuckDB tables, quarantine drift)")
	rep, err := a.runTransform(ctx, nil)
	transformLines(a, rep)
	return transformExit(err)
}

// demoQueries runs a table count and the shipped example queries.
func demoQueries(ctx context.Context, a *app) error {
	queries := []sqlfiles.File{{Title: "Rows per table", SQL: demoCountsSQL(a)}}
	queries = append(queries, sqlfiles.Examples()...)
	queries = append(queries, sqlfiles.File{Title: "Drifted users (the upstream renamed an enum value), straight from the quarantine",
		SQL: `SELECT run_id, line, errors[1].path AS field, errors[1].reason AS reason FROM rawland.quarantine WHERE stream = 'users' LIMIT 3`})
	for _, q := range queries {
		fmt.Fprintf(a.stdout, "\n-- %s\n", q.Title)
		if !strings.Contains(q.SQL, "UNION ALL") {
			fmt.Fprintln(a.stdout, strings.TrimSpace(stripTitle(q.SQL)))
		}
		if err := transform.Query(ctx, a.warehousePath(), q.SQL, "table", a.stdout); err != nil {
			fmt.Fprintf(a.stdout, "(query failed: %v)\n", err)
		}
	}
	return nil
}

func demoCountsSQL(a *app) string {
	var parts []string
	for _, s := range a.cfg.StreamNames() {
		parts = append(parts, fmt.Sprintf("SELECT '%s' AS stream, count(*) AS rows, count(_rawland_deleted_at) AS deleted FROM main.%q", s, s))
	}
	return strings.Join(parts, "\nUNION ALL ") + "\nORDER BY stream;"
}

func stripTitle(sql string) string {
	if strings.HasPrefix(sql, "--") {
		_, rest, _ := strings.Cut(sql, "\n")
		return rest
	}
	return sql
}
