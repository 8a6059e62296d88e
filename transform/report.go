package transform

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/rawland/rawland/state"
)

// Report is what a transform (or a replay) did.
type Report struct {
	Streams []StreamReport `json:"streams"`
}

// StreamReport is one stream's outcome.
type StreamReport struct {
	Stream string      `json:"stream"`
	Runs   []RunReport `json:"runs"`
	// Err stops the stream: its remaining runs stay pending.
	Err   error  `json:"-"`
	Error string `json:"error,omitempty"`
}

// RunReport counts what happened to one run's records. For a transform,
// Records = Inserted + Updated + Unchanged + Stale + Duplicates +
// Quarantined. For a replay, Records are the quarantined records
// re-validated and Quarantined those that still fail.
type RunReport struct {
	RunID       string     `json:"run_id"`
	Stream      string     `json:"stream"`
	Kind        state.Kind `json:"kind"`
	Records     int64      `json:"records"`
	Inserted    int64      `json:"inserted"`
	Updated     int64      `json:"updated"`
	Unchanged   int64      `json:"unchanged"`
	Stale       int64      `json:"stale"`      // older versions skipped (stale protection)
	Duplicates  int64      `json:"duplicates"` // versions collapsed inside the run
	Undeleted   int64      `json:"undeleted"`  // of Updated: rows that were marked deleted and came back
	Quarantined int64      `json:"quarantined"`
	Drift       []Drift    `json:"drift,omitempty"`
	// Reconcile is what the AfterRun hook returned (reconcile runs).
	Reconcile json.RawMessage `json:"reconcile,omitempty"`
	// Synced: the run was already in the warehouse (a crash came between
	// the warehouse commit and the state store); only the state store was
	// updated and the counts are those recorded then.
	Synced bool `json:"-"`
}

// Err returns the streams' errors joined (nil if every stream succeeded).
func (r Report) Err() error {
	var errs []error
	for _, s := range r.Streams {
		if s.Err != nil {
			errs = append(errs, s.Err)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return errors.Join(errs...)
}

// Totals sums the runs of one stream report.
func (s StreamReport) Totals() RunReport {
	t := RunReport{Stream: s.Stream}
	for _, r := range s.Runs {
		t.Records += r.Records
		t.Inserted += r.Inserted
		t.Updated += r.Updated
		t.Unchanged += r.Unchanged
		t.Stale += r.Stale
		t.Duplicates += r.Duplicates
		t.Undeleted += r.Undeleted
		t.Quarantined += r.Quarantined
	}
	return t
}

// WriteSummary prints one line per stream and a short drift summary.
func (r Report) WriteSummary(w io.Writer) {
	for _, s := range r.Streams {
		t := s.Totals()
		status := "ok"
		if s.Err != nil {
			status = "FAILED"
		}
		fmt.Fprintf(w, "%-16s %-7s %d runs: %d records → %d inserted, %d updated, %d unchanged, %d stale, %d duplicates, %d quarantined\n",
			s.Stream, status, len(s.Runs), t.Records, t.Inserted, t.Updated, t.Unchanged, t.Stale, t.Duplicates, t.Quarantined)
		if s.Err != nil {
			fmt.Fprintf(w, "%-16s         %v\n", "", s.Err)
		}
		drift := driftSet{}
		for _, run := range s.Runs {
			for _, d := range run.Drift {
				drift.merge(driftSet{{d.Path, d.Kind}: {count: d.Count, example: d.Example}})
			}
		}
		list := drift.list()
		for i, d := range list {
			if i == 8 {
				fmt.Fprintf(w, "%-16s   drift: … and %d more (SELECT * FROM rawland.drift_summary)\n", "", len(list)-i)
				break
			}
			fmt.Fprintf(w, "%-16s   drift: %-16s %-32s %6d records, e.g. %s\n", "", d.Kind, d.Path, d.Count, oneLine(d.Example, 60))
		}
	}
}

func oneLine(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
