package ingest

import (
	"context"
	"fmt"
	"time"

	"github.com/rawland/rawland/internal/cursorval"
	"github.com/rawland/rawland/state"
)

// cursorRuns runs an incremental stream: one run over its span, or, with
// cursor.window, a backfill of window-long slices from the saved cursor (or
// start) to cursor.end (or now), each slice one committed run with its own
// cursor commit. A crash or a cancel mid-backfill keeps every committed
// slice; the next run resumes after the last one. A slice whose walk was cut
// short commits its records without moving the cursor and stops the
// backfill (partial).
func cursorRuns(ctx context.Context, sess *session, d Doer) (Result, error) {
	o, s, c := sess.o, sess.s, sess.s.Cursor
	before, err := o.Store.Cursor(ctx, s.Name)
	if err != nil {
		return Result{}, err
	}
	now := o.Now()
	fail := func(err error) (Result, error) { return Result{}, fmt.Errorf("stream %s: %w", s.Name, err) }
	r := newCursorRules(c)
	if c.End != "" && before != "" {
		end, err := r.saved(c.End, "cursor.end")
		if err != nil {
			return fail(err)
		}
		cur, err := r.saved(before, "the saved cursor")
		if err != nil {
			return fail(err)
		}
		if cmp, err := cur.Compare(end); err != nil {
			return fail(err)
		} else if cmp >= 0 {
			return Result{Skipped: fmt.Sprintf("the cursor (%s) is at cursor.end (%s): the range is done; remove end to read on incrementally", before, c.End)}, nil
		}
	}
	if c.Window > 0 {
		slices, err := planSlices(r, before, now)
		if err != nil {
			return fail(err)
		}
		if len(slices) > 0 {
			return backfill(ctx, sess, d, slices)
		}
	}
	sp, err := planSpan(c, before, now)
	if err != nil {
		return fail(err)
	}
	sess.span = &sp
	return sess.land(ctx, sess.run, sess.reader(d))
}

// planSlices cuts the range from the saved cursor minus the look-back (or
// start) to cursor.end (or now, if end is unset or still ahead) into
// window-long slices. Every slice sends its start and end; a slice that ends
// in the past is closed (records after its end wait for the next slice, and
// the cursor moves to its end); a last slice that ends now is open (the
// cursor moves only as far as the records, never past end). None when the
// range is empty.
func planSlices(r cursorRules, before string, now time.Time) ([]span, error) {
	c := r.c
	from, err := runStart(r, before)
	if err != nil || from == nil {
		return nil, err
	}
	if from.Kind != cursorval.Time {
		return nil, &CursorKindError{Field: c.Field, What: fmt.Sprintf("starts at %s", from), Got: from.Kind, Want: cursorval.Time, From: "window " + c.Window.D().String()}
	}
	// slices reach cursor.end, or now when there is none or it is still
	// ahead (no request asks for the future)
	limit, endPast := now, false
	var endCap *cursorval.Value
	if c.End != "" {
		end, err := r.saved(c.End, "cursor.end")
		if err != nil {
			return nil, err
		}
		endCap = &end
		if !end.T.After(now) {
			limit, endPast = end.T, true
		}
	}
	var out []span
	for a := from.T; a.Before(limit); {
		b := a.Add(c.Window.D())
		if b.After(limit) {
			b = limit
		}
		sp := span{from: timeVal(a), until: timeVal(b), cap: endCap}
		if sp.closed = b.Before(limit) || endPast; sp.closed {
			sp.cap = sp.until
		}
		out = append(out, sp)
		a = b
	}
	return out, nil
}

func timeVal(t time.Time) *cursorval.Value { return &cursorval.Value{Kind: cursorval.Time, T: t} }

// backfill lands one run per slice, in order, handing the lease from run to
// run.
func backfill(ctx context.Context, sess *session, d Doer, slices []span) (Result, error) {
	var total Result
	var runs []state.Run
	finish := func(err error) (Result, error) {
		total.Runs = runs
		if len(runs) > 0 {
			total.Run = sumRuns(runs)
		}
		return total, err
	}
	for i, sp := range slices {
		if err := ctx.Err(); err != nil {
			return finish(fmt.Errorf("stream %s: backfill stopped before slice %d of %d: %w", sess.s.Name, i+1, len(slices), err))
		}
		run := sess.run
		if i > 0 {
			var err error
			if run, err = sess.next(ctx); err != nil {
				return finish(err)
			}
		}
		sess.span = &sp
		sess.log.Info("backfill slice", KeyRunID, run.ID, "slice", i+1, "of", len(slices), "from", sp.from.String(), "until", sp.until.String())
		res, err := sess.land(ctx, run, sess.reader(d))
		if res.Run.Status != "" {
			runs = append(runs, res.Run)
			total.Manifest = res.Manifest
		}
		if len(res.Warnings) > 0 && len(total.Warnings) == 0 {
			total.Warnings = res.Warnings // the same for every slice: once
		}
		if err != nil {
			return finish(fmt.Errorf("backfill slice %d of %d (%s … %s): %w", i+1, len(slices), sp.from, sp.until, err))
		}
	}
	return finish(nil)
}

// sumRuns is several runs of one session as one: counts summed, the first
// start, the last ID, end and cursor.
func sumRuns(runs []state.Run) state.Run {
	agg := runs[0]
	for _, r := range runs[1:] {
		agg.Records += r.Records
		agg.Bytes += r.Bytes
		agg.Pages += r.Pages
		agg.FinishedAt = r.FinishedAt
		agg.CursorAfter = r.CursorAfter
		agg.Complete = r.Complete
		agg.Error = r.Error
		agg.Status = r.Status
	}
	agg.ID = runs[len(runs)-1].ID
	return agg
}
