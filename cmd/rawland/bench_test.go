package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestBenchJSON runs small benches through the CLI: read_json_auto and
// the transforms run as child processes (the test binary acting as
// rawland, see TestMain), which must have loaded every record (the bench
// fails otherwise) and reported their own CPU time and peak RSS.
func TestBenchJSON(t *testing.T) {
	for _, tc := range []struct {
		stream string
		runs   int
	}{{"users", 10}, {"orders", 1}} {
		t.Run(tc.stream, func(t *testing.T) {
			args := []string{"bench", "--size", "2000", "--stream", tc.stream, "--json"}
			if tc.runs > 1 {
				args = append(args, "--runs", "10")
			} else {
				args = append(args, "--repeat", "3")
			}
			out := mustRun(t, t.TempDir(), args...)
			var f map[string]any
			if err := json.Unmarshal([]byte(out), &f); err != nil {
				t.Fatalf("bench --json: %v\n%s", err, out)
			}
			if f["records"] != 2000.0 {
				t.Errorf("records = %v, want 2000", f["records"])
			}
			positive := []string{"fetch_baseline_records_per_s", "ingest_records_per_s", "ingest_vs_fetch_baseline",
				"duckdb_read_json_records_per_s", "duckdb_read_json_cpu_s", "duckdb_read_json_cpu_us_per_record",
				"transform_records_per_s", "transform_cpu_s", "transform_cpu_us_per_record", "transform_vs_read_json_baseline",
				"duckdb_durable_read_json_records_per_s", "duckdb_durable_read_json_cpu_us_per_record", "transform_vs_durable_read_json_baseline"}
			rss := []string{"ingest", "read_json", "durable_read_json", "transform"}
			if tc.runs > 1 {
				if f["runs"] != 10.0 {
					t.Errorf("runs = %v, want 10", f["runs"])
				}
				positive = append(positive, "transform_runs_records_per_s", "transform_runs_cpu_s", "transform_runs_cpu_us_per_record", "transform_runs_vs_one_run")
				rss = append(rss, "transform_runs")
			} else if _, ok := f["runs"]; ok {
				t.Errorf("runs = %v without --runs", f["runs"])
			}
			if tc.runs > 1 {
				if _, ok := f["repeat"]; ok {
					t.Errorf("repeat = %v without --repeat", f["repeat"])
				}
			} else {
				// --repeat 3: three pairs, and the ratio is their median
				pairs, _ := f["transform_vs_read_json_pairs"].([]any)
				var xs []float64
				for _, p := range pairs {
					if x, ok := p.(float64); ok && x > 0 {
						xs = append(xs, x)
					}
				}
				if f["repeat"] != 3.0 || len(xs) != 3 {
					t.Fatalf("repeat = %v, pairs = %v: want 3 positive ratios", f["repeat"], f["transform_vs_read_json_pairs"])
				}
				slices.Sort(xs)
				if r, _ := f["transform_vs_read_json_baseline"].(float64); math.Abs(r-xs[1]) > 1e-9*xs[1] {
					t.Errorf("transform_vs_read_json_baseline = %v, want the pairs' median %v", f["transform_vs_read_json_baseline"], xs[1])
				}
			}
			for _, k := range positive {
				if v, ok := f[k].(float64); !ok || v <= 0 {
					t.Errorf("%s = %v", k, f[k])
				}
			}
			if f["fast_validator"] != true {
				t.Errorf("fast_validator = %v: the mock's %s schema should take the fast path", f["fast_validator"], tc.stream)
			}
			peaks, _ := f["peak_rss_mib"].(map[string]any)
			for _, k := range rss {
				v, ok := peaks[k].(float64)
				if !ok || v < 0 || (runtime.GOOS == "linux" && v == 0) {
					t.Errorf("peak_rss_mib.%s = %v", k, peaks[k])
				}
			}
		})
	}
	t.Run("text", func(t *testing.T) {
		out := mustRun(t, t.TempDir(), "bench", "--size", "2000", "--runs", "10")
		for _, want := range []string{"CPU µs/RECORD", "PEAK RSS", "rawland transform (validate, type, merge)", "as 10 runs", " MiB",
			"into a DuckDB file", "÷ the DuckDB-file baseline"} {
			if !strings.Contains(out, want) {
				t.Errorf("bench output lacks %q:\n%s", want, out)
			}
		}
	})
	if code, out, errOut := rawland(t, t.TempDir(), "bench", "--size", "10", "--runs", "11"); code != 2 {
		t.Errorf("bench --runs beyond --size: exit %d, want 2\n%s%s", code, out, errOut)
	}
	if code, out, errOut := rawland(t, t.TempDir(), "bench", "--size", "10", "--repeat", "0"); code != 2 || !strings.Contains(errOut, "--repeat") {
		t.Errorf("bench --repeat 0: exit %d, want 2 and a message naming --repeat\n%s%s", code, out, errOut)
	}
}

