package transform

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

// TestStreamedInsert drives one streamed INSERT (loadstream.go) into the
// staging table: the rows of every batch sent arrive in order; a value
// DuckDB refuses in a later batch fails the statement with a data error
// (the direct path then loads the run through the staging path) and
// leaves nothing after the rollback; an aborted or cancelled statement
// fails too, so that nothing it read is committed. Each case runs with
// the default buffer and with one smaller than any batch, where every
// send waits for the statement to take the batch before: a statement
// that fails meanwhile must end that wait with its error.
func TestStreamedInsert(t *testing.T) {
	ctx := context.Background()
	w, s := thingsWarehouse(t)
	st := newStager(s, w, w.conn, 1, 100, loadArrow)
	// batch returns rows from..to-1; bad (if in range) is not UTF-8
	batch := func(from, to, bad int) arrow.Record {
		var c converter
		var rows [][]any
		for i := from; i < to; i++ {
			vd := s.check(fmt.Appendf(nil, `{"id":%d,"name":"ok"}`, i), &c)
			if vd.errs != nil {
				t.Fatal(vd.errs)
			}
			if i == bad {
				vd.row[1] = "a\xffb" // only DuckDB can refuse it
			}
			rows = append(rows, append(vd.row, int64(i)))
		}
		return buildRecord(st.sch, st.cols, rows)
	}
	query := "INSERT INTO " + stageTbl + " SELECT * FROM " + batchVw
	count := func() (n int, ids string) {
		if err := w.conn.QueryRowContext(ctx, "SELECT count(*), coalesce(string_agg(id::VARCHAR, ',' ORDER BY "+colSeq+"), '') FROM "+stageTbl).Scan(&n, &ids); err != nil {
			t.Fatal(err)
		}
		return n, ids
	}
	for _, tc := range []struct {
		name    string
		bad     int  // the row DuckDB refuses (-1: none)
		abort   bool // end the statement with abort
		cancel  bool // cancel its context after the batches
		wantErr func(error) bool
	}{
		{"every batch arrives", -1, false, false, func(err error) bool { return err == nil }},
		{"a refused value fails the statement", 25, false, false, func(err error) bool { _, data := dataError(ctx, err); return data }},
		{"aborted", -1, true, false, func(err error) bool { return errors.Is(err, errInsertAborted) }},
		{"cancelled", -1, false, true, func(err error) bool { return errors.Is(err, context.Canceled) }},
	} {
		for _, buffer := range []int64{insertBuffer, 1} {
			t.Run(fmt.Sprintf("%s/buffer %d", tc.name, buffer), func(t *testing.T) {
				tx, err := w.conn.BeginTx(ctx, nil)
				if err != nil {
					t.Fatal(err)
				}
				defer tx.Rollback()
				if err := createStage(ctx, tx, s); err != nil {
					t.Fatal(err)
				}
				sctx, cancel := context.WithCancel(ctx)
				defer cancel()
				ins := startInsertBuffered(sctx, w.conn, tx, st.sch, query, buffer)
				var sendErr error
				for b := 0; b < 5 && sendErr == nil; b++ {
					sendErr = ins.send(batch(b*10, b*10+10, tc.bad))
				}
				if tc.cancel {
					cancel()
				}
				err = ins.end(tc.abort)
				if sendErr != nil && sendErr != err {
					t.Errorf("send: %v; end: %v", sendErr, err)
				}
				if !tc.wantErr(err) {
					t.Fatalf("end: %v", err)
				}
				if err == nil {
					n, ids := count()
					want := ""
					for i := range 50 {
						want += fmt.Sprint(",", i)
					}
					if n != 50 || ids != want[1:] {
						t.Errorf("staged %d rows: %s", n, ids)
					}
					return
				}
				if err := tx.Rollback(); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}
