package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/rawland/rawland/internal/report"
	"github.com/rawland/rawland/state"
)

func init() {
	register(&command{
		name:        "report",
		usage:       "[--out FILE] [--days N]",
		summary:     "write one self-contained HTML page: records per run, quarantine rate, freshness, outcomes, drift, reconciles",
		needsConfig: true,
		help: "The page (default DATA/report.html) has inline SVG charts and no script or network\n" +
			"reference: open it in any browser, attach it to a ticket, or publish it as is.",
		run: runReport,
	})
}

func runReport(ctx context.Context, a *app, args []string) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	out := fs.String("out", "", "write the page here (default DATA/report.html; - for stdout)")
	days := fs.Int("days", 30, "show runs of the last N days (0 = all)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("report takes no arguments")
	}
	if *days < 0 {
		return usagef("--days must be 0 (all) or more")
	}
	store, err := a.readStore(ctx)
	if err != nil {
		return err
	}
	runs, err := store.List(ctx, state.RunFilter{})
	if err != nil {
		return err
	}
	now := time.Now()
	if *days > 0 {
		since := now.AddDate(0, 0, -*days)
		kept := runs[:0]
		for _, r := range runs {
			if r.StartedAt.After(since) {
				kept = append(kept, r)
			}
		}
		runs = kept
	}
	d := report.Data{Title: a.cfg.Path, Runs: runs, Now: now}
	if *out == "-" {
		return report.Write(a.stdout, d)
	}
	path := *out
	if path == "" {
		path = filepath.Join(a.dataDir(), "report.html")
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".report-*.html")
	if err != nil {
		return fmt.Errorf("write the report next to %s: %w", path, err)
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return err
	}
	if err := report.Write(f, d); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "wrote %s (%d runs); open it in a browser\n", path, len(runs))
	return nil
}
