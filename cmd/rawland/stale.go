package main

import (
	"context"
	"fmt"
	"time"

	"github.com/rawland/rawland/config"
	"github.com/rawland/rawland/state"
	"github.com/rawland/rawland/transform"
)

// runLister is what the staleness check needs of the state store.
type runLister interface {
	List(ctx context.Context, f state.RunFilter) ([]state.Run, error)
}

// staleRun is the oldest landed run of a stream whose records have not
// reached the published warehouse, and why.
type staleRun struct {
	run state.Run
	why string
}

// oldestUnpublished returns the stream's oldest committed run that is not
// in the published snapshot: not transformed yet, or transformed after
// the last publish while a newer working state still waits to be published.
func oldestUnpublished(ctx context.Context, store runLister, stream string, pub transform.PublishState) (*staleRun, error) {
	runs, err := store.List(ctx, state.RunFilter{Stream: stream, Status: []state.Status{state.StatusCommitted, state.StatusTransformed}, Oldest: true})
	if err != nil {
		return nil, err
	}
	for _, r := range runs {
		switch {
		case r.Status == state.StatusCommitted:
			return &staleRun{run: r, why: "not transformed"}, nil
		case pub.Pending && (pub.PublishedAt == nil || landedTime(r).After(*pub.PublishedAt)):
			return &staleRun{run: r, why: "transformed but not published"}, nil
		}
	}
	return nil, nil
}

func landedTime(r state.Run) time.Time {
	if !r.FinishedAt.IsZero() {
		return r.FinishedAt
	}
	return r.StartedAt
}

// checkStale marks FAILED every stream whose landed records have waited
// longer than transform.stale_after for the published warehouse, so that
// `run` exits 1 (and cron alerts) instead of going quiet with 75 or 0.
func (a *app) checkStale(ctx context.Context, store runLister, streams []*config.Stream, lines map[string]*runLine) error {
	limit := a.cfg.Transform.StaleAfter.D()
	if limit <= 0 {
		limit = config.DefaultStaleAfter
	}
	pub := transform.Published(a.warehousePath())
	now := time.Now()
	for _, s := range streams {
		old, err := oldestUnpublished(ctx, store, s.Name, pub)
		if err != nil {
			return err
		}
		if old == nil || now.Sub(landedTime(old.run)) <= limit {
			continue
		}
		msg := fmt.Sprintf("stale: run %s landed %s ago and is %s (transform.stale_after is %s); the lines above say why, "+
			"`rawland status` shows what waits",
			old.run.ID, now.Sub(landedTime(old.run)).Round(time.Minute), old.why, limit)
		a.log.Error("stream is stale", "stream", s.Name, "run_id", old.run.ID, "why", old.why, "stale_after", limit.String())
		lines[s.Name].add(stFailed, msg)
	}
	return nil
}
