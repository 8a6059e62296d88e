package main

import (
	"context"
	"errors"
	"flag"

	"github.com/rawland/rawland/config"
	"github.com/rawland/rawland/transform"
)

func init() {
	register(&command{
		name:        "transform",
		usage:       "[--rebuild] [STREAM…]",
		summary:     "validate every landed, not yet transformed run against its schema; load valid records; quarantine the rest",
		needsConfig: true,
		run:         runTransformCmd,
	})
}

func runTransformCmd(ctx context.Context, a *app, args []string) error {
	fs := flag.NewFlagSet("transform", flag.ContinueOnError)
	rebuild := fs.Bool("rebuild", false, "drop the streams' tables, quarantine and drift, and load every run again from the raw landing")
	names, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if _, err := a.cfg.Select(names); err != nil {
		return err
	}
	rep, err := a.transformWith(ctx, names, *rebuild)
	transformLines(a, rep)
	printNext(a, transformNext(rep))
	changed := false
	for _, sr := range rep.Streams {
		changed = changed || len(sr.Runs) > 0
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, config.ErrInvalid) && changed:
		// exit 2 promises nothing changed; other streams did load
		return errStreamsFailed
	case errors.Is(err, transform.ErrWarehouseBusy), errors.Is(err, config.ErrInvalid), errors.Is(err, context.Canceled):
		return transformExit(err)
	case rep.Err() == nil:
		// failed before any stream (state store, warehouse): no
		// per-stream line says why, so the error must
		return err
	}
	return errStreamsFailed // the per-stream lines said why
}
