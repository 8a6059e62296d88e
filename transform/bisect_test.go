package transform

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestBisectRefusedRows hands the loader a batch in which DuckDB refuses
// some rows (strings that are not UTF-8, which the record checks would
// have caught earlier): the batch is bisected, each refused row is
// quarantined with DuckDB's message, the others are staged. A cancelled
// context is not a data error: it fails the load and quarantines nothing.
func TestBisectRefusedRows(t *testing.T) {
	ctx := context.Background()
	w, s := thingsWarehouse(t)
	bad := map[int]bool{0: true, 5: true, 6: true, 9: true}
	batch := func() *batchOut {
		st := newStager(s, w, w.conn, 1, 100, loadArrow)
		var c converter
		out := &batchOut{n: 10}
		var rows [][]any
		for i := range 10 {
			raw := `{"id":` + string(rune('0'+i)) + `,"name":"ok"}`
			vd := s.check([]byte(raw), &c)
			if vd.errs != nil {
				t.Fatal(vd.errs)
			}
			if bad[i] {
				vd.row[1] = "a\xffb" // bypasses the checks: only DuckDB can refuse it now
			}
			rows = append(rows, append(vd.row, int64(i+1)))
			out.valid = append(out.valid, rawRec{file: "f", line: i + 1, seq: int64(i + 1), data: []byte(raw)})
		}
		out.rec = buildRecord(st.sch, st.cols, rows)
		return out
	}
	for _, tc := range []struct {
		name      string
		cancelled bool
	}{{"data errors are quarantined", false}, {"a cancelled load fails", true}} {
		t.Run(tc.name, func(t *testing.T) {
			if err := createStage(ctx, w.conn, s); err != nil {
				t.Fatal(err)
			}
			st := newStager(s, w, w.conn, 1, 100, loadArrow)
			out := batch()
			defer out.release()
			lctx := ctx
			if tc.cancelled {
				c, cancel := context.WithCancel(ctx)
				cancel()
				lctx = c
			}
			err := st.loadArrow(lctx, out)
			if tc.cancelled {
				if !errors.Is(err, context.Canceled) || len(out.quar) != 0 {
					t.Fatalf("err %v, %d quarantined; want context.Canceled and none", err, len(out.quar))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var lines []int
			for _, q := range out.quar {
				lines = append(lines, q.line)
				if len(q.errs) != 1 || !strings.Contains(q.errs[0].Reason, "DuckDB refused the record") || !strings.Contains(q.errs[0].Reason, "unicode") {
					t.Errorf("line %d: %v", q.line, q.errs)
				}
				if q.keys[0] == nil {
					t.Errorf("line %d: key not read", q.line)
				}
			}
			if len(lines) != 4 || lines[0] != 1 || lines[1] != 6 || lines[2] != 7 || lines[3] != 10 {
				t.Errorf("quarantined lines %v, want [1 6 7 10]", lines)
			}
			if len(out.valid) != 6 {
				t.Errorf("%d valid, want 6", len(out.valid))
			}
			var n int
			if err := w.conn.QueryRowContext(ctx, "SELECT count(*) FROM "+stageTbl+" WHERE name = 'ok'").Scan(&n); err != nil || n != 6 {
				t.Errorf("staged %d (%v), want 6", n, err)
			}
		})
	}
}

// thingsWarehouse opens a warehouse for writing in a new test environment
// with one stream, things (id integer, name string); the test closes it.
func thingsWarehouse(t *testing.T) (*warehouse, *Schema) {
	t.Helper()
	e := newEnv(t, map[string]streamSpec{"things": {schema: `{"type": "object", "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}}`}})
	o, err := e.options().withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	w, err := openForWrite(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.close() })
	return w, e.schemas["things"]
}
