package transform

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/rawland/rawland/state"
)

const benchSchema = `{
  "type": "object",
  "required": ["id", "updated_at"],
  "properties": {
    "id": {"type": "integer"},
    "number": {"type": "integer"},
    "title": {"type": "string"},
    "state": {"type": "string", "enum": ["open", "closed"]},
    "score": {"type": "number"},
    "locked": {"type": "boolean"},
    "created_at": {"type": "string", "format": "date-time"},
    "updated_at": {"type": "string", "format": "date-time"},
    "user": {"type": ["object", "null"], "properties": {"login": {"type": "string"}, "id": {"type": "integer"}, "site_admin": {"type": "boolean"}}},
    "labels": {"type": "array", "items": {"type": "string"}}
  }
}`

// benchRecord is a ~300-byte issue-like record; every 50th is invalid and
// every 10th is a duplicate of an earlier key.
func benchRecord(b []byte, i int) []byte {
	id := i
	if i%10 == 9 {
		id = i - 5
	}
	state := "open"
	if i%50 == 49 {
		state = "reopened" // not in the enum: quarantined
	}
	b = append(b[:0], `{"id":`...)
	b = strconv.AppendInt(b, int64(id), 10)
	b = append(b, `,"number":`...)
	b = strconv.AppendInt(b, int64(i%100000), 10)
	b = append(b, `,"title":"Issue title number `...)
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, `","state":"`...)
	b = append(b, state...)
	b = append(b, `","score":`...)
	b = strconv.AppendFloat(b, float64(i%1000)/7, 'g', -1, 64)
	b = append(b, `,"locked":false,"created_at":"2024-01-01T10:00:00Z","updated_at":"`...)
	b = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i)*time.Second).AppendFormat(b, time.RFC3339)
	b = append(b, `","user":{"login":"user`...)
	b = strconv.AppendInt(b, int64(i%977), 10)
	b = append(b, `","id":`...)
	b = strconv.AppendInt(b, int64(i%977), 10)
	b = append(b, `,"site_admin":false},"labels":["bug","p`...)
	b = strconv.AppendInt(b, int64(i%5), 10)
	b = append(b, `"],"body_html":"<p>not in the schema</p>"}`...)
	return b
}

// BenchmarkTransform transforms 1,000,000 landed records (10 runs of
// 100,000) into a fresh warehouse per iteration and reports records/s, for
// both load paths. Run it with:
//
//	go test -tags duckdb_arrow -run '^$' -bench Transform -benchtime 1x ./transform/
func BenchmarkTransform(b *testing.B) {
	const runs, perRun = 10, 100_000
	e := newEnv(b, map[string]streamSpec{"issues": {schema: benchSchema, cursor: "updated_at"}})
	e.rollBytes = 64 << 20
	e.cfg.Transform.BatchSize = 10_000
	for r := 0; r < runs; r++ {
		e.landFunc("issues", state.KindIngest, func(write func([]byte) error) error {
			var buf []byte
			for i := r * perRun; i < (r+1)*perRun; i++ {
				buf = benchRecord(buf, i)
				if err := write(buf); err != nil {
					return err
				}
			}
			return nil
		})
	}
	for _, mode := range []struct {
		name string
		mode loadMode
	}{{"arrow", loadArrow}, {"appender", loadAppender}} {
		b.Run(mode.name, func(b *testing.B) {
			var total int64
			for n := 0; n < b.N; n++ {
				o := e.options()
				o.mode = mode.mode
				o.Warehouse = filepath.Join(b.TempDir(), "w.duckdb")
				rep, err := Run(context.Background(), o)
				if err != nil {
					b.Fatal(err)
				}
				t := rep.Streams[0].Totals()
				if t.Records != runs*perRun || t.Quarantined != runs*perRun/50 {
					b.Fatalf("totals %+v", t)
				}
				total += t.Records
			}
			b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// BenchmarkLoad measures only the load path: 200,000 converted rows into
// the staging table, as Arrow record batches or through the Appender.
func BenchmarkLoad(b *testing.B) {
	e := newEnv(b, map[string]streamSpec{"issues": {schema: benchSchema, cursor: "updated_at"}})
	s := e.schemas["issues"]
	const rows, batch = 200_000, 10_000
	var batches [][][]any
	var c converter
	var buf []byte
	for i := 0; i < rows; i += batch {
		var bt [][]any
		for j := i; j < i+batch; j++ {
			buf = benchRecord(buf, j*50) // all valid
			vd := s.check(buf, &c)
			if vd.row == nil {
				b.Fatalf("record %d invalid: %v", j, vd.errs)
			}
			bt = append(bt, append(vd.row, int64(j)))
		}
		batches = append(batches, bt)
	}
	for _, mode := range []struct {
		name string
		mode loadMode
	}{{"arrow", loadArrow}, {"appender", loadAppender}} {
		b.Run(mode.name, func(b *testing.B) {
			ctx := context.Background()
			w, err := openWarehouse(ctx, filepath.Join(b.TempDir(), "w.duckdb"), false, time.Second, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer w.close()
			b.ResetTimer()
			for n := 0; n < b.N; n++ {
				err := w.inTx(ctx, func(tx *sql.Tx) error {
					if err := createStage(ctx, tx, s); err != nil {
						return err
					}
					st := newStager(s, w, tx, 1, batch, mode.mode)
					for _, bt := range batches {
						out := &batchOut{}
						if mode.mode == loadArrow {
							out.rec = buildRecord(st.sch, st.cols, bt) // built by the workers in a transform
						} else {
							for _, r := range bt {
								out.drows = append(out.drows, driverRow(st.cols, r))
							}
						}
						if err := st.load(ctx, out); err != nil {
							return err
						}
						out.release()
					}
					if err := st.app.close(); err != nil {
						return err
					}
					var got int
					if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM "+stageTbl).Scan(&got); err != nil || got != rows {
						return fmt.Errorf("staged %d rows: %v", got, err)
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
