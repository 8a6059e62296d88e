package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/rawland/rawland/config"
	"github.com/rawland/rawland/internal/crashpoint"
	"github.com/rawland/rawland/landing"
	"github.com/rawland/rawland/state"
)

// Store is what ingest needs of the state store.
type Store interface {
	state.Leases
	state.Runs
	state.DLQ
	state.Paths
}

// Options configure ingest runs.
type Options struct {
	Config *config.Config
	Store  Store
	Zone   landing.Zone
	// Doers are the sources' HTTP clients by source name.
	Doers  map[string]Doer
	Logger *slog.Logger
	// Kind is KindIngest (incremental, moves the cursor) or KindReconcile
	// (full listing, never moves the cursor).
	Kind state.Kind
	// Progress, if set, is called after every landed page with the run's
	// pages and records so far and the total the upstream announced (0 =
	// unknown).
	Progress func(stream string, pages, records, total int64)
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Budget bounds how long a delta-queue stream keeps running cycles
	// (0 = until the queue is empty).
	Budget time.Duration
}

// Result is the outcome of one stream's run.
type Result struct {
	Run      state.Run
	Manifest landing.Manifest
	// Skipped says why the stream was not run (e.g. reconcile of a delta
	// queue without a full listing); empty when it ran.
	Skipped string
	// Runs are every run committed, when there were several (delta-queue
	// cycles); Run then sums them and carries the last ID.
	Runs []state.Run
	// DeadLettered counts the requests this run moved to the DLQ.
	DeadLettered int
	// Warnings are problems that did not stop the run but need the user
	// (e.g. a cursor field absent from every record).
	Warnings []string
}

// Log attribute keys.
const (
	KeyRunID      = "run_id"
	KeyStream     = "stream"
	KeyKind       = "kind"
	KeyRecords    = "records"
	KeyPages      = "pages"
	KeyCursor     = "cursor"
	KeyTrackingID = "tracking_id"
)

// Stream runs one stream once: it takes the stream's lease, cleans what dead
// runs left, reads the upstream from the committed cursor, lands every page
// in the run's staging directory, makes it durable, commits the run and the
// new cursor in one state-store transaction and publishes the files into
// raw/. On a read error after some pages landed, those pages are committed
// without moving the cursor (the next run re-reads them; transform dedupes)
// and the error is returned with the result. A delta-queue stream runs
// list → fetch → commit → clear cycles, one committed run per cycle.
func Stream(ctx context.Context, o Options, s *config.Stream) (Result, error) {
	if o.Now == nil {
		o.Now = defaultNow
	}
	if o.Kind == "" {
		o.Kind = state.KindIngest
	}
	if o.Logger == nil {
		o.Logger = defaultLogger()
	}
	if o.Kind == state.KindReconcile && s.Kind == "delta_queue" && s.Reconcile == nil {
		return Result{Skipped: "delta-queue stream without a full-listing endpoint (set streams." + s.Name + ".reconcile.path to reconcile it)"}, nil
	}
	doer, ok := o.Doers[s.Source]
	if !ok {
		return Result{}, fmt.Errorf("stream %s: no client for source %q", s.Name, s.Source)
	}
	sess, ctx, err := openSession(ctx, o, s)
	if err != nil {
		return Result{}, err
	}
	defer sess.close(ctx)
	if s.Kind == "delta_queue" && o.Kind == state.KindIngest {
		return deltaQueue(ctx, sess, doer)
	}
	if s.Kind == config.KindExport {
		return exportStream(ctx, sess, doer)
	}
	if s.Cursor != nil && o.Kind == state.KindIngest {
		return cursorRuns(ctx, sess, doer)
	}
	return sess.land(ctx, sess.run, sess.reader(doer))
}

// reader is the fill function of a REST run: it reads the upstream over
// the run's span.
func (sess *session) reader(d Doer) func(context.Context, state.Run, func(batch) error) error {
	return func(ctx context.Context, run state.Run, sink func(batch) error) error {
		return read(ctx, sess.o, sess.s, d, run, sess.cur, sink)
	}
}

// session is one process's hold on a stream: the lease (renewed in the
// background) and the run that currently owns it.
type session struct {
	o      Options
	s      *config.Stream
	run    state.Run // the run the lease names now
	host   string
	log    *slog.Logger
	holder *leaseKeeper
	// span is the cursor span the next landed run reads (set by
	// cursorRuns; nil for runs without a cursor and DLQ replays).
	span *span
	// cur is the span of the run being landed (set by land).
	cur span
}

