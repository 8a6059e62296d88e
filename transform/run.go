package transform

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"

	"github.com/rawland/rawland/config"
	"github.com/rawland/rawland/state"
)

// Run transforms every committed run of the selected streams that is not
// yet in the warehouse, oldest first, each in one warehouse transaction
// (see the package documentation). Streams are independent: one stream's
// failure stops only that stream and is reported in its StreamReport; the
// returned error joins them (errors.Is config.ErrInvalid for schema
// problems, ErrWarehouseBusy when another rawland process kept the working
// database past LockWait, in which case nothing was done). Run works on the
// private working database and publishes it at the end (snapshot.go).
func Run(ctx context.Context, o Options) (Report, error) {
	var rep Report
	o, err := o.withDefaults()
	if err != nil {
		return rep, err
	}
	if o.Runs == nil {
		return rep, errors.Join(errNoOption, errors.New("Runs is required"))
	}
	streams, err := o.Config.Select(o.Streams)
	if err != nil {
		return rep, err
	}
	var ready []*config.Stream
	for _, st := range streams {
		switch {
		case !st.HasSchema():
			err := noSchemaError(o.Config, st)
			rep.Streams = append(rep.Streams, StreamReport{Stream: st.Name, Err: err, Error: err.Error()})
		case o.Schemas[st.Name] == nil:
			return rep, &config.Error{File: o.Config.Path, Key: "streams." + st.Name + ".schema", Msg: "no compiled schema for stream " + st.Name}
		default:
			ready = append(ready, st)
		}
	}
	if streams = ready; len(streams) == 0 {
		return rep, rep.Err()
	}
	w, err := openForWrite(ctx, o)
	if err != nil {
		return rep, err
	}
	defer w.close()
	t := &transformer{o: o, w: w}
	for _, st := range streams {
		sr := t.stream(ctx, st)
		if sr.Err != nil {
			sr.Error = sr.Err.Error()
			o.Logger.Error("transform failed", KeyStream, st.Name, "error", sr.Err)
		}
		rep.Streams = append(rep.Streams, sr)
		if ctx.Err() != nil {
			break
		}
	}
	if err := ctx.Err(); err != nil {
		return rep, errors.Join(rep.Err(), err)
	}
	if err := refreshRuns(ctx, w, o.Runs); err != nil {
		o.Logger.Warn("refresh rawland.runs", "error", err)
	}
	if t.dirty != nil {
		return rep, errors.Join(rep.Err(), t.dirty)
	}
	// what the streams committed is published even when one of them failed
	if err := w.publishAndClose(ctx, o); err != nil {
		return rep, errors.Join(rep.Err(), err)
	}
	return rep, rep.Err()
}

// transformer is one Run's open warehouse and options.
type transformer struct {
	o Options
	w *warehouse
	// dirty is set when rows of an unfinished direct load could not be
	// removed (direct.go): the working database is then not published.
	dirty error
}

// stream transforms one stream's pending runs in order; it stops at the
// first failing run so that later runs never merge before earlier ones.
func (t *transformer) stream(ctx context.Context, st *config.Stream) StreamReport {
	sr := StreamReport{Stream: st.Name}
	s := t.o.Schemas[st.Name]
	log := t.o.Logger.With(KeyStream, st.Name)
	fail := func(err error) StreamReport {
		sr.Err = fmt.Errorf("transform %s: %w", st.Name, err)
		return sr
	}
	err := t.w.inTx(ctx, func(tx *sql.Tx) error {
		if t.o.Rebuild {
			if err := dropStream(ctx, tx, st.Name); err != nil {
				return err
			}
			log.Info("rebuilding the table from the raw landing")
		}
		return ensureTable(ctx, tx, s, t.w.path, log)
	})
	if err != nil {
		return fail(err)
	}
	runs, err := t.o.Runs.List(ctx, state.RunFilter{Stream: st.Name, Status: []state.Status{state.StatusCommitted, state.StatusTransformed}, Oldest: true})
	if err != nil {
		return fail(err)
	}
	done, err := transformedRuns(ctx, t.w, st.Name)
	if err != nil {
		return fail(err)
	}
	var pending []landedRun
	for _, run := range runs {
		if report, ok := done[run.ID]; ok {
			if run.Status == state.StatusCommitted {
				// The warehouse has it but the state store missed the news
				// (a crash between the two commits): sync the state store.
				if err := t.o.Runs.Finish(ctx, run.ID, state.StatusTransformed, "", report); err != nil {
					return fail(err)
				}
				log.Info("run was already in the warehouse; marked transformed", KeyRunID, run.ID)
				sr.Runs = append(sr.Runs, syncedReport(run, report))
			}
			continue
		}
		dir, err := t.o.Zone.RunDir(st.Name, run.ID)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && run.Status == state.StatusTransformed {
				log.Warn("a transformed run's raw files are gone; it cannot be loaded again", KeyRunID, run.ID, "error", err)
				continue
			}
			return fail(err)
		}
		pending = append(pending, landedRun{run: run, dir: dir})
	}
	maxRuns := batchRuns
	if t.o.maxBatchRuns > 0 {
		maxRuns = t.o.maxBatchRuns
	}
	for i := 0; i < len(pending); {
		if err := ctx.Err(); err != nil {
			return fail(err)
		}
		j := batchEnd(pending, i, batchRecords, maxRuns)
		if j-i > 1 {
			rrs, err := t.loadRuns(ctx, s, pending[i:j])
			sr.Runs = append(sr.Runs, rrs...)
			if err != nil {
				return fail(err)
			}
			i = j
			continue
		}
		run := pending[i].run
		rr, err := t.loadRun(ctx, s, run, pending[i].dir)
		if err != nil {
			return fail(fmt.Errorf("run %s: %w", run.ID, err))
		}
		sr.Runs = append(sr.Runs, rr)
		i++
	}
	return sr
}

// transformedRuns returns the stream's runs recorded in rawland.transformed,
// with their reports.
func transformedRuns(ctx context.Context, w *warehouse, stream string) (map[string]string, error) {
	rows, err := w.conn.QueryContext(ctx, `SELECT run_id, coalesce(report::VARCHAR, '') FROM rawland.transformed WHERE stream = ?`, stream)
	if err != nil {
		return nil, fmt.Errorf("read transformed runs: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, report string
		if err := rows.Scan(&id, &report); err != nil {
			return nil, err
		}
		out[id] = report
	}
	return out, rows.Err()
}

// dropStream forgets everything the warehouse holds for a stream, so that
// every committed run is transformed again.
func dropStream(ctx context.Context, tx *sql.Tx, stream string) error {
	if _, err := tx.ExecContext(ctx, "DROP TABLE IF EXISTS "+tableName(stream)); err != nil {
		return fmt.Errorf("rebuild %s: %w", stream, err)
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM rawland.meta WHERE key IN (?, ?)", loadingKey(stream), hashKey(stream)); err != nil {
		return fmt.Errorf("rebuild %s: %w", stream, err)
	}
	for _, tbl := range []string{"transformed", "quarantine", "drift"} {
		if _, err := tx.ExecContext(ctx, "DELETE FROM rawland."+tbl+" WHERE stream = ?", stream); err != nil {
			return fmt.Errorf("rebuild %s: %w", stream, err)
		}
	}
	return nil
}

// syncedReport is the report of a run found already in the warehouse.
func syncedReport(run state.Run, report string) RunReport {
	rr := RunReport{RunID: run.ID, Stream: run.Stream, Kind: run.Kind}
	json.Unmarshal([]byte(report), &rr)
	rr.Synced = true
	return rr
}
