package main

import (
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sourcegraph/conc"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/rawland/rawland/ingest/fetch"
)

// progressEvery is how often a run without a terminal logs where each
// stream is (cron gets log lines, never bars).
var progressEvery = 30 * time.Second

// progressView shows what a stage is doing while it runs. On a terminal
// (stderr is a TTY, text logs) it draws one live bar per stream with
// github.com/vbauerster/mpb: records, pages, rate, elapsed, and the
// source's retries and quota waits; log lines go above the bars, never
// through them. Elsewhere it logs one "progress" line per active stream
// every progressEvery.
type progressView struct {
	a     *app
	stage string
	start time.Time
	p     *mpb.Progress // nil without a terminal
	log   *slog.Logger  // restored when the view ends
	// source returns the HTTP client statistics of a stream's source (nil
	// for stages without one).
	source func(stream string) *fetch.Stats

	mu      sync.Mutex
	streams map[string]*streamProgress

	stop chan struct{}
	wg   conc.WaitGroup
}

type streamProgress struct {
	records, pages int64
	// the current run's pages, and what earlier runs of the stream in
	// this stage landed
	runPages, basePages, baseRecords int64
	// total is the record count the upstream announced for the current
	// run (0 = unknown)
	total          int64
	started, ended time.Time
	outcome        string // set by finish
	bar            *mpb.Bar
}

// startProgress begins a view for stage over streams. Call end when the
// stage is over.
func (a *app) startProgress(stage string, streams []string, source func(string) *fetch.Stats) *progressView {
	v := &progressView{a: a, stage: stage, start: time.Now(), log: a.log, source: source, streams: map[string]*streamProgress{}, stop: make(chan struct{})}
	sort.Strings(streams)
	if isTerminal(a.stderr) && a.logFormat != "json" {
		v.p = mpb.New(mpb.WithOutput(a.stderr), mpb.WithWidth(24), mpb.WithRefreshRate(200*time.Millisecond))
		// logs above the bars: the handler writes through the progress
		a.log = slog.New(slog.NewTextHandler(v.p, &slog.HandlerOptions{Level: a.level()}))
	}
	for _, s := range streams {
		sp := &streamProgress{}
		v.streams[s] = sp
		if v.p != nil {
			sp.bar = v.p.New(0, mpb.SpinnerStyle().PositionLeft(),
				mpb.PrependDecorators(decor.Name(fmt.Sprintf("%-10s %-16s", stage, s))),
				mpb.AppendDecorators(decor.Any(v.barText(s))),
				mpb.BarFillerClearOnComplete())
		}
	}
	if v.p == nil {
		v.wg.Go(v.logLoop)
	}
	return v
}

// ingested records one landed page of a stream and the total the upstream
// announced, 0 if none (ingest.Options.Progress).
func (v *progressView) ingested(stream string, pages, records, total int64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	sp := v.get(stream)
	if pages < sp.runPages {
		// a new run of the same stream (delta-queue cycles, backfill
		// windows) counts from zero: keep the earlier runs' totals
		sp.basePages, sp.baseRecords = sp.pages, sp.records
	}
	sp.runPages = pages
	sp.pages, sp.records = sp.basePages+pages, sp.baseRecords+records
	if total > 0 {
		sp.total = sp.baseRecords + total
	}
	if sp.bar != nil {
		sp.bar.SetCurrent(records) // animates the spinner
	}
}

// transformed adds one staged batch of a stream (transform.Options.Progress).
func (v *progressView) transformed(stream string, records int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	sp := v.get(stream)
	sp.records += int64(records)
	if sp.bar != nil {
		sp.bar.SetCurrent(sp.records)
	}
}

// finish marks a stream's part of the stage over (outcome: "done",
// "failed", "partial", "busy", …): its line stops moving.
func (v *progressView) finish(stream, outcome string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	sp := v.get(stream)
	sp.ended, sp.outcome = time.Now(), outcome
}

func (v *progressView) get(stream string) *streamProgress {
	sp, ok := v.streams[stream]
	if !ok {
		sp = &streamProgress{}
		v.streams[stream] = sp
	}
	if sp.started.IsZero() {
		sp.started = time.Now()
	}
	return sp
}

// line is a stream's state as one line of text.
func (v *progressView) line(stream string) string {
	v.mu.Lock()
	sp, ok := v.streams[stream]
	var records, pages, total int64
	var started, ended time.Time
	var outcome string
	if ok {
		records, pages, total, started, ended, outcome = sp.records, sp.pages, sp.total, sp.started, sp.ended, sp.outcome
	}
	v.mu.Unlock()
	if started.IsZero() {
		return "waiting for its turn"
	}
	el := time.Since(started)
	if !ended.IsZero() {
		el = ended.Sub(started)
	}
	rate := 0.0
	if el > 0 {
		rate = float64(records) / el.Seconds()
	}
	text := fmt.Sprintf("%d records", records)
	if total > 0 {
		text = fmt.Sprintf("%d/%d records", records, total)
	}
	if pages > 0 {
		text += fmt.Sprintf(" · %d pages", pages)
	}
	text += fmt.Sprintf(" · %.0f/s · %s", rate, el.Round(time.Second))
	if total > records && rate > 0 && ended.IsZero() {
		eta := time.Duration(float64(total-records) / rate * float64(time.Second))
		text += fmt.Sprintf(" · ETA %s", eta.Round(time.Second))
	}
	if outcome != "" {
		return outcome + ": " + text
	}
	if v.source != nil {
		if st := v.source(stream); st != nil {
			var parts []string
			if st.Retries > 0 {
				parts = append(parts, fmt.Sprintf("%d retries", st.Retries))
			}
			if w := st.QuotaWaits + st.BudgetWaits; w > 0 {
				parts = append(parts, fmt.Sprintf("%d quota waits", w))
			}
			if st.Throttled > 0 {
				parts = append(parts, fmt.Sprintf("throttled %d×", st.Throttled))
			}
			if len(parts) > 0 {
				text += " · source: " + strings.Join(parts, ", ")
			}
		}
	}
	return text
}

func (v *progressView) barText(stream string) decor.DecorFunc {
	return func(decor.Statistics) string { return v.line(stream) }
}

// logLoop logs each stream's progress every progressEvery (no terminal).
func (v *progressView) logLoop() {
	t := time.NewTicker(progressEvery)
	defer t.Stop()
	for {
		select {
		case <-v.stop:
			return
		case <-t.C:
			v.mu.Lock()
			var active []string
			for s, sp := range v.streams {
				if !sp.started.IsZero() && sp.ended.IsZero() {
					active = append(active, s)
				}
			}
			v.mu.Unlock()
			sort.Strings(active)
			for _, s := range active {
				v.log.Info("progress", "stage", v.stage, "stream", s, "status", v.line(s))
			}
		}
	}
}

// end stops the view: bars are completed and removed, the logger restored.
func (v *progressView) end() {
	close(v.stop)
	v.wg.Wait()
	if v.p != nil {
		for _, sp := range v.streams {
			if sp.bar != nil {
				sp.bar.SetTotal(-1, true)
			}
		}
		v.p.Wait()
	}
	v.a.log = v.log
}

// level is the configured log level (info when it does not parse: setupLog
// has refused it already).
func (a *app) level() slog.Level {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(a.logLevel)); err != nil {
		return slog.LevelInfo
	}
	return lvl
}
