package main

import (
	"context"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/rawland/rawland/config"
	"github.com/rawland/rawland/reconcile"
	"github.com/rawland/rawland/state"
	"github.com/rawland/rawland/transform"
)

func init() {
	register(&command{
		name:        "status",
		usage:       "[--json]",
		summary:     "per stream: cursor, last run, runs waiting for transform, quarantined, DLQ, next reconcile",
		needsConfig: true,
		run:         runStatus,
	})
}

type streamStatus struct {
	Stream        string       `json:"stream"`
	Cursor        string       `json:"cursor"`
	LastRun       *runJSON     `json:"last_run"`
	PendingRuns   int          `json:"pending_runs"`
	Quarantined   *int64       `json:"quarantined"` // null when the warehouse is busy or absent
	Drift         *int64       `json:"drift"`
	Rows          *int64       `json:"rows"`
	DLQ           int          `json:"dlq"`
	NextReconcile *time.Time   `json:"next_reconcile"`
	Holder        *state.Lease `json:"lease,omitempty"`
	// Incremental is "active" or "inactive" for streams with a cursor
	// (inactive: records landed but none carried the cursor field, so
	// every run re-reads everything); omitted for streams without one.
	Incremental string `json:"incremental,omitempty"`
}

// incrementalState says whether a cursor stream's incremental reading
// works: "inactive" when ingest runs landed records yet the cursor never
// moved off empty (the cursor field is absent from the records).
func incrementalState(ctx context.Context, store state.Runs, s *config.Stream, cursor string) (string, error) {
	if s.Cursor == nil {
		return "", nil
	}
	if cursor != "" {
		return "active", nil
	}
	runs, err := store.List(ctx, state.RunFilter{Stream: s.Name, Kind: state.KindIngest, Status: []state.Status{state.StatusCommitted, state.StatusTransformed}, Limit: 20})
	if err != nil {
		return "", err
	}
	for _, r := range runs {
		if r.Records > 0 && r.Complete {
			return "inactive", nil
		}
	}
	return "active", nil
}

func runStatus(ctx context.Context, a *app, args []string) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	if pos, err := parseFlags(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usagef("status takes no arguments")
	}
	store, err := a.readStore(ctx)
	if err != nil {
		return err
	}
	// quarantine, drift and row counts are the published snapshot's, read
	// from its manifest: status never opens the warehouse
	counts, countsErr := transform.Counts(ctx, a.warehousePath())
	if countsErr != nil {
		a.log.Warn("warehouse counts unavailable", "err", countsErr)
	}
	var out []streamStatus
	for _, name := range a.cfg.StreamNames() {
		st := streamStatus{Stream: name}
		if st.Cursor, err = store.Cursor(ctx, name); err != nil {
			return err
		}
		if st.Incremental, err = incrementalState(ctx, store, a.cfg.Streams[name], st.Cursor); err != nil {
			return err
		}
		if last, err := store.List(ctx, state.RunFilter{Stream: name, Limit: 1}); err != nil {
			return err
		} else if len(last) == 1 {
			j := toRunJSON(last[0])
			st.LastRun = &j
		}
		pending, err := store.List(ctx, state.RunFilter{Stream: name, Status: []state.Status{state.StatusCommitted}})
		if err != nil {
			return err
		}
		st.PendingRuns = len(pending)
		dlq, err := store.ListDLQ(ctx, name)
		if err != nil {
			return err
		}
		st.DLQ = len(dlq)
		if c, ok := counts[name]; ok {
			st.Quarantined, st.Drift, st.Rows = &c.Quarantined, &c.Drift, &c.Rows
		} else if countsErr == nil {
			var zero int64
			st.Quarantined, st.Drift, st.Rows = &zero, &zero, &zero
		}
		_, next, err := reconcile.Due(ctx, store, name, a.cfg.Reconcile.Every.D(), time.Now().UTC().Truncate(time.Second))
		if err != nil {
			return err
		}
		st.NextReconcile = &next
		if l, ok, err := store.Holder(ctx, name); err == nil && ok {
			st.Holder = &l
		}
		out = append(out, st)
	}
	pub := transform.Published(a.warehousePath())
	if *asJSON {
		return writeJSON(a.stdout, map[string]any{"streams": out, "published_at": pub.PublishedAt, "publish_pending": pub.Pending})
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STREAM\tCURSOR\tLAST RUN\tSTATUS\tRECORDS\tPENDING\tROWS\tQUARANTINED\tDRIFT\tDLQ\tNEXT RECONCILE\tLEASE")
	for _, s := range out {
		lastID, lastStatus, recs := "-", "-", "-"
		if s.LastRun != nil {
			lastID, lastStatus, recs = s.LastRun.RunID, s.LastRun.Status, fmt.Sprint(s.LastRun.Records)
		}
		q, d, rows := "?", "?", "?"
		if s.Quarantined != nil {
			q, d, rows = fmt.Sprint(*s.Quarantined), fmt.Sprint(*s.Drift), fmt.Sprint(*s.Rows)
		}
		lease := "-"
		if s.Holder != nil {
			lease = fmt.Sprintf("%s pid %d", s.Holder.Host, s.Holder.PID)
		}
		cursor := orDash(s.Cursor)
		if s.Incremental == "inactive" {
			cursor = "- (incremental inactive: cursor field absent)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%d\t%s\t%s\n", s.Stream, cursor, lastID, lastStatus, recs, s.PendingRuns, rows, q, d, s.DLQ,
			s.NextReconcile.Format(time.RFC3339), lease)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if countsErr != nil {
		fmt.Fprintf(a.stdout, "\n? = unknown: %v\n", countsErr)
	}
	fmt.Fprintln(a.stdout, "\n"+publishLine(pub, time.Now()))
	return nil
}

// publishLine says how old the published warehouse is and whether a newer
// working state waits to be published.
func publishLine(pub transform.PublishState, now time.Time) string {
	line := "warehouse: nothing published yet"
	if pub.PublishedAt != nil {
		line = fmt.Sprintf("warehouse: published %s (%s ago)", pub.PublishedAt.UTC().Format(time.RFC3339), now.Sub(*pub.PublishedAt).Round(time.Second))
	}
	if pub.Pending {
		line += "; a newer working state waits to be published (a transform is under way, or the next run publishes it)"
	}
	return line
}