func openSession(ctx context.Context, o Options, s *config.Stream) (*session, context.Context, error) {
	host := state.HostName()
	sess := &session{o: o, s: s, host: host}
	sess.run = sess.newRun()
	sess.log = o.Logger.With(KeyStream, s.Name, KeyKind, string(o.Kind))
	ttl := o.Config.LeaseTTL.D()
	if _, err := o.Store.Acquire(ctx, state.Lease{Stream: s.Name, RunID: sess.run.ID, Host: host, PID: sess.run.PID}, ttl); err != nil {
		return nil, ctx, err
	}
	crashpoint.Hit("after_lease")
	ctx, sess.holder = keepLease(ctx, o.Store, s.Name, sess.run.ID, ttl, sess.log)
	rec, err := o.Zone.Recover(ctx, o.Store, s.Name, sess.run.ID)
	if err != nil {
		sess.close(ctx)
		return nil, ctx, fmt.Errorf("stream %s: clean up after earlier runs: %w", s.Name, err)
	}
	if len(rec.Abandoned)+len(rec.Removed)+len(rec.Published) > 0 {
		sess.log.Info("recovered earlier runs", "abandoned", rec.Abandoned, "removed", rec.Removed, "published", rec.Published)
	}
	return sess, ctx, nil
}

func (sess *session) newRun() state.Run {
	start := sess.o.Now()
	return state.Run{ID: state.NewRunID(start), Stream: sess.s.Name, Kind: sess.o.Kind, StartedAt: start.UTC(), Host: sess.host, PID: os.Getpid()}
}

// next hands the lease to a new run (delta-queue cycles).
func (sess *session) next(ctx context.Context) (state.Run, error) {
	r := sess.newRun()
	err := sess.holder.transfer(r.ID, func(from string) error {
		return sess.o.Store.Transfer(ctx, sess.s.Name, from, r.ID)
	})
	if err != nil {
		return r, err
	}
	sess.run = r
	return r, nil
}

func (sess *session) close(ctx context.Context) {
	sess.holder.stop()
	if err := sess.o.Store.Release(context.WithoutCancel(ctx), sess.s.Name, sess.run.ID); err != nil {
		sess.log.Warn("release lease", "err", err)
	}
}

// land begins run, lets fill write its records, and commits. See Stream.
func (sess *session) land(ctx context.Context, run state.Run, fill func(context.Context, state.Run, func(batch) error) error) (Result, error) {
	o, s := sess.o, sess.s
	log := sess.log.With(KeyRunID, run.ID)
	var err error
	if run.CursorBefore, err = o.Store.Cursor(ctx, s.Name); err != nil {
		return Result{}, err
	}
	sess.cur = span{}
	if sess.span != nil {
		sess.cur = *sess.span
	}
	if err := o.Store.Begin(ctx, run); err != nil {
		return Result{}, err
	}
	crashpoint.Hit("after_begin")
	res, err := sess.write(ctx, run, fill, log)
	if err != nil && res.Run.Status == "" && errors.Is(err, state.ErrCommitUnknown) {
		// the store could not say whether the commit took effect: the
		// files stay in staging and the next holder of the lease resolves
		// the run (Zone.Recover)
		log.Error("run outcome unknown", "err", err)
		return Result{Run: withStatus(run, state.StatusRunning, err)}, fmt.Errorf("stream %s run %s: %w", s.Name, run.ID, err)
	}
	if err != nil && res.Run.Status == "" {
		// nothing committed: record why; the files are gone
		status := state.StatusFailed
		if errors.Is(err, state.ErrCursorMoved) || errors.Is(err, state.ErrLeaseLost) {
			status = state.StatusAbandoned
		}
		if ferr := o.Store.Finish(context.WithoutCancel(ctx), run.ID, status, err.Error(), ""); ferr != nil {
			log.Error("record failed run", "err", ferr)
		}
		log.Error("run failed", "err", err, "status", status)
		return Result{Run: withStatus(run, status, err)}, fmt.Errorf("stream %s run %s: %w", s.Name, run.ID, err)
	}
	return res, err
}

func defaultNow() time.Time { return time.Now() }

func defaultLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func withStatus(r state.Run, st state.Status, err error) state.Run {
	r.Status = st
	if err != nil {
		r.Error = err.Error()
	}
	return r
}

