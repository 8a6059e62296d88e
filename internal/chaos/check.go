package chaos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/rawland/rawland/landing"
	"github.com/rawland/rawland/mockapi"
	"github.com/rawland/rawland/state"
	"github.com/rawland/rawland/state/sqlitestore"
)

// version is one record version: its primary key and the mock's version
// counter (0 for streams without one).
type version struct{ ID, Version int64 }

// landedRec is one landed record version and its cursor field.
type landedRec struct {
	version
	UpdatedAt string // RFC 3339 UTC as the mock renders it; "" without one
	RunID     string // the run that landed it
}

// parseVersion reads id and version from a mock record.
func parseVersion(rec []byte) (version, error) {
	l, err := parseLanded(rec)
	return l.version, err
}

// parseLanded reads id, version and updated_at from a mock record.
func parseLanded(rec []byte) (landedRec, error) {
	var v struct {
		ID        *int64 `json:"id"`
		Version   int64  `json:"version"`
		UpdatedAt string `json:"updated_at"`
	}
	if err := json.Unmarshal(rec, &v); err != nil {
		return landedRec{}, fmt.Errorf("record %.80s: %w", rec, err)
	}
	if v.ID == nil {
		return landedRec{}, fmt.Errorf("record %.80s has no id", rec)
	}
	return landedRec{version: version{*v.ID, v.Version}, UpdatedAt: v.UpdatedAt}, nil
}

// Truth is the upstream's live records: stream → id → version.
type Truth map[string]map[int64]int64

// TruthOf snapshots the mock's live records.
func TruthOf(m *mockapi.Server) (Truth, error) {
	t := Truth{}
	for _, s := range m.Streams() {
		t[s] = map[int64]int64{}
		for rec := range m.Truth(s) {
			v, err := parseVersion(rec)
			if err != nil {
				return nil, fmt.Errorf("truth of %s: %w", s, err)
			}
			t[s][v.ID] = v.Version
		}
	}
	return t, nil
}

// Landed is what the committed runs of each stream hold: stream → the
// record versions of its transformed runs and of its runs still waiting.
type Landed struct {
	Transformed map[string][]landedRec
	Waiting     map[string][]landedRec
	// TransformedRuns are the run IDs the state store marks transformed.
	TransformedRuns map[string]map[string]bool
}

// Checker runs the checks of one data directory and counts their outcome in
// Figures. It caches what each committed run holds (committed runs are
// immutable), so a long run reads every run once.
type Checker struct {
	DataDir string
	Streams []string
	Fig     *Figures
	runs    map[string][]landedRec // run ID → records
}

