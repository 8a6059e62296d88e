package main

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"

	"github.com/rawland/rawland/mockapi"
)

func init() {
	register(&command{
		name:    "mockapi",
		usage:   "[--addr 127.0.0.1:8080] [--seed N] [--size N] [--print-config] [--init DIR]",
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
	if pos, err := parseFlags(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usagef("mockapi takes no arguments")
	}
	opts := mockapi.Options{Seed: *seed, Size: *size}
	if *initDir != "" {
		if _, err := writeMockProject(*initDir, mockapi.New(opts), "http://"+*addr, ""); err != nil {
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
