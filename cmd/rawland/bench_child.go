package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/rawland/rawland/state"
)

// The bench runs the steps it measures for memory (DuckDB's read_json_auto
// baseline, the transform) as child processes of this binary, so each
// step's peak RSS and CPU time are its own and not those of a process
// that also served the mock upstream and ran the steps before it. These
// hidden environment variables connect parent and child; each is ignored
// when unset or empty.
const (
	// asMainEnv makes a test binary act as rawland (see TestMain): when
	// the bench runs under `go test`, os.Executable is the test binary.
	// The rawland binary itself ignores it.
	asMainEnv = "RAWLAND_AS_MAIN"
	// cpuProfileEnv: the command writes a CPU profile of itself to this
	// file (bench --profile passes it to its transform children).
	cpuProfileEnv = "RAWLAND_CPU_PROFILE"
	// peakRSSEnv: when the command ends, rawland writes its own peak
	// resident set (VmHWM, KiB) to this file.
	//
	// Why not the child's rusage (ru_maxrss): on Linux it is never lower
	// than the parent's peak, because exec folds the high-water mark of
	// the address space it replaces (the parent's, with vfork, as os/exec
	// starts children) into the new process. VmHWM starts afresh at exec.
	peakRSSEnv = "RAWLAND_PEAK_RSS_FILE"
	// allocProfileEnv: when the command ends, rawland writes a profile of
	// the Go memory it allocated (pprof's allocs; `go tool pprof
	// -sample_index=alloc_space`) to this file.
	allocProfileEnv = "RAWLAND_ALLOC_PROFILE"
)

// childRun is what one step cost as a process of its own.
type childRun struct {
	wall time.Duration
	// cpu is the child's user + system CPU time (from wait4).
	cpu time.Duration
	// peakRSSMiB is the child's own peak RSS; 0 where not known (no /proc).
	peakRSSMiB float64
	stdout     string
}

// cpuMicrosPer is the child's CPU time per record in µs.
func (r childRun) cpuMicrosPer(records int64) float64 {
	if records <= 0 {
		return 0
	}
	return float64(r.cpu.Microseconds()) / float64(records)
}

// runStep runs this binary as `rawland [global flags] ARGS…` and waits
// for it: scratch is a directory for the child's peak-RSS file, profile a
// CPU profile file to write ("" none). The child's stderr (warnings, its
// error) goes to the bench's; its stdout is returned.
func runStep(ctx context.Context, a *app, scratch, profile string, args ...string) (childRun, error) {
	exe, err := os.Executable()
	if err != nil {
		return childRun{}, fmt.Errorf("find the rawland binary to run %s: %w", args[0], err)
	}
	rssFile := filepath.Join(scratch, "peak-rss-kib")
	if err := os.Remove(rssFile); err != nil && !os.IsNotExist(err) {
		return childRun{}, err
	}
	argv := append([]string{"--log-format", a.logFormat, "--log-level", a.logLevel}, args...)
	cmd := exec.CommandContext(ctx, exe, argv...)
	// later entries win: the bench decides the profile, not the caller's environment
	cmd.Env = append(os.Environ(), asMainEnv+"=1", peakRSSEnv+"="+rssFile, cpuProfileEnv+"="+profile)
	if args[0] == "bench-read-json" { // DuckDB alone: with the allocator it has as DuckDB
		cmd.Env = append(cmd.Env, duckdbDefaultMalloc()...)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, a.stderr
	// a stopped bench stops its child as Ctrl-C would (it rolls back and
	// releases its leases), and kills it if that takes too long
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = stopGrace + 5*time.Second
	t0 := time.Now()
	err = cmd.Run()
	r := childRun{wall: time.Since(t0), stdout: out.String()}
	if err != nil {
		return r, fmt.Errorf("rawland %s: %w\n%s", strings.Join(argv, " "), err, strings.TrimSpace(r.stdout))
	}
	r.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	if data, err := os.ReadFile(rssFile); err == nil {
		kib, _ := strconv.ParseFloat(strings.TrimSpace(string(data)), 64)
		r.peakRSSMiB = kib / 1024
	}
	return r, nil
}

// benchTransform runs `rawland transform STREAM` on the data directory
// data as a child process, exactly as a user would, and checks in store
// (that data directory's state store) that it transformed every run of the
// stream, want records in all.
func benchTransform(ctx context.Context, a *app, scratch, profile, config, data, stream string, store state.Store, want int64, rebuild bool) (childRun, error) {
	args := []string{"--config", config, "--data", data, "transform", stream}
	if rebuild {
		args = []string{"--config", config, "--data", data, "transform", "--rebuild", stream}
	}
	r, err := runStep(ctx, a, scratch, profile, args...)
	if err != nil {
		return r, err
	}
	runs, err := store.List(ctx, state.RunFilter{Stream: stream})
	if err != nil {
		return r, err
	}
	var got int64
	for _, run := range runs {
		if run.Status != state.StatusTransformed {
			return r, fmt.Errorf("after rawland transform, run %s of %s is %s, not transformed", run.ID, stream, run.Status)
		}
		got += run.Records
	}
	if got != want {
		return r, fmt.Errorf("rawland transform transformed %d runs of %d records in all, want %d records", len(runs), got, want)
	}
	return r, nil
}

// childHooks starts what the hidden environment variables ask of this
// process; the returned function, called when the command has ended,
// finishes it (stops the profile, writes the peak RSS).
func childHooks() (func(), error) {
	done := func() {}
	if path := os.Getenv(cpuProfileEnv); path != "" {
		stop, err := startProfile(path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", cpuProfileEnv, err)
		}
		done = stop
	}
	if path := os.Getenv(allocProfileEnv); path != "" {
		stop := done
		done = func() {
			stop()
			if err := writeAllocProfile(path); err != nil {
				fmt.Fprintf(os.Stderr, "rawland: %s: %v\n", allocProfileEnv, err)
			}
		}
	}
	if path := os.Getenv(peakRSSEnv); path != "" {
		stop := done
		done = func() {
			stop()
			if kib := peakRSSMiB() * 1024; kib > 0 {
				// best effort: without the file the bench reports 0 (unknown)
				_ = os.WriteFile(path, []byte(strconv.FormatFloat(kib, 'f', 0, 64)+"\n"), 0o644)
			}
		}
	}
	return done, nil
}

// writeAllocProfile writes the allocs profile (what the Go heap was asked
// for since the start, sampled) to the file path.
func writeAllocProfile(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// startProfile starts a CPU profile into the file path (its directory is
// made). The returned function stops it.
func startProfile(path string) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile %s: %w", path, err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
