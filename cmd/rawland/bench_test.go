package main

import (
	"context"
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
				"transform_records_per_s", "transform_cpu_s", "transform_cpu_us_per_record", "transform_vs_read_json_baseline"}
			rss := []string{"ingest", "read_json", "transform"}
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
		for _, want := range []string{"CPU µs/RECORD", "PEAK RSS", "rawland transform (validate, type, merge)", "as 10 runs", " MiB"} {
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
