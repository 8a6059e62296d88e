package main

import (
	"context"
	"flag"
	"fmt"
	"text/tabwriter"

	"github.com/rawland/rawland/state"
)

func init() {
	register(&command{
		name:        "runs",
		usage:       "[--json] [--limit N (default 20; 0 = all)] [STREAM]",
		summary:     "run history, newest first",
		needsConfig: true,
		run:         runRuns,
	})
}

func runRuns(ctx context.Context, a *app, args []string) error {
	fs := flag.NewFlagSet("runs", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	limit := fs.Int("limit", 20, "at most N runs, newest first (0 = all)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return usagef("at most one STREAM")
	}
	f := state.RunFilter{Limit: *limit}
	if len(pos) == 1 {
		if _, err := a.cfg.Select(pos); err != nil {
			return err
		}
		f.Stream = pos[0]
	}
	store, err := a.readStore(ctx)
	if err != nil {
		return err
	}
	runs, err := store.List(ctx, f)
	if err != nil {
		return err
	}
	if *asJSON {
		out := make([]runJSON, 0, len(runs))
		for _, r := range runs {
			out = append(out, toRunJSON(r))
		}
		return writeJSON(a.stdout, out)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN ID\tSTREAM\tKIND\tSTATUS\tRECORDS\tCURSOR AFTER\tDURATION\tERROR")
	for _, r := range runs {
		dur := "-"
		if !r.FinishedAt.IsZero() {
			dur = r.FinishedAt.Sub(r.StartedAt).Round(1e6).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", r.ID, r.Stream, r.Kind, r.Status, r.Records, orDash(r.CursorAfter), dur, truncate(r.Error, 80))
	}
	return tw.Flush()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}
