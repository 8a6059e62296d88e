package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/rawland/rawland/landing"
	"github.com/rawland/rawland/state"
	"github.com/rawland/rawland/state/sqlitestore"
)

// benchRuns lands the records of the single run the bench ingested
// (runID) again, split into n runs in order, in a second data directory
// under dir, and transforms them there with `rawland transform` (config
// is the bench project's rawland.yaml) in a child process: the cost of n
// small runs, to set against that of one run holding the same records.
func benchRuns(ctx context.Context, a *app, dir, config, stream, runID string, n int, profile string) (childRun, error) {
	src, err := a.zone().RunDir(stream, runID)
	if err != nil {
		return childRun{}, err
	}
	m, err := landing.ReadManifest(src)
	if err != nil {
		return childRun{}, err
	}
	data := filepath.Join(dir, "runs-data")
	zone := landing.Zone{Dir: data}
	if err := os.MkdirAll(zone.StateDir(), 0o755); err != nil {
		return childRun{}, err
	}
	store, err := sqlitestore.Open(ctx, filepath.Join(zone.StateDir(), "rawland.db"))
	if err != nil {
		return childRun{}, err
	}
	defer store.Close()
	l := &runLander{store: store, zone: zone, stream: stream, clock: time.Now().UTC().Add(-time.Duration(n) * time.Second)}
	per := max(m.Records/int64(n), 1)
	var i int64
	_, err = landing.Records(ctx, src, func(r landing.Record) error {
		if l.w == nil || (i%per == 0 && l.runs < n) {
			if err := l.finish(ctx); err != nil {
				return err
			}
			if err := l.begin(ctx); err != nil {
				return err
			}
		}
		i++
		return l.w.Write(r.Data)
	})
	if err == nil {
		err = l.finish(ctx)
	}
	if err != nil {
		if l.w != nil {
			l.w.Abort()
		}
		return childRun{}, fmt.Errorf("bench --runs: land %d runs: %w", n, err)
	}
	r, err := benchTransform(ctx, a, dir, profile, config, data, stream, store, m.Records, false)
	if err != nil {
		return r, fmt.Errorf("bench --runs: %w", err)
	}
	return r, nil
}

// runLander lands committed ingest runs the way ingest does: lease, begin,
// staging writer, commit, publish, release.
type runLander struct {
	store  *sqlitestore.Store
	zone   landing.Zone
	stream string
	clock  time.Time
	w      *landing.Writer
	run    state.Run
	runs   int
}

func (l *runLander) begin(ctx context.Context) error {
	l.clock = l.clock.Add(time.Second)
	id := state.NewRunID(l.clock)
	if _, err := l.store.Acquire(ctx, state.Lease{Stream: l.stream, RunID: id}, time.Hour); err != nil {
		return err
	}
	l.run = state.Run{ID: id, Stream: l.stream, Kind: state.KindIngest, StartedAt: l.clock}
	if err := l.store.Begin(ctx, l.run); err != nil {
		return err
	}
	w, err := landing.NewWriter(l.zone, l.stream, id, landing.Manifest{Kind: string(state.KindIngest), StartedAt: l.clock}, landing.Options{})
	if err != nil {
		return err
	}
	l.w = w
	l.runs++
	return nil
}

func (l *runLander) finish(ctx context.Context) error {
	if l.w == nil {
		return nil
	}
	m, err := l.w.Finish("", true)
	l.w = nil
	if err != nil {
		return err
	}
	l.run.Records, l.run.Bytes, l.run.Complete, l.run.FinishedAt = m.Records, m.Bytes, m.Complete, l.clock
	if err := l.store.Commit(ctx, l.run, false); err != nil {
		return err
	}
	if err := l.zone.Publish(l.stream, l.run.ID); err != nil {
		return err
	}
	return l.store.Release(ctx, l.stream, l.run.ID)
}
