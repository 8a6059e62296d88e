package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/rawland/rawland/state"
)

func init() {
	register(&command{
		name:        "reset",
		usage:       "STREAM --yes",
		summary:     "clear a stream's cursor (and the response paths it has seen): the next ingest reads from cursor.start again",
		needsConfig: true,
		help: "Landed runs, the warehouse table and the quarantine are kept; the reset is logged and\n" +
			"recorded in the run history (kind reset). Like dlt's `pipeline drop` or Meltano's `state clear`.\n" +
			"It takes the stream's lease, so it waits for nothing and never races a running ingest (exit 75).",
		run: runReset,
	})
}

func runReset(ctx context.Context, a *app, args []string) error {
	fs := flag.NewFlagSet("reset", flag.ContinueOnError)
	yes := fs.Bool("yes", false, "really clear the cursor")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("reset takes one STREAM")
	}
	streams, err := a.cfg.Select(pos)
	if err != nil {
		return err
	}
	s := streams[0]
	if !*yes {
		return usagef("reset clears the cursor of %s: the next ingest reads it again from the start; add --yes to do it", s.Name)
	}
	store, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	host := state.HostName()
	now := time.Now()
	r := state.Run{ID: state.NewRunID(now), Stream: s.Name, Kind: state.KindReset, StartedAt: now.UTC(), Host: host, PID: os.Getpid()}
	if _, err := store.Acquire(ctx, state.Lease{Stream: s.Name, RunID: r.ID, Host: host, PID: r.PID}, a.cfg.LeaseTTL.D()); err != nil {
		return err
	}
	defer store.Release(context.WithoutCancel(ctx), s.Name, r.ID)
	before, err := store.Cursor(ctx, s.Name)
	if err != nil {
		return err
	}
	r.CursorBefore = before
	if err := store.Begin(ctx, r); err != nil {
		return err
	}
	if err := store.Reset(ctx, r); err != nil {
		if ferr := store.Finish(context.WithoutCancel(ctx), r.ID, state.StatusFailed, err.Error(), ""); ferr != nil {
			err = errors.Join(err, ferr)
		}
		return err
	}
	a.log.Info("stream reset", "stream", s.Name, "run_id", r.ID, "cursor_before", before)
	from := "the start"
	if s.Cursor != nil && s.Cursor.Start != "" {
		from = s.Cursor.Start
	}
	fmt.Fprintf(a.stdout, "%-16s reset    cursor %s → - (recorded as %s); the next ingest reads from %s\n", s.Name, orDash(before), r.ID, from)
	return nil
}
