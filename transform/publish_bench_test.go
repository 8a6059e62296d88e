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

// BenchmarkPublish measures what a small run costs the warehouse against
// the warehouse's size:
//
//	go test -tags duckdb_arrow -run '^$' -bench Publish -benchtime 3x -timeout 60m ./transform/
//
// Each size is built once (a 10-column table, ~100 bytes a row before
// compression, plus a run-history table). Every iteration is one run:
//
//   - prepare_s, prepare_MB: preparing the working database from the
//     previous snapshot (the delta the publish recorded written into it;
//     MB written), as the run's first write session does. It starts after
//     snapshotGrace has passed since the publish, as it does when runs are
//     minutes apart. prepare_cold_s is one more preparation after evicting
//     both snapshots from the page cache (posix_fadvise DONTNEED).
//   - transform_s: the run's change: 3,000 rows spread over the table
//     replaced (delete + insert, as the merge does), 2,000 rows appended,
//     a run-history row, and the checkpoint.
//   - publish_s, delta_MB: the publish (fsync; reading the working
//     database and the snapshot it replaces to record the pages that
//     differ, the delta file's size; seal, links, renames, manifest). The
//     working database is in the page cache (just written), the snapshot
//     too (recently used); publish_cold_s is one more publish after
//     evicting the snapshot it replaces.
//   - fullcopy_s: what the publish cost before: copying the whole file
//     (a reflink clone where the filesystem has them) and fsyncing it.
//
// ns/op times the publish alone (page cache warm).
func BenchmarkPublish(b *testing.B) {
	for _, c := range []struct {
		name string
		rows int
	}{
		{"100MB_2.5M_rows", 2_500_000},
		{"400MB_10M_rows", 10_000_000},
		{"1GB_25M_rows", 25_000_000},
	} {
		b.Run(c.name, func(b *testing.B) {
			if c.rows > 2_500_000 && testing.Short() {
				b.Skip("-short")
			}
			dir := b.TempDir()
			lay := layoutOf(filepath.Join(dir, "warehouse.duckdb"))
			os.MkdirAll(lay.dir, 0o755)
			log := slog.New(slog.DiscardHandler)
			ctx := context.Background()
			benchExec(b, lay.work, fmt.Sprintf(`CREATE TABLE t AS SELECT %s FROM range(%d);
				CREATE TABLE runs(run_id VARCHAR, rows BIGINT, report JSON)`, benchCols, c.rows))
			if err := publish(ctx, lay, nil, time.Now(), log); err != nil {
				b.Fatal(err)
			}
			next := int64(c.rows)
			run := func(i int, cold bool) (p prepared, transform, fullCopy, pub time.Duration, delta int64) {
				time.Sleep(snapshotGrace)
				if cold {
					dropCache(lay.reader)
					dropCache(lay.prev)
				}
				start := time.Now()
				pr, err := ensureWork(ctx, lay, log, false)
				if err != nil {
					b.Fatal(err)
				}
				p = pr
				start = time.Now()
				benchExec(b, lay.work, fmt.Sprintf(`
					CREATE TEMP TABLE m AS SELECT * FROM t WHERE id %% %d = %d;
					UPDATE m SET a = a + 1, s = md5(s);
					DELETE FROM t USING m WHERE t.id = m.id;
					INSERT INTO t SELECT * FROM m;
					INSERT INTO t SELECT %s FROM range(%d, %d);
					INSERT INTO runs VALUES ('run%d', 5000, '{"inserted": 2000, "updated": 3000}');
					CHECKPOINT`, c.rows/3000, i, benchCols, next, next+2000, i))
				next += 2000
				transform = time.Since(start)
				start = time.Now()
				if _, err := cloneFile(lay.work, filepath.Join(dir, "fullcopy")); err != nil {
					b.Fatal(err)
				}
				fullCopy = time.Since(start)
				os.Remove(filepath.Join(dir, "fullcopy"))
				if cold {
					dropCache(lay.reader)
				} else {
					b.StartTimer()
				}
				start = time.Now()
				if err := publish(ctx, lay, nil, time.Now(), log); err != nil {
					b.Fatal(err)
				}
				pub = time.Since(start)
				b.StopTimer()
				if st, err := os.Stat(lay.delta); err == nil {
					delta = st.Size()
				}
				return
			}
			b.StopTimer()
			first, _, _, _, _ := run(-1, false) // no previous snapshot yet: a copy
			var sum struct {
				prepare, transform, fullCopy, publish time.Duration
				written, delta                        int64
				methods                               map[string]int
			}
			sum.methods = map[string]int{}
			b.ResetTimer()
			b.StopTimer()
			for i := 0; i < b.N; i++ {
				p, tr, fc, pub, delta := run(i, false)
				sum.delta += delta
				sum.prepare += time.Duration(p.Seconds * float64(time.Second))
				sum.written += p.Written
				sum.methods[p.Method]++
				sum.transform += tr
				sum.fullCopy += fc
				sum.publish += pub
			}
			cold, _, _, coldPub, _ := run(b.N, true)
			n := float64(b.N)
			st, _ := os.Stat(lay.reader)
			b.ReportMetric(float64(st.Size())/(1<<20), "MB")
			b.ReportMetric(sum.publish.Seconds()/n, "publish_s")
			b.ReportMetric(float64(sum.delta)/n/(1<<20), "delta_MB")
			b.ReportMetric(coldPub.Seconds(), "publish_cold_s")
			b.ReportMetric(sum.prepare.Seconds()/n, "prepare_s")
			b.ReportMetric(float64(sum.written)/n/(1<<20), "prepare_MB")
			b.ReportMetric(cold.Seconds, "prepare_cold_s")
			b.ReportMetric(sum.transform.Seconds()/n, "transform_s")
			b.ReportMetric(sum.fullCopy.Seconds()/n, "fullcopy_s")
			b.Logf("%s: %.0f MB; first preparation (no previous snapshot) %s %.2fs; then %v; from disk %s %.2fs", c.name,
				float64(st.Size())/(1<<20), first.Method, first.Seconds, sum.methods, cold.Method, cold.Seconds)
		})
	}
}

// benchCols are the benchmark table's columns, over range.
const benchCols = `range AS id, md5(range::VARCHAR) AS s, range % 1000 AS a, (range * 7) % 9973 AS b,
	range::DOUBLE / 3 AS c, TIMESTAMP '2026-01-01' - to_seconds(range) AS ts, 'status_' || (range % 17) AS st,
	range % 2 = 0 AS f, hash(range) AS h, left(md5((range * 3)::VARCHAR), 12) AS k`

func benchExec(b *testing.B, path, q string) {
	b.Helper()
	c, err := duckdb.NewConnector(path, nil)
	if err != nil {
		b.Fatal(err)
	}
	db := sql.OpenDB(c)
	defer db.Close()
	if _, err := db.Exec(q); err != nil {
		b.Fatal(err)
	}
}
