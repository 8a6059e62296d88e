package main

import (
	"context"
	"flag"
	"strings"

	"github.com/sourcegraph/conc/pool"

	"github.com/rawland/rawland/config"
	"github.com/rawland/rawland/ingest"
	"github.com/rawland/rawland/ingest/fetch"
	"github.com/rawland/rawland/state"
)

func init() {
	register(&command{
		name:        "ingest",
		usage:       "[--parallel N] [STREAM…]",
		summary:     "pull new records, land them raw under a new run ID, commit cursors atomically with the landing",
		needsConfig: true,
		run:         runIngest,
	})
}

func runIngest(ctx context.Context, a *app, args []string) error {
	fs := flag.NewFlagSet("ingest", flag.ContinueOnError)
	parallel := fs.Int("parallel", 4, "streams ingested at once")
	names, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	streams, err := a.cfg.Select(names)
	if err != nil {
		return err
	}
	results, err := a.ingestStreams(ctx, streams, state.KindIngest, *parallel)
	if err != nil {
		return err
	}
	err = summarize(a, results)
	printNext(a, ingestNext(results))
	return err
}

// streamResult is one stream's outcome in a multi-stream command.
type streamResult struct {
	stream string
	res    ingest.Result
	err    error
}

// doers builds one resilient HTTP client per source, shared by its streams.
func (a *app) doers() (map[string]ingest.Doer, error) {
	out := map[string]ingest.Doer{}
	for name, src := range a.cfg.Sources {
		creds, err := src.Credentials(a.cfg.Path)
		if err != nil {
			return nil, err
		}
		opts := fetch.Options{
			Source:           name,
			Headers:          src.Headers,
			Auth:             authFor(creds),
			Concurrency:      src.Concurrency,
			Retry:            fetch.Retry{MaxAttempts: src.Retry.MaxAttempts, InitialBackoff: src.Retry.InitialBackoff.D(), MaxBackoff: src.Retry.MaxBackoff.D()},
			Timeout:          src.Timeout.D(),
			TrackingHeader:   src.TrackingHeader,
			MaxResponseBytes: int64(src.MaxResponseBytes),
			QuotaDir:         a.zone().StateDir(),
			QuotaBackend:     a.quotaBackend(),
			Logger:           a.log,
		}
		// credentials go only to base_url's origin (and to allowed_origins
		// when the source says so); any other origin fails the stream
		opts.BaseURL, opts.AllowedOrigins, opts.SendCredentialsToAllowed = src.BaseURL, src.AllowedOrigins, src.SendCredentialsToAllowed
		if rl := src.RateLimit; rl != nil {
			opts.RateLimit = &fetch.RateLimit{Requests: rl.Requests, Per: rl.Per.D()}
		}
		c, err := fetch.New(opts)
		if err != nil {
			return nil, &config.Error{File: a.cfg.Path, Line: src.Line, Key: "sources." + name, Msg: err.Error()}
		}
		out[name] = c
	}
	return out, nil
}

func authFor(c config.Credentials) fetch.Auth {
	switch c.Type {
	case "bearer":
		return fetch.BearerAuth(c.Token)
	case "basic":
		return fetch.BasicAuth(c.User, c.Password)
	case "header":
		return fetch.HeaderAuth(c.Name, c.Value)
	case "query":
		return fetch.QueryAuth(c.Name, c.Value)
	}
	return fetch.NoAuth()
}

// ingestStreams runs streams concurrently (at most parallel at once); one
// stream's failure never stops the others.
func (a *app) ingestStreams(ctx context.Context, streams []*config.Stream, kind state.Kind, parallel int) ([]streamResult, error) {
	store, err := a.openStore(ctx)
	if err != nil {
		return nil, err
	}
	// credentials first: nothing is drawn or run when a secret is missing
	if _, err := a.doers(); err != nil {
		return nil, err
	}
	names := make([]string, len(streams))
	for i, s := range streams {
		names[i] = s.Name
	}
	var doers map[string]ingest.Doer
	view := a.startProgress(string(kind), names, func(stream string) *fetch.Stats {
		if c, ok := doers[a.cfg.Streams[stream].Source].(*fetch.Client); ok {
			st := c.Stats()
			return &st
		}
		return nil
	})
	defer view.end()
	if doers, err = a.doers(); err != nil { // built after the view: their logs go above the bars
		return nil, err
	}
	opts := ingest.Options{Config: a.cfg, Store: store, Zone: a.zone(), Doers: doers, Logger: a.log, Kind: kind, Progress: view.ingested}
	results := make([]streamResult, len(streams))
	p := pool.New().WithMaxGoroutines(max(parallel, 1))
	for i, s := range streams {
		p.Go(func() {
			defer a.guard()
			res, err := ingest.Stream(ctx, opts, s)
			results[i] = streamResult{stream: s.Name, res: res, err: withAuthHint(a.cfg, s, err)}
			st, _ := ingestSummary(results[i])
			view.finish(s.Name, strings.TrimSpace(st))
		})
	}
	p.Wait()
	return results, nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
