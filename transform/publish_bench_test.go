package transform

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// BenchmarkPublish measures a publish (copy or reflink clone of the
// working database, fsync, rename) against the warehouse's size, and, for
// the choice of design, exporting the same tables to Parquet instead:
//
//	go test -tags duckdb_arrow -run '^$' -bench Publish -benchtime 3x ./transform/
//
// Each size is built once (rows of a 10-column table, ~100 bytes each
// before compression); every iteration changes one row first (not timed),
// so that the publish has something to publish. Figures: publish_s (per
// publish), MB (the file), parquet_s (COPY of every table to Parquet, the
// alternative design), update10k_s (10,000 rows spread over the table
// updated and checkpointed: the cost of a run that touches them, for
// comparison).
func BenchmarkPublish(b *testing.B) {
	for _, c := range []struct {
		name string
		rows int
	}{
		{"1M_rows", 1_000_000},   // ~40 MB
		{"2.5M_rows", 2_500_000}, // ~100 MB
		{"10M_rows", 10_000_000}, // ~410 MB
		{"30M_rows", 30_000_000}, // ~1.2 GB
	} {
		b.Run(c.name, func(b *testing.B) {
			if c.rows > 1_000_000 && testing.Short() {
				b.Skip("-short")
			}
			dir := b.TempDir()
			lay := layoutOf(filepath.Join(dir, "warehouse.duckdb"))
			os.MkdirAll(lay.dir, 0o755)
			db := benchOpen(b, lay.work)
			if _, err := db.Exec(fmt.Sprintf(`CREATE TABLE t AS SELECT range AS id, md5(range::VARCHAR) AS s,
				range %% 1000 AS a, (range * 7) %% 9973 AS b, range::DOUBLE / 3 AS c, now() - to_seconds(range) AS ts,
				'status_' || (range %% 17) AS st, range %% 2 = 0 AS f, hash(range) AS h, left(md5((range*3)::VARCHAR), 12) AS k
				FROM range(%d)`, c.rows)); err != nil {
				b.Fatal(err)
			}
			db.Close()
			st, _ := os.Stat(lay.work)
			mb := float64(st.Size()) / (1 << 20)
			log := slog.New(slog.DiscardHandler)
			var publishTotal, mergeTotal time.Duration
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				db := benchOpen(b, lay.work)
				start := time.Now()
				if _, err := db.Exec(fmt.Sprintf(`UPDATE t SET a = a + 1 WHERE id %% %d = %d`, c.rows/10_000, i)); err != nil {
					b.Fatal(err)
				}
				db.Close() // checkpoints, as publishAndClose does
				mergeTotal += time.Since(start)
				b.StartTimer()
				start = time.Now()
				if err := publish(context.Background(), lay, nil, time.Now(), log); err != nil {
					b.Fatal(err)
				}
				publishTotal += time.Since(start)
			}
			n := float64(b.N)
			b.ReportMetric(publishTotal.Seconds()/n, "publish_s")
			b.ReportMetric(mergeTotal.Seconds()/n, "update10k_s")
			b.ReportMetric(mb, "MB")
			db = benchOpen(b, lay.work)
			start := time.Now()
			if _, err := db.Exec(fmt.Sprintf(`COPY t TO '%s' (FORMAT parquet)`, filepath.Join(dir, "t.parquet"))); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(time.Since(start).Seconds(), "parquet_s")
			db.Close()
			m, err := readManifest(lay.manifest)
			if err == nil {
				b.Logf("%s: %.0f MB, method %s", c.name, mb, m.Method)
			}
		})
	}
}

func benchOpen(b testing.TB, path string) *sql.DB {
	c, err := duckdb.NewConnector(path, nil)
	if err != nil {
		b.Fatal(err)
	}
	return sql.OpenDB(c)
}
