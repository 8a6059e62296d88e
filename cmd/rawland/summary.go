package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/rawland/rawland/reconcile"
	"github.com/rawland/rawland/state"
	"github.com/rawland/rawland/transform"
)

// Per-stream summary lines: "<stream> <status> <what happened>", one per
// stream and step, in words an operator can act on.

// Statuses, worst last (run prints the worst of a stream's steps).
const (
	stOK      = "ok"
	stSkipped = "skipped"
	stBusy    = "busy"
	stPartial = "partial"
	stFailed  = "FAILED"
)

func worse(a, b string) string {
	rank := map[string]int{stOK: 0, stSkipped: 1, stBusy: 2, stPartial: 3, stFailed: 4}
	if rank[b] > rank[a] {
		return b
	}
	return a
}

// ingestSummary says what one stream's ingest (or reconcile read) did.
func ingestSummary(r streamResult) (status, text string) {
	var held *state.LeaseHeldError
	switch {
	case errors.As(r.err, &held):
		return stBusy, held.Error()
	case r.res.Skipped != "":
		return stSkipped, r.res.Skipped
	case r.err != nil && r.res.Run.Status == state.StatusCommitted:
		return stPartial, fmt.Sprintf("run %s kept %d records; %v", r.res.Run.ID, r.res.Run.Records, r.err)
	case r.err != nil:
		return stFailed, r.err.Error()
	}
	run := r.res.Run
	what := "run " + run.ID
	if n := len(r.res.Runs); n > 1 {
		what = fmt.Sprintf("%d runs (queue cycles or window slices), last %s", n, run.ID)
	}
	cursor := fmt.Sprintf("cursor %s → %s", orDash(run.CursorBefore), orDash(run.CursorAfter))
	if run.Kind == state.KindReconcile {
		cursor = "full snapshot, complete"
	}
	text = fmt.Sprintf("%s: %d records, %d pages, %s (%s)", what, run.Records, run.Pages, cursor, run.FinishedAt.Sub(run.StartedAt).Round(1e6))
	if run.ID == "" {
		text = "nothing new (the queue was empty)"
	}
	for _, w := range r.res.Warnings {
		text += "; WARNING: " + w
	}
	if n := r.res.DeadLettered; n > 0 {
		return stPartial, fmt.Sprintf("%s; %d requests failed for good and went to the dead-letter queue (rawland dlq list %s)", text, n, r.stream)
	}
	return stOK, text
}

// summarize prints one line per stream and picks the exit status: any
// failure → 1; every stream busy → 75; else 0.
func summarize(a *app, results []streamResult) error {
	failed, busy, ran := 0, 0, 0
	var lastBusy error
	for _, r := range results {
		st, text := ingestSummary(r)
		switch st {
		case stBusy:
			busy++
			lastBusy = r.err
		case stFailed, stPartial:
			failed++
		default:
			ran++
		}
		fmt.Fprintf(a.stdout, "%-16s %-8s %s\n", r.stream, st, text)
	}
	switch {
	case failed > 0:
		return errStreamsFailed
	case busy > 0 && ran == 0:
		return &busyError{err: lastBusy}
	}
	return nil
}

// transformSummary says what transform did with one stream's runs, with
// the reconcile figures of reconcile runs and a short drift list.
func transformSummary(sr transform.StreamReport) (status, text, drift string) {
	if sr.Err != nil {
		return stFailed, "transform: " + sr.Err.Error(), ""
	}
	if len(sr.Runs) == 0 {
		return stOK, "transform: no runs waiting", ""
	}
	t := sr.Totals()
	text = fmt.Sprintf("transform %d runs: %d records → %d inserted, %d updated, %d unchanged, %d stale, %d duplicates, %d quarantined",
		len(sr.Runs), t.Records, t.Inserted, t.Updated, t.Unchanged, t.Stale, t.Duplicates, t.Quarantined)
	status = stOK
	type key struct{ kind, path string }
	counts := map[key]int64{}
	var order []key
	for _, r := range sr.Runs {
		if r.Kind == state.KindReconcile && len(r.Reconcile) > 0 {
			var rr reconcile.Report
			json.Unmarshal(r.Reconcile, &rr)
			text += fmt.Sprintf("; reconcile %s: %d added, %d changed, %d unchanged, %d deleted, %d undeleted",
				r.RunID, r.Inserted, r.Updated-r.Undeleted, r.Unchanged, rr.Deleted, r.Undeleted)
			if rr.Note != "" {
				text += " (" + rr.Note + ")"
			}
		}
		for _, x := range r.Drift {
			k := key{x.Kind, x.Path}
			if _, seen := counts[k]; !seen {
				order = append(order, k)
			}
			counts[k] += x.Count
		}
	}
	var d []string
	for _, k := range order {
		d = append(d, fmt.Sprintf("%s %s ×%d", k.kind, k.path, counts[k]))
	}
	if len(d) > 6 {
		d = append(d[:6], fmt.Sprintf("… %d more (rawland sql \"FROM rawland.drift_summary\")", len(d)-6))
	}
	return status, text, strings.Join(d, "; ")
}

// transformLines prints one line per stream of a transform report (and a
// drift line where the upstream's shape changed).
func transformLines(a *app, rep transform.Report) {
	for _, sr := range rep.Streams {
		st, text, drift := transformSummary(sr)
		fmt.Fprintf(a.stdout, "%-16s %-8s %s\n", sr.Stream, st, text)
		if drift != "" {
			fmt.Fprintf(a.stdout, "%-16s %-8s %s\n", "", "drift", drift)
		}
	}
}
