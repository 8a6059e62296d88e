package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sourcegraph/conc/pool"
	"github.com/tidwall/gjson"

	"github.com/rawland/rawland/config"
	"github.com/rawland/rawland/ingest/fetch"
	"github.com/rawland/rawland/internal/crashpoint"
	"github.com/rawland/rawland/landing"
	"github.com/rawland/rawland/state"
)

// A delta queue (CONTEXT.md §1) hands out the IDs of changed records; the
// client fetches each and must CLEAR them within a deadline, or they are
// queued again. One cycle here is: list a batch → fetch each ID with bounded
// concurrency → land and commit the records as one run → store permanent
// failures in the DLQ → clear exactly the committed and dead-lettered IDs.
// An ID is never cleared before its record is durably committed. The batch
// is sized from the measured fetch latency so that a cycle ends well inside
// the deadline; cycles repeat until the queue is empty or the budget ends.

// dqItem is one listed ID and what became of it.
type dqItem struct {
	id     json.RawMessage // as listed (string or number), echoed in clear
	key    string          // the ID as text
	record []byte
	page   landing.Page
	err    error
	status int
	url    string
	track  string
	tries  int
	done   bool // fetched, or failed for good
}

// deltaQueue runs cycles until the queue is empty or the budget ends.
func deltaQueue(ctx context.Context, sess *session, d Doer) (Result, error) {
	o, s := sess.o, sess.s
	dq := s.DeltaQueue
	src := o.Config.Sources[s.Source]
	tuner := &dqTuner{max: dq.Batch, concurrency: src.Concurrency, deadline: dq.Deadline.D()}
	budgetEnd := time.Time{}
	if o.Budget > 0 {
		budgetEnd = o.Now().Add(o.Budget)
	}
	var total Result
	var runs []state.Run
	for cycle := 1; ; cycle++ {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		if !budgetEnd.IsZero() && o.Now().After(budgetEnd) {
			sess.log.Info("time budget used up; the queue keeps the rest for the next run", "cycles", cycle-1)
			break
		}
		run := sess.run
		if cycle > 1 {
			var err error
			if run, err = sess.next(ctx); err != nil {
				return total, err
			}
		}
		res, n, err := dqCycle(ctx, sess, d, tuner, run)
		total.DeadLettered += res.DeadLettered
		if res.Run.Status != "" {
			runs = append(runs, res.Run)
			total.Run = res.Run
			total.Manifest = res.Manifest
		}
		if err != nil {
			total.Runs = runs
			return total, err
		}
		if n == 0 {
			break // the queue is empty (no run was begun for this cycle)
		}
	}
	total.Runs = runs
	if len(runs) > 0 {
		agg := runs[0]
		for _, r := range runs[1:] {
			agg.Records += r.Records
			agg.Bytes += r.Bytes
			agg.Pages += r.Pages
			agg.FinishedAt = r.FinishedAt
		}
		agg.ID = runs[len(runs)-1].ID
		total.Run = agg
	}
	return total, nil
}