// write reads the upstream into the run's files and commits them. A
// returned Result with a Status means the run committed (possibly with err,
// a partial read whose pages were kept).
func (sess *session) write(ctx context.Context, run state.Run, fill func(context.Context, state.Run, func(batch) error) error, log *slog.Logger) (Result, error) {
	o, s := sess.o, sess.s
	man := landing.Manifest{Kind: string(o.Kind), Source: s.Source, CursorBefore: run.CursorBefore, StartedAt: run.StartedAt, Host: run.Host, PID: run.PID}
	w, err := landing.NewWriterContext(ctx, o.Zone, s.Name, run.ID, man, landing.Options{RollBytes: int64(o.Config.Landing.RollBytes), Compression: o.Config.Landing.Compression})
	if err != nil {
		return Result{}, err
	}
	hw := &tracker{}
	if c := s.Cursor; c != nil && o.Kind == state.KindIngest {
		hw = &tracker{rules: newCursorRules(c), field: c.Field, sp: sess.cur, client: c.Filter == config.FilterClient, desc: c.Order == "desc"}
	}
	sink := func(b batch) error {
		recs, caughtUp, err := hw.page(b.records)
		if err != nil {
			return fmt.Errorf("page %d (%s): %w", b.page.N, b.page.URL, err)
		}
		b.page.Records = len(recs) // the records landed
		for _, r := range recs {
			if err := w.Write(r); err != nil {
				return err
			}
		}
		if err := w.Page(b.page); err != nil {
			return err
		}
		crashpoint.Hit("after_page")
		log.Debug("page landed", KeyPages, b.page.N, KeyRecords, b.page.Records, KeyTrackingID, b.page.TrackingID)
		if o.Progress != nil {
			o.Progress(s.Name, b.page.N, w.Records(), b.total)
		}
		if caughtUp {
			return errCaughtUp
		}
		return nil
	}
	readErr := fill(ctx, run, sink)
	if readErr != nil && ctx.Err() != nil {
		readErr = context.Cause(ctx) // e.g. the lease was lost
	}
	if readErr != nil && (w.Records() == 0 || ctx.Err() != nil || errors.Is(readErr, errDiscardRun)) {
		w.Abort()
		return Result{}, readErr
	}
	complete := readErr == nil
	cursorAfter := run.CursorBefore
	if complete && o.Kind == state.KindIngest {
		if cursorAfter, err = hw.result(run.CursorBefore); err != nil {
			w.Abort()
			return Result{}, err
		}
	}
	m, err := w.Finish(cursorAfter, complete)
	if err != nil {
		w.Abort()
		return Result{}, err
	}
	crashpoint.Hit("after_manifest")
	run.CursorAfter, run.Records, run.Bytes, run.Pages, run.Complete = cursorAfter, m.Records, m.Bytes, m.Pages, complete
	run.FinishedAt = o.Now().UTC()
	if readErr != nil {
		run.Error = "partial: " + readErr.Error()
	}
	if err := o.Store.Commit(ctx, run, o.Kind == state.KindIngest); err != nil {
		if !errors.Is(err, state.ErrCommitUnknown) {
			o.Zone.Remove(s.Name, run.ID)
		}
		return Result{}, err
	}
	crashpoint.Hit("after_commit")
	if err := o.Zone.Publish(s.Name, run.ID); err != nil {
		// committed: the next run or transform rolls it forward
		log.Warn("publish run", "err", err)
	}
	crashpoint.Hit("after_publish")
	run.Status = state.StatusCommitted
	log.Info("run committed", KeyRecords, m.Records, KeyPages, m.Pages, "bytes", m.Bytes,
		"cursor_before", run.CursorBefore, "cursor_after", cursorAfter, "complete", complete,
		"seconds", run.FinishedAt.Sub(run.StartedAt).Seconds())
	res := Result{Run: run, Manifest: m}
	if w := hw.inactive(s.Name); w != "" {
		log.Warn("incremental reading is inactive", "reason", w)
		res.Warnings = append(res.Warnings, w)
	}
	if readErr != nil {
		return res, fmt.Errorf("stream %s run %s stopped after %d records (kept and committed; cursor not moved): %w", s.Name, run.ID, m.Records, readErr)
	}
	return res, nil
}

// read dispatches to the stream's kind of source; sp is the run's cursor
// span (ingest runs of streams with a cursor).
func read(ctx context.Context, o Options, s *config.Stream, d Doer, run state.Run, sp span, sink func(batch) error) error {
	src := o.Config.Sources[s.Source]
	l := streamListing(s)
	extra := map[string]string{}
	if o.Kind == state.KindReconcile {
		if s.Reconcile != nil {
			l = reconcileListing(s)
		}
	} else if c := s.Cursor; c != nil {
		extra = sp.params(c)
	}
	known, err := o.Store.SeenPaths(ctx, s.Name)
	if err != nil {
		return err
	}
	seen, err := walk(ctx, d, walkSpec{base: src.BaseURL, l: l, extra: extra, stream: s.Name, runID: run.ID,
		maxPages: int64(s.MaxPages), maxDuration: s.MaxDuration.D(), now: o.Now, known: known}, sink)
	// the paths a page showed are facts whatever became of the run: record
	// them now (a hint; losing it to a crash only narrows what counts as an end)
	if len(seen) > 0 && ctx.Err() == nil {
		if perr := o.Store.AddSeenPaths(ctx, s.Name, seen); perr != nil {
			o.Logger.Warn("record response paths seen", KeyStream, s.Name, "err", perr)
		}
	}
	if errors.Is(err, errCaughtUp) {
		return nil // a clear, observed end
	}
	return err
}
