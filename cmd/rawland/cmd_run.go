package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
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

// runLine collects what each step did to one stream; run prints it as one
// summary line.
type runLine struct {
	status string
	parts  []string
	drift  string
}

func (l *runLine) add(status, text string) {
	l.status = worse(l.status, status)
	l.parts = append(l.parts, text)
}

// runRun is the cron entry point. It is safe to start every minute: a stream
// another process holds is skipped at once (exit 75 only if nothing else
// ran), another rawland process transforming is waited for at most
// transform.lock_wait (readers of the published warehouse never make it
// wait), a stream whose records have not reached the published warehouse
// for longer than transform.stale_after fails the run, and every step is
// idempotent, so overlapping, retried or crashed runs never process
// anything twice. It prints one summary line per stream.
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
	store, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	start := time.Now()
	lines := map[string]*runLine{}
	for _, s := range streams {
		lines[s.Name] = &runLine{status: stOK}
	}
	ingested := false
	var next []string // the next actions the user needs, printed last
	defer func() {
		if !ingested {
			return // nothing ran (a config or credential problem): the error says why
		}
		for _, s := range streams {
			l := lines[s.Name]
			fmt.Fprintf(a.stdout, "%-16s %-8s %s\n", s.Name, l.status, strings.Join(l.parts, " · "))
			if l.drift != "" {
				fmt.Fprintf(a.stdout, "%-16s %-8s %s\n", "", "drift", l.drift)
			}
		}
		printNext(a, next)
	}()

	// 1. ingest
	results, err := a.ingestStreams(ctx, streams, state.KindIngest, *parallel)
	if err != nil {
		return err
	}
	ingested = true
	for _, n := range ingestNext(results) {
		if !strings.Contains(n, "rawland transform") { // run transforms itself
			next = append(next, n)
		}
	}
	var ready []*config.Stream
	for i, r := range results {
		st, text := ingestSummary(r)
		lines[r.stream].add(st, "ingest "+text)
		if st != stBusy {
			ready = append(ready, streams[i]) // a failed stream may still have committed runs to load
		}
	}
	if len(ready) == 0 {
		return &busyError{err: fmt.Errorf("every stream is held by another run: %w", results[0].err)}
	}

	// 2. transform what is not held elsewhere
	var readyNames []string
	for _, s := range ready {
		readyNames = append(readyNames, s.Name)
	}
	rep, terr := a.runTransform(ctx, readyNames)
	applyTransform(lines, rep)
	next = append(next, transformNext(rep)...)
	switch {
	case terr != nil && errors.Is(terr, transform.ErrWarehouseBusy):
		for _, n := range readyNames {
			lines[n].add(stBusy, "transform waits: "+terr.Error())
		}
		if err := a.checkStale(ctx, store, streams, lines); err != nil {
			return err
		}
		return finish(a, lines, start, &busyError{err: terr})
	case terr != nil && errors.Is(terr, config.ErrInvalid):
		return terr
	case terr != nil && rep.Err() == nil:
		// failed before any stream (state store, warehouse)
		for _, n := range readyNames {
			lines[n].add(stFailed, "transform failed: "+terr.Error())
		}
	}

	// 3. reconcile where due
	if !*noReconcile {
		var due []*config.Stream
		for _, s := range ready {
			if lines[s.Name].status == stFailed {
				continue
			}
			ok, next, err := reconcile.Due(ctx, store, s.Name, a.cfg.Reconcile.Every.D(), time.Now())
			if err != nil {
				return err
			}
			if ok {
				due = append(due, s)
			} else {
				lines[s.Name].add(stOK, "reconcile due "+next.UTC().Format(time.RFC3339))
			}
		}
		if len(due) > 0 {
			results, rep, terr := a.reconcile(ctx, due, *parallel)
			for _, r := range results {
				st, text := ingestSummary(r)
				lines[r.stream].add(st, "reconcile read "+text)
			}
			applyTransform(lines, rep)
			if terr != nil && errors.Is(terr, transform.ErrWarehouseBusy) {
				for _, s := range due {
					lines[s.Name].add(stBusy, "reconcile waits: "+terr.Error())
				}
			} else if terr != nil && rep.Err() == nil {
				for _, s := range due {
					lines[s.Name].add(stFailed, "reconcile failed: "+terr.Error())
				}
			}
		}
	}
	if err := a.checkStale(ctx, store, streams, lines); err != nil {
		return err
	}
	return finish(a, lines, start, nil)
}

func applyTransform(lines map[string]*runLine, rep transform.Report) {
	for _, sr := range rep.Streams {
		st, text, drift := transformSummary(sr)
		lines[sr.Stream].add(st, text)
		if drift != "" {
			lines[sr.Stream].drift = drift
		}
	}
}

// finish picks the exit status from the streams' lines: any failure → 1,
// else the given busy error (75), else 0.
func finish(a *app, lines map[string]*runLine, start time.Time, busy error) error {
	failed := 0
	for _, l := range lines {
		if l.status == stFailed || l.status == stPartial {
			failed++
		}
	}
	a.log.Info("run finished", "streams", len(lines), "failed", failed, "seconds", time.Since(start).Seconds())
	if failed > 0 {
		return errStreamsFailed
	}
	return busy
}