// TestStepPeakRSSIsTheChilds: a step's peak RSS is the child's own, not
// at least the parent's as the child's rusage (ru_maxrss) would be on
// Linux, and a step writes the CPU profile it is given.
func TestStepPeakRSSIsTheChilds(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("peak RSS is read from /proc (Linux)")
	}
	const parentMiB = 384
	big := make([]byte, parentMiB<<20)
	for i := 0; i < len(big); i += 4096 {
		big[i] = 1 // resident
	}
	if peakRSSMiB() < parentMiB {
		t.Fatalf("the test process's peak is %.0f MiB after touching %d MiB", peakRSSMiB(), parentMiB)
	}
	dir := t.TempDir()
	prof := filepath.Join(dir, "prof", "version.pprof")
	a := &app{stdout: discard{}, stderr: discard{}, logFormat: "text", logLevel: "warn"}
	r, err := runStep(context.Background(), a, dir, prof, "version")
	runtime.KeepAlive(big)
	if err != nil {
		t.Fatal(err)
	}
	if r.peakRSSMiB <= 0 || r.peakRSSMiB >= parentMiB/2 {
		t.Errorf("rawland version's peak RSS = %.0f MiB with a parent of %d MiB: want the child's own", r.peakRSSMiB, parentMiB)
	}
	if !strings.HasPrefix(r.stdout, "rawland ") {
		t.Errorf("rawland version printed %q", r.stdout)
	}
	if st, err := os.Stat(prof); err != nil || st.Size() == 0 {
		t.Errorf("no CPU profile from the step: %v", err)
	}
}

// TestBenchMedians: --repeat reports the median wall and CPU time of the
// N runs (the lower middle for an even N) and the highest peak RSS.
func TestBenchMedians(t *testing.T) {
	if got := median([]float64{0.9, 0.3, 0.5}); got != 0.5 {
		t.Errorf("median of 0.9, 0.3, 0.5 = %v, want 0.5", got)
	}
	if got := median([]float64{4, 1, 3, 2}); got != 2.5 {
		t.Errorf("median of 4, 1, 3, 2 = %v, want 2.5", got)
	}
	xs := []float64{3, 1, 2}
	median(xs)
	if xs[0] != 3 || xs[1] != 1 {
		t.Errorf("median sorted its argument: %v", xs)
	}
	s := time.Second
	runs := []childRun{{wall: 5 * s, cpu: 1 * s, peakRSSMiB: 100}, {wall: 2 * s, cpu: 9 * s, peakRSSMiB: 300}, {wall: 7 * s, cpu: 4 * s, peakRSSMiB: 200}, {wall: 3 * s, cpu: 2 * s, peakRSSMiB: 50}}
	m := medianRun(runs)
	if m.wall != 3*s || m.cpu != 2*s || m.peakRSSMiB != 300 {
		t.Errorf("medianRun = wall %v, cpu %v, peak %v MiB; want 3s, 2s, 300 MiB", m.wall, m.cpu, m.peakRSSMiB)
	}
}

// TestBenchDurableBaseline: bench-read-json with --columns and --file
// types the records with the given columns into a table of the DuckDB
// file (what the bench's durable baseline measures), and with one of the
// two flags alone it is a usage error.
func TestBenchDurableBaseline(t *testing.T) {
	dir := t.TempDir()
	lines := `{"id":1,"name":"a","at":"2024-01-02T03:04:05Z","p":{"x":[1,2]},"extra":true}` + "\n" +
		`{"id":2,"name":null,"at":"2024-01-02T03:04:06.5+01:00","p":{"x":[]}}` + "\n"
	if err := os.WriteFile(filepath.Join(dir, "part-00001.jsonl"), []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "floor.duckdb")
	cols := `{'id': 'BIGINT', 'name': 'VARCHAR', 'at': 'TIMESTAMP WITH TIME ZONE', 'p': 'STRUCT(x BIGINT[])'}`
	out := mustRun(t, dir, "bench-read-json", "--columns", cols, "--file", db, "--memory-limit", "128MiB", filepath.Join(dir, "*.jsonl"))
	if strings.TrimSpace(out) != "2" {
		t.Fatalf("bench-read-json printed %q, want 2", out)
	}
	conn, err := sql.Open("duckdb", db+"?access_mode=read_only")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var types []string
	rows, err := conn.Query("SELECT column_name || ' ' || data_type FROM duckdb_columns() WHERE table_name = 't' ORDER BY column_index")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		types = append(types, s)
	}
	rows.Close()
	want := []string{"id BIGINT", "name VARCHAR", "at TIMESTAMP WITH TIME ZONE", "p STRUCT(x BIGINT[])"}
	if !slices.Equal(types, want) {
		t.Errorf("the durable baseline's table has %v, want %v", types, want)
	}
	var same bool
	if err := conn.QueryRow(`SELECT "at" = TIMESTAMPTZ '2024-01-02 02:04:06.5+00' FROM t WHERE id = 2`).Scan(&same); err != nil || !same {
		t.Errorf("typed value: equal to 02:04:06.5 UTC = %v, %v", same, err)
	}
	if code, _, errOut := rawland(t, dir, "bench-read-json", "--file", db, filepath.Join(dir, "*.jsonl")); code != 2 || !strings.Contains(errOut, "--columns") {
		t.Errorf("--file without --columns: exit %d, want 2 and a message naming --columns\n%s", code, errOut)
	}
}
