package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/rawland/rawland/config"
	"github.com/rawland/rawland/transform"
)

func init() {
	register(&command{
		name:        "quarantine",
		usage:       "list [--json] [--all] [STREAM] | replay [STREAM…]",
		summary:     "inspect quarantined records / re-validate them against the current schema and load those that now pass",
		needsConfig: true,
		run:         runQuarantine,
	})
}

func runQuarantine(ctx context.Context, a *app, args []string) error {
	if len(args) == 0 {
		return usagef("quarantine needs list or replay")
	}
	switch args[0] {
	case "list":
		return quarantineList(ctx, a, args[1:])
	case "replay":
		return quarantineReplay(ctx, a, args[1:])
	}
	return usagef("unknown quarantine action %q: use list or replay", args[0])
}

func quarantineList(ctx context.Context, a *app, args []string) error {
	fs := flag.NewFlagSet("quarantine list", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON (with each raw record, exactly as landed, as a string)")
	all := fs.Bool("all", false, "include records already replayed")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return usagef("at most one STREAM")
	}
	var where []string
	if !*all {
		where = append(where, "replayed_at IS NULL")
	}
	if len(pos) == 1 {
		if _, err := a.cfg.Select(pos); err != nil {
			return err
		}
		where = append(where, "stream = '"+strings.ReplaceAll(pos[0], "'", "''")+"'")
	}
	cols := `stream, run_id, file, line,
		array_to_string(list_transform(errors, e -> CASE WHEN e.path = '' THEN e.reason ELSE e.path || ': ' || e.reason END), '; ') AS error,
		quarantined_at, replayed_at`
	format := transform.FormatTable
	if *asJSON {
		// the raw record as a JSON string: exactly the landed bytes (a JSON
		// value would be re-encoded: key order, escapes, big numbers)
		cols += ", errors, record"
		format = transform.FormatJSON
	}
	q := "SELECT " + cols + " FROM rawland.quarantine"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY stream, run_id, file, line"
	err = transform.Query(ctx, a.warehousePath(), q, format, a.stdout)
	if errors.Is(err, transform.ErrNoWarehouse) {
		if *asJSON {
			fmt.Fprintln(a.stdout, "[]")
		} else {
			fmt.Fprintln(a.stdout, "nothing quarantined (no warehouse yet)")
		}
		return nil
	}
	return sqlErr(err)
}

func quarantineReplay(ctx context.Context, a *app, args []string) error {
	fs := flag.NewFlagSet("quarantine replay", flag.ContinueOnError)
	names, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if _, err := a.cfg.Select(names); err != nil {
		return err
	}
	schemas, err := transform.CompileSchemas(a.cfg)
	if err != nil {
		return err
	}
	rep, err := transform.ReplayQuarantine(ctx, transform.Options{
		Config: a.cfg, Schemas: schemas, Zone: a.zone(), Warehouse: a.warehousePath(), Logger: a.log,
	}, names)
	for _, sr := range rep.Streams {
		if sr.Err != nil {
			fmt.Fprintf(a.stdout, "%-16s FAILED   replay: %v\n", sr.Stream, sr.Err)
			continue
		}
		t := sr.Totals()
		if t.Records == 0 {
			fmt.Fprintf(a.stdout, "%-16s ok       nothing quarantined\n", sr.Stream)
			continue
		}
		fmt.Fprintf(a.stdout, "%-16s ok       replayed %d records of %d runs: %d now load (%d inserted, %d updated, %d unchanged, %d stale, %d duplicates), %d still fail\n",
			sr.Stream, t.Records, len(sr.Runs), t.Records-t.Quarantined, t.Inserted, t.Updated, t.Unchanged, t.Stale, t.Duplicates, t.Quarantined)
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, transform.ErrWarehouseBusy), errors.Is(err, config.ErrInvalid):
		return transformExit(err)
	case rep.Err() == nil:
		return err // failed before any stream: no line above says why
	}
	return errStreamsFailed
}
