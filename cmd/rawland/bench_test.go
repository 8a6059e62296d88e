package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
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
