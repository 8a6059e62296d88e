package main

import (
	"context"
	"errors"
	"flag"

	"github.com/rawland/rawland/config"
	"github.com/rawland/rawland/state"
	"github.com/rawland/rawland/transform"
)

func init() {
	register(&command{
		name:        "reconcile",
		usage:       "[--parallel N] [STREAM…]",
		summary:     "full resync now: land a complete snapshot, repair what incremental runs missed, mark records gone upstream",
		needsConfig: true,
		run:         runReconcile,
	})
}

func runReconcile(ctx context.Context, a *app, args []string) error {
	fs := flag.NewFlagSet("reconcile", flag.ContinueOnError)
	parallel := fs.Int("parallel", 4, "streams read at once")
	names, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	streams, err := a.cfg.Select(names)
	if err != nil {
		return err
	}
	return a.reconcileStreams(ctx, streams, *parallel)
}

// reconcileStreams lands a full snapshot of each stream as a reconcile run
// and transforms it (merge, then deletions marked in the same warehouse
// transaction), printing what each step did. Streams busy elsewhere are
// skipped.
func (a *app) reconcileStreams(ctx context.Context, streams []*config.Stream, parallel int) error {
	results, rep, terr := a.reconcile(ctx, streams, parallel)
	ingestErr := summarize(a, results)
	transformLines(a, rep)
	if terr != nil {
		if ingestErr != nil {
			return errors.Join(ingestErr, terr)
		}
		return transformExit(terr)
	}
	return ingestErr
}

// reconcile reads the snapshots and transforms the ones that landed.
func (a *app) reconcile(ctx context.Context, streams []*config.Stream, parallel int) ([]streamResult, transform.Report, error) {
	results, err := a.ingestStreams(ctx, streams, state.KindReconcile, parallel)
	if err != nil {
		return nil, transform.Report{}, err
	}
	var landed []string
	for _, r := range results {
		if r.res.Run.Status == state.StatusCommitted {
			landed = append(landed, r.stream)
		}
	}
	if len(landed) == 0 {
		return results, transform.Report{}, nil
	}
	rep, err := a.runTransform(ctx, landed)
	return results, rep, err
}
