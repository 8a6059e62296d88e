package main

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"

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
	fmt.Fprintf(a.stdout, "rawland demo: mock upstream %s, %d records per stream, data in %s\n\n", url, *size, data)

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
	fmt.Fprintf(a.stdout, "\nTry: rawland --config %s status\n     rawland --config %s runs\n", cfgPath, cfgPath)
	return nil
}
