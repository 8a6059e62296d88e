package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/rawland/rawland/mockapi"
)

func init() {
	register(&command{
		name:    "mockapi",
		usage:   "[--addr 127.0.0.1:8080] [--seed N] [--size N] [--print-config] [--init DIR [--force]] [fault switches: --error-rate, --quota, --latency, … see -h]",
		summary: "serve the built-in mock upstream alone",
		run:     runMockAPI,
	})
}

func runMockAPI(ctx context.Context, a *app, args []string) error {
	fs := flag.NewFlagSet("mockapi", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address")
	seed := fs.Int64("seed", 1, "data seed")
	size := fs.Int("size", 1000, "records per stream")
	printCfg := fs.Bool("print-config", false, "print a rawland.yaml for this server and exit")
	initDir := fs.String("init", "", "write DIR/rawland.yaml and DIR/schemas/*.json for this server and exit")
	force := fs.Bool("force", false, "with --init: overwrite files that exist")
	// fault switches, to watch rawland's resilience from the command line
	var f mockapi.Faults
	fs.Float64Var(&f.ErrorRate, "error-rate", 0, "fraction of requests answered 503 or 429 with Retry-After")
	fs.DurationVar(&f.RetryAfter, "retry-after", time.Second, "the Retry-After those answers carry")
	fs.IntVar(&f.Quota, "quota", 0, "requests per --quota-window, announced in X-RateLimit-* and RateLimit headers (0 = none)")
	fs.DurationVar(&f.QuotaWindow, "quota-window", time.Minute, "the quota's window")
	fs.IntVar(&f.DisableAfter, "disable-after", 0, "disable the credential after this many requests beyond the quota (0 = never)")
	fs.DurationVar(&f.Latency, "latency", 0, "added latency per request")
	fs.DurationVar(&f.Jitter, "jitter", 0, "random extra latency up to this")
	fs.IntVar(&f.SpikeEvery, "spike-every", 0, "every Nth request sleeps --spike-latency")
	fs.DurationVar(&f.SpikeLatency, "spike-latency", 2*time.Second, "latency of a spike")
	fs.Float64Var(&f.ResetRate, "reset-rate", 0, "fraction of connections reset")
	fs.Float64Var(&f.TruncateRate, "truncate-rate", 0, "fraction of bodies cut short")
	fs.Float64Var(&f.HTMLErrorRate, "html-error-rate", 0, "fraction of requests answered with an HTML 500/502 page")
	fs.DurationVar(&f.DeltaDeadline, "delta-deadline", 2*time.Minute, "listed delta-queue IDs not cleared within this are queued again")
	drift := fs.Float64("drift", 0, "fraction of users records whose status enum value is renamed")
	token := fs.Bool("token", false, "require a bearer token, read from $"+mockapi.TokenEnv)
	if pos, err := parseFlags(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usagef("mockapi takes no arguments")
	}
	opts := mockapi.Options{Seed: *seed, Size: *size, Faults: f, Drift: *drift}
	if *token {
		if opts.Token = os.Getenv(mockapi.TokenEnv); opts.Token == "" {
			return usagef("--token needs the token in $%s", mockapi.TokenEnv)
		}
	}
	if *initDir != "" {
		mock := mockapi.New(opts)
		if !*force {
			if err := refuseOverwrite(projectFiles(*initDir, mock)...); err != nil {
				return err
			}
		}
		if _, err := writeMockProject(*initDir, mock, "http://"+*addr, ""); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "wrote %s and %s for the mock upstream on http://%s\n", filepath.Join(*initDir, "rawland.yaml"), filepath.Join(*initDir, "schemas"), *addr)
		return nil
	}
	if *printCfg {
		fmt.Fprint(a.stdout, mockapi.New(opts).Config("http://"+*addr))
		return nil
	}
	fmt.Fprintf(a.stderr, "mock upstream on http://%s (seed %d, %d records per stream); rawland mockapi --print-config prints a matching rawland.yaml\n", *addr, *seed, *size)
	return mockapi.ListenAndServe(ctx, *addr, opts)
}