// CheckState checks the state store and the landing zone and returns what
// the committed runs hold. At every moment: each raw/ directory belongs to
// a committed run and each committed run is whole (checksums, counts).
// After settling (settled) also: raw/ holds exactly the committed runs,
// staging/ is empty, no stream is leased, no run is still running, every
// committed run is transformed.
func (c *Checker) CheckState(ctx context.Context, settled bool) (Landed, error) {
	if c.runs == nil {
		c.runs = map[string][]landedRec{}
	}
	landed := Landed{Transformed: map[string][]landedRec{}, Waiting: map[string][]landedRec{}, TransformedRuns: map[string]map[string]bool{}}
	dbPath := filepath.Join(c.DataDir, "state", "rawland.db")
	if _, err := os.Stat(dbPath); errors.Is(err, fs.ErrNotExist) && !settled {
		return landed, nil // nothing ran far enough to create it
	}
	store, err := sqlitestore.Open(ctx, dbPath)
	if err != nil {
		return landed, fmt.Errorf("open state store: %w", err)
	}
	defer store.Close()
	zone := landing.Zone{Dir: c.DataDir}
	for _, s := range c.Streams {
		runs, err := store.List(ctx, state.RunFilter{Stream: s})
		if err != nil {
			return landed, fmt.Errorf("list runs of %s: %w", s, err)
		}
		committed := map[string]bool{}
		landed.TransformedRuns[s] = map[string]bool{}
		for _, r := range runs {
			switch r.Status {
			case state.StatusRunning:
				if settled {
					c.Fig.violate(&c.Fig.Untransformed, "%s: run %s is still running after settling", s, r.ID)
				}
				continue
			case state.StatusCommitted, state.StatusTransformed:
			default:
				continue
			}
			committed[r.ID] = true
			recs, err := c.runRecords(ctx, zone, s, r, settled)
			if err != nil {
				return landed, err
			}
			for i := range recs {
				recs[i].RunID = r.ID
			}
			if r.Status == state.StatusTransformed {
				landed.Transformed[s] = append(landed.Transformed[s], recs...)
				landed.TransformedRuns[s][r.ID] = true
			} else {
				landed.Waiting[s] = append(landed.Waiting[s], recs...)
				if settled {
					c.Fig.violate(&c.Fig.Untransformed, "%s: committed run %s is not transformed after settling", s, r.ID)
				}
			}
		}
		raw, err := dirNames(filepath.Join(c.DataDir, "raw", s))
		if err != nil {
			return landed, err
		}
		for _, id := range raw {
			if !committed[id] {
				c.Fig.violate(&c.Fig.OrphanDirs, "%s: raw/%s belongs to no committed run", s, id)
			}
		}
		if !settled {
			continue
		}
		inRaw := map[string]bool{}
		for _, id := range raw {
			inRaw[id] = true
		}
		for id := range committed {
			if !inRaw[id] {
				c.Fig.violate(&c.Fig.MissingDirs, "%s: committed run %s is not in raw/ after settling", s, id)
			}
		}
		staged, err := zone.StagedRuns(s)
		if err != nil {
			return landed, err
		}
		for _, id := range staged {
			c.Fig.violate(&c.Fig.OrphanDirs, "%s: staging/%s is left after settling", s, id)
		}
		if l, held, err := store.Holder(ctx, s); err != nil {
			return landed, fmt.Errorf("lease of %s: %w", s, err)
		} else if held {
			c.Fig.violate(&c.Fig.LockedStreams, "%s is still leased after settling: %+v", s, l)
		}
	}
	return landed, nil
}

// runRecords returns the record versions of a committed run, reading and
// verifying its files the first time. Before settling, a run committed but
// not yet published is read where it is (staging/), without moving it.
func (c *Checker) runRecords(ctx context.Context, zone landing.Zone, stream string, r state.Run, settled bool) ([]landedRec, error) {
	if recs, ok := c.runs[r.ID]; ok {
		return recs, nil
	}
	dir := zone.RawDir(stream, r.ID)
	if _, err := os.Stat(dir); err != nil {
		if settled {
			return nil, nil // counted as missing by the caller
		}
		dir = zone.StagingDir(stream, r.ID)
		if _, err := os.Stat(dir); err != nil {
			c.Fig.violate(&c.Fig.MissingDirs, "%s: committed run %s has neither raw/ nor staging/ files", stream, r.ID)
			return nil, nil
		}
	}
	var recs []landedRec
	var perr error
	_, err := landing.Records(ctx, dir, func(rec landing.Record) error {
		v, err := parseLanded(rec.Data)
		if err != nil && perr == nil {
			perr = fmt.Errorf("%s line %d: %w", rec.File, rec.Line, err)
		}
		recs = append(recs, v)
		return nil
	})
	switch {
	case err != nil:
		c.Fig.violate(&c.Fig.BrokenRuns, "%s: committed run %s is not whole: %v", stream, r.ID, err)
	case perr != nil:
		c.Fig.violate(&c.Fig.BrokenRuns, "%s: committed run %s holds a record that is not the upstream's: %v", stream, r.ID, perr)
	case int64(len(recs)) != r.Records:
		c.Fig.violate(&c.Fig.BrokenRuns, "%s: run %s holds %d records, the state store says %d", stream, r.ID, len(recs), r.Records)
	}
	c.runs[r.ID] = recs
	return recs, nil
}

// dirNames lists the directories in dir (none if dir does not exist).
func dirNames(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out, nil
}
