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
// under dir, and transforms them there: the rate of n small runs, to set
// against the rate of one run holding the same records.
func benchRuns(ctx context.Context, a *app, dir, stream, runID string, n int, profileDir string) (float64, error) {
	src, err := a.zone().RunDir(stream, runID)
	if err != nil {
		return 0, err
	}
	m, err := landing.ReadManifest(src)
	if err != nil {
		return 0, err
	}
	data := filepath.Join(dir, "runs-data")
	zone := landing.Zone{Dir: data}
	if err := os.MkdirAll(zone.StateDir(), 0o755); err != nil {
		return 0, err
	}
	store, err := sqlitestore.Open(ctx, filepath.Join(zone.StateDir(), "rawland.db"))
	if err != nil {
		return 0, err
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
		return 0, fmt.Errorf("bench --runs: land %d runs: %w", n, err)
	}
	// transform them as `rawland transform` would, in that data directory
	prevData, prevStore := a.dataFlag, a.store
	a.dataFlag, a.store = data, store
	defer func() { a.dataFlag, a.store = prevData, prevStore }()
	stopProf, err := startProfile(profileDir, "transform-runs.pprof")
	if err != nil {
		return 0, err
	}
	t0 := time.Now()
	rep, err := a.runTransform(ctx, []string{stream})
	stopProf()
	if err != nil {
		return 0, err
	}
	var recs int64
	for _, s := range rep.Streams {
		for _, r := range s.Runs {
			recs += r.Records
		}
	}
	if recs != m.Records {
		return 0, fmt.Errorf("bench --runs: transformed %d records of %d runs, want %d", recs, l.runs, m.Records)
	}
	return float64(recs) / time.Since(t0).Seconds(), nil
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
