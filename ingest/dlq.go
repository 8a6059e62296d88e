package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/rawland/rawland/config"
	"github.com/rawland/rawland/ingest/fetch"
	"github.com/rawland/rawland/landing"
	"github.com/rawland/rawland/state"
)

// ReplayDLQ retries a stream's dead letters under the stream's lease: each
// request is sent again; the records that now succeed are landed and
// committed as one new run, and only then removed from the DLQ. Entries
// that fail again stay as they are.
func ReplayDLQ(ctx context.Context, o Options, s *config.Stream) (Result, int, error) {
	if o.Logger == nil {
		o.Logger = defaultLogger()
	}
	if o.Now == nil {
		o.Now = defaultNow
	}
	o.Kind = state.KindIngest
	entries, err := o.Store.ListDLQ(ctx, s.Name)
	if err != nil || len(entries) == 0 {
		return Result{}, 0, err
	}
	d, ok := o.Doers[s.Source]
	if !ok {
		return Result{}, 0, fmt.Errorf("stream %s: no client for source %q", s.Name, s.Source)
	}
	sess, ctx, err := openSession(ctx, o, s)
	if err != nil {
		return Result{}, 0, err
	}
	defer sess.close(ctx)
	var good []state.DLQEntry
	var pages []batch
	var failed []state.DLQEntry
	for _, e := range entries {
		u := e.URL
		if s.DeltaQueue != nil && e.ID != "" {
			// rebuild from the current config: a fixed fetch path or a
			// moved base_url must reach the records
			if u, err = dqFetchURL(o.Config.Sources[s.Source].BaseURL, s.DeltaQueue.Fetch.Path, e.ID); err != nil {
				return Result{}, 0, err
			}
		}
		resp, err := d.Do(ctx, fetch.Request{Method: http.MethodGet, URL: u, Stream: s.Name, RunID: sess.run.ID})
		if err != nil {
			sess.log.Warn("dead letter failed again", "id", e.ID, "url", e.URL, "err", err)
			failed = append(failed, e)
			continue
		}
		good = append(good, e)
		pages = append(pages, batch{page: landing.Page{N: int64(len(pages) + 1), URL: resp.URL, Status: resp.Status, Records: 1,
			Bytes: len(resp.Body), TrackingID: resp.TrackingID, Attempts: resp.Attempts, ID: e.ID}, records: []json.RawMessage{resp.Body}})
	}
	if len(good) == 0 {
		o.Store.Finish(ctx, sess.run.ID, state.StatusAbandoned, "dlq replay: every request failed again", "")
		return Result{}, len(failed), nil
	}
	res, err := sess.land(ctx, sess.run, func(ctx context.Context, _ state.Run, sink func(batch) error) error {
		for _, b := range pages {
			if err := sink(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return res, len(failed), err
	}
	seqs := make([]int64, 0, len(good))
	for _, e := range good {
		seqs = append(seqs, e.Seq)
	}
	// committed: now the replayed letters may go
	if err := o.Store.DeleteDLQ(ctx, seqs); err != nil {
		return res, len(failed), err
	}
	return res, len(failed), nil
}
