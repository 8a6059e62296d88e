package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/rawland/rawland/config"
	"github.com/rawland/rawland/reconcile"
	"github.com/rawland/rawland/state"
	"github.com/rawland/rawland/transform"
)

func init() {
	register(&command{
		name:        "run",
		usage:       "[--parallel N] [--no-reconcile] [STREAM…]",
		summary:     "the scheduled job: ingest, then transform, then reconcile where one is due (reconcile.every)",
		needsConfig: true,
		run:         runRun,
	})
}

// runRun is the cron entry point. It is safe to start every minute: a stream
// another process holds is skipped at once (exit 75 only if nothing else
// ran), the warehouse is waited for at most transform.lock_wait, and every
// step is idempotent, so overlapping, retried or crashed runs never process
// anything twice.
func runRun(ctx context.Context, a *app, args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	parallel := fs.Int("parallel", 4, "streams ingested at once")
	noReconcile := fs.Bool("no-reconcile", false, "skip the scheduled reconcile")
	names, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	streams, err := a.cfg.Select(names)
	if err != nil {
		return err
	}
	// compile schemas first: a bad schema is exit 2 before anything runs
	if _, err := transform.CompileSchemas(a.cfg); err != nil {
		return err
	}
	start := time.Now()

	// 1. ingest
	results, err := a.ingestStreams(ctx, streams, state.KindIngest, *parallel)
	if err != nil {
		return err
	}
	failed := 0
	var busy []error
	var ready []*config.Stream
	for i, r := range results {
		var held *state.LeaseHeldError
		switch {
		case errors.As(r.err, &held):
			busy = append(busy, r.err)
		case r.err != nil:
			failed++
			ready = append(ready, streams[i]) // transform what it did commit
		default:
			ready = append(ready, streams[i])
		}
	}
	summarize(a, results)
	if len(ready) == 0 {
		if failed == 0 && len(busy) > 0 {
			return &busyError{err: fmt.Errorf("every stream is held by another run: %w", busy[0])}
		}
		return errStreamsFailed
	}

	// 2. transform what is not held elsewhere
	names = names[:0]
	for _, s := range ready {
		names = append(names, s.Name)
	}
	rep, terr := a.runTransform(ctx, names)
	transformLines(a, rep)
	if terr != nil && errors.Is(terr, transform.ErrWarehouseBusy) {
		fmt.Fprintf(a.stdout, "%-16s busy     transform: %v\n", "warehouse", terr)
		return &busyError{err: terr}
	}
	if terr != nil && errors.Is(terr, config.ErrInvalid) {
		return terr
	}
	for _, sr := range rep.Streams {
		if sr.Err != nil {
			failed++
		}
	}

	// 3. reconcile where due
	if !*noReconcile {
		store, err := a.openStore(ctx)
		if err != nil {
			return err
		}
		var due []*config.Stream
		for _, s := range ready {
			ok, next, err := reconcile.Due(ctx, store, s.Name, a.cfg.Reconcile.Every.D(), time.Now())
			if err != nil {
				return err
			}
			if ok {
				due = append(due, s)
			} else {
				a.log.Debug("reconcile not due", "stream", s.Name, "next", next)
			}
		}
		if len(due) > 0 {
			if err := a.reconcileStreams(ctx, due, *parallel); err != nil {
				var be *busyError
				if !errors.As(err, &be) {
					failed++
				}
			}
		}
	}
	a.log.Info("run finished", "streams", len(streams), "failed", failed, "busy", len(busy), "seconds", time.Since(start).Seconds())
	if failed > 0 {
		return errStreamsFailed
	}
	return nil
}