// dqCycle runs one list → fetch → commit → clear cycle as run. It returns
// how many IDs were listed (0 = the queue is empty).
func dqCycle(ctx context.Context, sess *session, d Doer, tuner *dqTuner, run state.Run) (Result, int, error) {
	o, s := sess.o, sess.s
	dq := s.DeltaQueue
	src := o.Config.Sources[s.Source]
	log := sess.log.With(KeyRunID, run.ID)
	size, err := quotaFit(ctx, o, d, tuner.batch(), src, dq)
	if err != nil {
		return Result{}, 0, err
	}
	start := o.Now()
	items, err := dqList(ctx, d, src.BaseURL, dq, size, s.Name, run.ID)
	if err != nil {
		return Result{}, 0, fmt.Errorf("stream %s: list the delta queue: %w", s.Name, err)
	}
	if len(items) == 0 {
		return Result{}, 0, nil
	}
	// fetch with bounded concurrency; stop starting fetches when the cycle
	// has used its share of the deadline (the rest stays queued)
	fetchCtx, cancel := context.WithDeadline(ctx, start.Add(time.Duration(float64(dq.Deadline.D())*0.8)))
	defer cancel()
	stopStarting := start.Add(time.Duration(float64(dq.Deadline.D()) * dqFetchShare))
	var mu sync.Mutex
	var lockout, fatal error
	p := pool.New().WithMaxGoroutines(max(1, src.Concurrency))
	for i := range items {
		it := &items[i]
		if o.Now().After(stopStarting) {
			break
		}
		p.Go(func() {
			t0 := time.Now()
			u, err := dqFetchURL(src.BaseURL, dq.Fetch.Path, it.key)
			if err != nil {
				it.err, it.done = err, true
				return
			}
			resp, err := d.Do(fetchCtx, fetch.Request{Method: http.MethodGet, URL: u, Stream: s.Name, RunID: run.ID})
			tuner.observe(time.Since(t0))
			it.url = u
			if err != nil {
				var he *fetch.HTTPError
				var le *fetch.LockoutError
				switch {
				case errors.As(err, &le):
					mu.Lock()
					lockout = err
					mu.Unlock()
				case errors.Is(err, fetch.ErrForeignOrigin) || (errors.As(err, &he) && !deadLetterStatus(he)):
					// a redirect off the source's origins, or 400, 401,
					// 403…: a request, credential or upstream problem, not
					// this record's: stop, and leave the ID queued
					mu.Lock()
					if fatal == nil {
						fatal = err
					}
					mu.Unlock()
				case errors.As(err, &he):
					it.err, it.status, it.track, it.tries, it.url, it.done = err, he.Status, he.TrackingID, he.Attempts, he.URL, true
				case fetchCtx.Err() != nil, errors.Is(err, fetch.ErrQuotaExhausted):
					// out of time, or the quota resets after this cycle's
					// deadline (nothing was sent): leave it queued
				default:
					it.err, it.done = err, true
				}
				return
			}
			if !gjson.ValidBytes(resp.Body) {
				it.err, it.status, it.track, it.tries, it.done = fmt.Errorf("%s: the record is not valid JSON: %.60q", resp.URL, resp.Body), resp.Status, resp.TrackingID, resp.Attempts, true
				return
			}
			it.record, it.done = resp.Body, true
			it.url = resp.URL
			it.page = landing.Page{URL: resp.URL, Status: resp.Status, Records: 1, Bytes: len(resp.Body), TrackingID: resp.TrackingID,
				Attempts: resp.Attempts, LatencyMS: resp.Latency.Milliseconds(), ID: it.key}
		})
	}
	p.Wait()
	fetching := o.Now().Sub(start)
	var landed, dead []*dqItem
	for i := range items {
		it := &items[i]
		switch {
		case it.done && it.err == nil:
			landed = append(landed, it)
		case it.done:
			dead = append(dead, it)
		}
	}
	// every fetch failing for good is a broken fetch path or upstream far
	// more often than a batch of deleted records: dead-letter nothing,
	// clear nothing, stop
	if len(landed) == 0 && len(dead) >= dqAllDeadThreshold && fatal == nil && lockout == nil {
		fatal = fmt.Errorf("every one of the %d fetches in this cycle failed for good (first: %v); nothing was dead-lettered or cleared: check streams.%s.delta_queue.fetch.path and the upstream", len(dead), dead[0].err, s.Name)
		dead = nil
	}
	// land and commit the fetched records as this cycle's run
	var res Result
	if len(landed) > 0 {
		res, err = sess.land(ctx, run, func(ctx context.Context, _ state.Run, sink func(batch) error) error {
			for n, it := range landed {
				it.page.N = int64(n + 1)
				if err := sink(batch{page: it.page, records: []json.RawMessage{it.record}}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return res, len(items), err // nothing cleared: every ID will be re-delivered
		}
	}
	if len(dead) > 0 {
		entries := make([]state.DLQEntry, 0, len(dead))
		for _, it := range dead {
			entries = append(entries, state.DLQEntry{Stream: s.Name, RunID: run.ID, ID: it.key, URL: it.url, Error: it.err.Error(),
				Status: it.status, Attempts: max(it.tries, 1), TrackingID: it.track})
		}
		if err := o.Store.PutDLQ(ctx, entries); err != nil {
			return res, len(items), err
		}
		log.Warn("moved failed IDs to the dead-letter queue", "count", len(dead), "first_error", dead[0].err.Error())
	}
	crashpoint.Hit("before_clear")
	clear := make([]json.RawMessage, 0, len(landed)+len(dead))
	for _, it := range slices.Concat(landed, dead) {
		clear = append(clear, it.id)
	}
	if len(clear) > 0 {
		if err := dqClear(ctx, d, src.BaseURL, dq, clear, s.Name, run.ID); err != nil {
			// committed already: the IDs come back and land again harmlessly
			log.Warn("clear failed; the upstream will re-deliver these IDs", "ids", len(clear), "err", err)
		}
	}
	elapsed := o.Now().Sub(start)
	tuner.endCycle(fetching, elapsed)
	log.Info("delta cycle", "listed", len(items), "landed", len(landed), "dead_lettered", len(dead),
		"left_queued", len(items)-len(landed)-len(dead), "batch", size, "seconds", elapsed.Seconds(),
		"deadline_seconds", dq.Deadline.D().Seconds(), "latency_ms", tuner.latency.Milliseconds())
	if res.Run.Status == "" && len(dead) > 0 {
		// no records, only dead letters: record the run as committed-empty
		res, err = sess.land(ctx, run, func(context.Context, state.Run, func(batch) error) error { return nil })
		if err != nil {
			return res, len(items), err
		}
	}
	res.DeadLettered = len(dead)
	if lockout != nil {
		return res, len(items), fmt.Errorf("stream %s: %w", s.Name, lockout)
	}
	if fatal != nil {
		return res, len(items), fmt.Errorf("stream %s: fetch from the delta queue: %w", s.Name, fatal)
	}
	return res, len(items), nil
}

// dqAllDeadThreshold: a cycle with at least this many permanent failures
// and no success stops instead of dead-lettering (see dqCycle).
const dqAllDeadThreshold = 5

// deadLetterStatus says whether a failed fetch belongs in the DLQ: the
// record is gone (404, 410), or a transient failure (5xx, 408, 429) outlived
// every retry. Other 4xx mean the request or credential is wrong: those fail
// the stream and leave the ID queued.
func deadLetterStatus(he *fetch.HTTPError) bool {
	return he.Status == http.StatusNotFound || he.Status == http.StatusGone || he.Retryable
}

func dqList(ctx context.Context, d Doer, base string, dq *config.DeltaQueue, limit int, stream, runID string) ([]dqItem, error) {
	u, err := endpoint(base, dq.List.Path)
	if err != nil {
		return nil, err
	}
	if dq.List.LimitParam != "" {
		q := u.Query()
		q.Set(dq.List.LimitParam, strconv.Itoa(limit))
		u.RawQuery = q.Encode()
	}
	resp, err := d.Do(ctx, fetch.Request{Method: http.MethodGet, URL: u.String(), Stream: stream, RunID: runID})
	if err != nil {
		return nil, err
	}
	raw, err := extractRecords(newDoc(resp.Body), dq.List.IDs)
	if err != nil {
		return nil, fmt.Errorf("%s (tracking id %q): %w", resp.URL, resp.TrackingID, err)
	}
	items := make([]dqItem, 0, len(raw))
	seen := map[string]bool{}
	for _, id := range raw {
		key, err := idText(id)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", resp.URL, err)
		}
		if seen[key] {
			continue
		}
		seen[key] = true
		items = append(items, dqItem{id: id, key: key})
	}
	return items, nil
}

func idText(id json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(id, &s); err == nil {
		return s, nil
	}
	var n json.Number
	if err := json.Unmarshal(id, &n); err == nil {
		return n.String(), nil
	}
	return "", fmt.Errorf("queue ID %.40s is neither a string nor a number", id)
}

func dqFetchURL(base, path, id string) (string, error) {
	u, err := endpoint(base, strings.ReplaceAll(path, "{id}", url.PathEscape(id)))
	if err != nil {
		return "", err
	}
	return u.String(), nil
}

func dqClear(ctx context.Context, d Doer, base string, dq *config.DeltaQueue, ids []json.RawMessage, stream, runID string) error {
	u, err := endpoint(base, dq.Clear.Path)
	if err != nil {
		return err
	}
	var body bytes.Buffer
	body.WriteString(`{"` + dq.Clear.IDs + `":[`)
	for i, id := range ids {
		if i > 0 {
			body.WriteByte(',')
		}
		body.Write(id)
	}
	body.WriteString("]}")
	_, err = d.Do(ctx, fetch.Request{Method: dq.Clear.Method, URL: u.String(), Body: body.Bytes(), Stream: stream, RunID: runID})
	return err
}
