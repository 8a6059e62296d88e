package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/rawland/rawland/config"
	"github.com/rawland/rawland/ingest/fetch"
	"github.com/rawland/rawland/internal/crashpoint"
	"github.com/rawland/rawland/state"
)

// A bulk export (kind: export) is one job per run: create it, poll it until
// done, download the file(s) it names and land their records as the run.
// The job lives in the state store (state.Jobs) from before its create
// request is sent: first its idempotency key, then, before the first poll,
// its upstream ID. A process killed anywhere finds it there; the next run
// adopts it, re-sends the create with the same key if the ID was never
// read (the upstream answers with the same job), or polls the recorded ID.
// The job is cleared once a run that landed it committed; a job whose
// owning run committed but was not cleared (a kill in between) is known to
// be landed and is never landed twice. Any failure of the download or
// landing discards the run (nothing partial is committed) and keeps the
// job for the next run.

// Opener opens streamed downloads (*fetch.Client implements it).
type Opener interface {
	Open(ctx context.Context, d fetch.Download) (*fetch.Body, error)
}

var _ Opener = (*fetch.Client)(nil)

// errDiscardRun marks a read error after which nothing the run landed may
// be committed (see session.write).
var errDiscardRun = errors.New("the run's landed records are discarded")

// discard wraps err so that session.write commits nothing.
func discard(err error) error {
	if err == nil || errors.Is(err, errDiscardRun) {
		return err
	}
	return fmt.Errorf("%w (%w)", err, errDiscardRun)
}

// Log attribute keys of export runs.
const (
	KeyJobID  = "job_id"
	KeyJobKey = "idempotency_key"
)

// exporter is one export run's context.
type exporter struct {
	sess  *session
	d     Doer
	op    Opener
	jobs  state.Jobs
	e     *config.Export
	src   *config.Source
	log   *slog.Logger
	runID string
	// from is the cursor value the create request sends ("" = none).
	from string
	// done is the poll answer that said the job is done (its file URLs).
	done []byte
}

// exportStream runs one export: the job is found or created inside the
// run (so the run history shows the wait), then its files are landed.
func exportStream(ctx context.Context, sess *session, d Doer) (Result, error) {
	o, s := sess.o, sess.s
	jobs, ok := o.Store.(state.Jobs)
	if !ok {
		return Result{}, fmt.Errorf("stream %s: kind export needs a state store that keeps export jobs (%T does not)", s.Name, o.Store)
	}
	op, ok := d.(Opener)
	if !ok {
		return Result{}, fmt.Errorf("stream %s: the client of source %s cannot stream downloads", s.Name, s.Source)
	}
	x := &exporter{sess: sess, d: d, op: op, jobs: jobs, e: s.Export, src: o.Config.Sources[s.Source], runID: sess.run.ID,
		log: sess.log.With(KeyRunID, sess.run.ID)}
	if c := s.Cursor; c != nil {
		before, err := o.Store.Cursor(ctx, s.Name)
		if err != nil {
			return Result{}, err
		}
		sp, err := planSpan(c, before, o.Now())
		if err != nil {
			return Result{}, fmt.Errorf("stream %s: %w", s.Name, err)
		}
		if o.Kind == state.KindIngest {
			sess.span = &sp
			if sp.from != nil {
				x.from = sp.from.Param(c.SendFormat)
			}
		} else if c.Start != "" {
			// a reconcile export is a full snapshot: from the very start
			start, err := newCursorRules(c).saved(c.Start, "cursor.start")
			if err != nil {
				return Result{}, fmt.Errorf("stream %s: %w", s.Name, err)
			}
			x.from = start.Param(c.SendFormat)
		}
	}
	var job state.Job
	res, err := sess.land(ctx, sess.run, func(ctx context.Context, run state.Run, sink func(batch) error) error {
		var err error
		if job, err = x.job(ctx, run); err != nil {
			return discard(err)
		}
		return discard(x.landFiles(ctx, &job, sink))
	})
	if res.Run.Status == state.StatusCommitted && job.Key != "" {
		if cerr := jobs.ClearJob(context.WithoutCancel(ctx), s.Name, o.Kind, job.Key); cerr != nil {
			// the job's run committed: the next run sees that and starts afresh
			x.log.Warn("clear the landed export job", "err", cerr)
		}
		crashpoint.Hit("export_after_clear")
	}
	return res, redactErr(d, err)
}

