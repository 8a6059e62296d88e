package transform

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"time"
)

// Drift is one way a run's records departed from the schema.
type Drift struct {
	Path    string `json:"path"`    // field, [] for array elements ("labels[].name")
	Kind    string `json:"kind"`    // DriftNewField, DriftMissingRequired, ...
	Count   int64  `json:"count"`   // records that showed it
	Example string `json:"example"` // one offending value as JSON (truncated)
}

type driftKey struct{ path, kind string }

type driftAgg struct {
	count   int64
	example string
}

// driftSet counts drift observations by field and kind.
type driftSet map[driftKey]*driftAgg

func (d driftSet) add(obs []driftObs) {
	for _, o := range obs {
		k := driftKey{o.path, o.kind}
		a := d[k]
		if a == nil {
			a = &driftAgg{example: o.example}
			d[k] = a
		}
		a.count++
	}
}

func (d driftSet) merge(o driftSet) {
	for k, a := range o {
		if have := d[k]; have != nil {
			have.count += a.count
		} else {
			d[k] = &driftAgg{count: a.count, example: a.example}
		}
	}
}

// list returns the drift sorted by kind, then path.
func (d driftSet) list() []Drift {
	out := make([]Drift, 0, len(d))
	for k, a := range d {
		out = append(out, Drift{Path: k.path, Kind: k.kind, Count: a.count, Example: a.example})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		return out[i].Path < out[j].Path
	})
	return out
}

// writeDrift records a run's drift in rawland.drift. first_seen is when the
// change first landed: the earliest landed time of any run of the stream
// that showed the same field and kind.
func writeDrift(ctx context.Context, tx *sql.Tx, stream, runID string, landedAt time.Time, drift []Drift) error {
	if len(drift) == 0 {
		return nil
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO rawland.drift (stream, run_id, path, kind, count, example, first_seen)
		SELECT $1, $2, $3, $4, $5, $6, coalesce(least(min(first_seen), $7::TIMESTAMPTZ), $7::TIMESTAMPTZ)
		FROM rawland.drift WHERE stream = $1 AND path = $3 AND kind = $4`)
	if err != nil {
		return fmt.Errorf("record drift: %w", err)
	}
	defer stmt.Close()
	for _, d := range drift {
		if _, err := stmt.ExecContext(ctx, stream, runID, d.Path, d.Kind, d.Count, d.Example, landedAt.UTC()); err != nil {
			return fmt.Errorf("record drift of %s: %w", d.Path, err)
		}
	}
	return nil
}
