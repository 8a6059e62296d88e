package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/rawland/rawland/config"
	"github.com/rawland/rawland/mockapi"
	"github.com/rawland/rawland/state"
)

func init() {
	register(&command{
		name:    "demo",
		usage:   "[--size N] [--seed N]",
		summary: "start the mock upstream on loopback and run the whole pipeline on it into --data; print a summary and example queries",
		run:     runDemo,
	})
}

func runDemo(ctx context.Context, a *app, args []string) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	size := fs.Int("size", 2000, "records per mock stream")
	seed := fs.Int64("seed", 1, "mock data seed")
	if pos, err := parseFlags(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usagef("demo takes no arguments")
	}
	if err := a.quietLogs(); err != nil {
		return err
	}
	data, err := filepath.Abs(a.dataDir())
	if err != nil {
		return err
	}
	fresh, err := freshDemoData(data)
	if err != nil {
		return err
	}
	mock := mockapi.New(mockapi.Options{Seed: *seed, Size: *size, Drift: 0.02})
	url, stop, err := a.serveMock(mock)
	if err != nil {
		return err
	}
	defer stop()
	// the demo's project: config (with an absolute data_dir, so that the
	// printed commands work from anywhere) and schemas for this mock
	cfgPath, err := writeMockProject(filepath.Join(data, "demo"), mock, url, data)
	if err != nil {
		return err
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return err
	}
	cfg.DataDir = data
	a.cfg, a.dataFlag = cfg, data
	fmt.Fprintf(a.stdout, "rawland demo: mock upstream %s, %d records per stream, data in %s\n", url, *size, data)
	if fresh != "" {
		fmt.Fprintf(a.stdout, "(%s)\n", fresh)
	}
	if err := markDemoData(data); err != nil {
		return err
	}
	fmt.Fprintln(a.stdout)

	streams, _ := cfg.Select(nil)
	fmt.Fprintln(a.stdout, "== ingest (first run: everything since the configured start)")
	results, err := a.ingestStreams(ctx, streams, state.KindIngest, 4)
	if err != nil {
		return err
	}
	if err := summarize(a, results); err != nil {
		return err
	}
	mock.Advance(*size / 20)
	fmt.Fprintf(a.stdout, "\n== the upstream changes %d records; ingest again (incremental: only what changed, plus the look-back window)\n", *size/20)
	results, err = a.ingestStreams(ctx, streams, state.KindIngest, 4)
	if err != nil {
		return err
	}
	if err := summarize(a, results); err != nil {
		return err
	}
	if err := demoTransform(ctx, a); err != nil {
		return err
	}
	mock.Backdate(*size / 100)
	mock.Delete(*size / 100)
	fmt.Fprintf(a.stdout, "\n== the upstream backdates %d updates and hard-deletes %d records (invisible to incremental runs); reconcile reads the full listing\n", *size/100, *size/100)
	if err := a.reconcileStreams(ctx, streams, 4); err != nil {
		return err
	}
	if err := demoQueries(ctx, a); err != nil {
		return err
	}
	prog := selfCommand()
	fmt.Fprintf(a.stdout, "\nTry (the mock upstream has stopped; these read what landed):\n  %[1]s --config %[2]s status\n  %[1]s --config %[2]s runs\n  %[1]s --config %[2]s sql \"SELECT status, count(*) FROM users GROUP BY 1\"\n", prog, cfgPath)
	return nil
}

// demoMarker marks a data directory the demo made, so that a second demo
// may clear it (and only it).
const demoMarker = ".rawland-demo"

// freshDemoData makes the demo's data directory empty, so that every demo
// tells the true first-run story. A directory an earlier demo made is
// cleared; one holding anything else is refused (exit 2), never wiped.
// It returns a note for the user ("" when there was nothing to clear).
func freshDemoData(data string) (string, error) {
	entries, err := os.ReadDir(data)
	entries = slices.DeleteFunc(entries, func(e os.DirEntry) bool { return e.Name() == ".gitkeep" })
	if errors.Is(err, os.ErrNotExist) || (err == nil && len(entries) == 0) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read the demo's data directory: %w", err)
	}
	if _, err := os.Stat(filepath.Join(data, demoMarker)); err != nil {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		return "", usagef("%s already holds %s and was not made by the demo: the demo needs an empty directory; pass --data DIR", data, strings.Join(names, ", "))
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(data, e.Name())); err != nil {
			return "", fmt.Errorf("clear the previous demo's data: %w", err)
		}
	}
	return "cleared the previous demo's data: this is a first run again", nil
}

func markDemoData(data string) error {
	if err := os.MkdirAll(data, 0o755); err != nil {
		return fmt.Errorf("create the demo's data directory: %w", err)
	}
	return os.WriteFile(filepath.Join(data, demoMarker), []byte("made by rawland demo; the next demo clears this directory\n"), 0o644)
}

// selfCommand is how the user can run this program again: the path it was
// started as, unless that is a temporary `go run` build, which is gone by
// the time the user types the command.
func selfCommand() string {
	exe, err := os.Executable()
	if err != nil || strings.Contains(exe, string(filepath.Separator)+"go-build") || strings.HasSuffix(exe, ".test") {
		return "go run -tags duckdb_arrow ./cmd/rawland"
	}
	if rel, err := filepath.Rel(mustGetwd(), exe); err == nil && !strings.HasPrefix(rel, "..") {
		return "." + string(filepath.Separator) + rel
	}
	return exe
}

func mustGetwd() string {
	wd, _ := os.Getwd()
	return wd
}