// job returns the run's job, done upstream: the stream's pending job
// adopted, or a new one created; an expired one is recreated.
func (x *exporter) job(ctx context.Context, run state.Run) (state.Job, error) {
	o, s := x.sess.o, x.sess.s
	j, found, err := x.jobs.GetJob(ctx, s.Name, o.Kind)
	if err != nil {
		return j, err
	}
	if found && j.RunID != run.ID {
		if prev, err := o.Store.Get(ctx, j.RunID); err == nil && (prev.Status == state.StatusCommitted || prev.Status == state.StatusTransformed) {
			x.log.Info("the pending export job was landed by an earlier run; starting a new job", KeyJobID, j.ID, "landed_by", j.RunID)
			found = false
		}
	}
	if found && o.Kind == state.KindIngest && j.Cursor != run.CursorBefore {
		x.log.Warn("the stream's cursor changed since the pending export job was created (reset?); starting a new job",
			KeyJobID, j.ID, "job_cursor", j.Cursor, "cursor", run.CursorBefore)
		found = false
	}
	if found {
		x.log.Info("resuming the export job of an earlier run", KeyJobID, j.ID, KeyJobKey, j.Key, "created_by", j.RunID)
		j.RunID = run.ID
	} else {
		j = state.Job{Stream: s.Name, Kind: o.Kind, Key: jobKey(s.Name, o.Kind, run.ID, 1), RunID: run.ID, Cursor: run.CursorBefore}
	}
	if err := x.jobs.PutJob(ctx, j); err != nil {
		return j, err
	}
	crashpoint.Hit("export_after_key")
	for gen := 2; ; gen++ {
		if j.ID == "" {
			id, err := x.create(ctx, j.Key)
			if err != nil {
				return j, fmt.Errorf("create export job (idempotency key %s): %w", j.Key, err)
			}
			crashpoint.Hit("export_after_create")
			j.ID = id
			if err := x.jobs.PutJob(ctx, j); err != nil {
				return j, err
			}
			x.log.Info("export job created", KeyJobID, j.ID, KeyJobKey, j.Key)
			crashpoint.Hit("export_after_job_id")
		}
		err := x.waitDone(ctx, &j)
		var exp *jobExpiredError
		if !errors.As(err, &exp) {
			return j, err
		}
		if gen > maxJobGenerations {
			return j, fmt.Errorf("export job expired upstream %d times in a row: %w", gen-1, err)
		}
		// the upstream dropped the job: a new one, with a new key (the old
		// key names the dropped job)
		j.Key, j.ID = jobKey(s.Name, o.Kind, run.ID, gen), ""
		x.log.Warn("export job expired upstream; creating a new one", "reason", exp.Error(), KeyJobKey, j.Key)
		if err := x.jobs.PutJob(ctx, j); err != nil {
			return j, err
		}
	}
}

// maxJobGenerations bounds how many jobs one run creates after upstream
// expiries.
const maxJobGenerations = 3

// jobKey is the idempotency key of a run's gen-th job: derived from the run
// ID (unique across hosts) and recorded before the create request is sent,
// so every retry and every resuming process sends the same key.
func jobKey(stream string, kind state.Kind, runID string, gen int) string {
	k := fmt.Sprintf("rawland-%s-%s-%s", stream, kind, runID)
	if gen > 1 {
		k += fmt.Sprintf("-%d", gen)
	}
	return k
}
