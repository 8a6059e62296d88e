package main

import (
	"context"
	"flag"
	"fmt"
	"text/tabwriter"

	"github.com/rawland/rawland/ingest"
	"github.com/rawland/rawland/state"
)

func init() {
	register(&command{
		name:        "dlq",
		usage:       "list [--json] [STREAM] | replay [STREAM…]",
		summary:     "inspect / retry requests that failed for good (e.g. a delta-queue ID whose fetch kept failing)",
		needsConfig: true,
		run:         runDLQ,
	})
}

func runDLQ(ctx context.Context, a *app, args []string) error {
	if len(args) == 0 {
		return usagef("dlq needs list or replay")
	}
	switch args[0] {
	case "list":
		fs := flag.NewFlagSet("dlq list", flag.ContinueOnError)
		asJSON := fs.Bool("json", false, "print JSON")
		pos, err := parseFlags(fs, args[1:])
		if err != nil {
			return err
		}
		store, err := a.readStore(ctx)
		if err != nil {
			return err
		}
		stream := ""
		if len(pos) > 1 {
			return usagef("dlq list takes at most one STREAM")
		} else if len(pos) == 1 {
			if _, err := a.cfg.Select(pos); err != nil {
				return err
			}
			stream = pos[0]
		}
		entries, err := store.ListDLQ(ctx, stream)
		if err != nil {
			return err
		}
		if *asJSON {
			if entries == nil {
				entries = []state.DLQEntry{}
			}
			return writeJSON(a.stdout, entries)
		}
		tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "SEQ\tSTREAM\tID\tSTATUS\tATTEMPTS\tRUN ID\tTRACKING ID\tURL\tERROR")
		for _, e := range entries {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%d\t%s\t%s\t%s\t%s\n", e.Seq, e.Stream, e.ID, e.Status, e.Attempts, e.RunID, orDash(e.TrackingID), e.URL, truncate(e.Error, 80))
		}
		return tw.Flush()
	case "replay":
		names, err := parseFlags(flag.NewFlagSet("dlq replay", flag.ContinueOnError), args[1:])
		if err != nil {
			return err
		}
		streams, err := a.cfg.Select(names)
		if err != nil {
			return err
		}
		store, err := a.openStore(ctx)
		if err != nil {
			return err
		}
		doers, err := a.doers()
		if err != nil {
			return err
		}
		opts := ingest.Options{Config: a.cfg, Store: store, Zone: a.zone(), Doers: doers, Logger: a.log}
		var failed bool
		for _, s := range streams {
			res, left, err := ingest.ReplayDLQ(ctx, opts, s)
			switch {
			case err != nil:
				failed = true
				fmt.Fprintf(a.stdout, "%-16s FAILED   %v\n", s.Name, err)
			case res.Run.ID == "" && left == 0:
				// nothing dead-lettered for this stream
			default:
				fmt.Fprintf(a.stdout, "%-16s replayed %d records as run %s; %d still failing\n", s.Name, res.Run.Records, orDash(res.Run.ID), left)
				if left > 0 {
					failed = true
				}
			}
		}
		if failed {
			return errStreamsFailed
		}
		return nil
	}
	return usagef("unknown dlq subcommand %q: use list or replay", args[0])
}
