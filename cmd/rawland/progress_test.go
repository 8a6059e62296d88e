package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestProgressWithoutTerminal: off a terminal there are no bars; each
// active stream gets a periodic "progress" log line, finished ones none,
// and the counts of successive runs of a stream add up.
func TestProgressWithoutTerminal(t *testing.T) {
	defer func(d time.Duration) { progressEvery = d }(progressEvery)
	progressEvery = 10 * time.Millisecond
	var logs bytes.Buffer
	a := &app{stderr: &logs, log: slog.New(slog.NewTextHandler(&logs, nil))}
	v := a.startProgress("ingest", []string{"users", "orders", "idle", "events"}, nil)
	v.ingested("users", 1, 100, 0)
	v.ingested("users", 2, 200, 0)
	v.ingested("users", 1, 50, 0) // a second run of users (a queue cycle)
	v.ingested("orders", 3, 600, 0)
	v.ingested("events", 1, 100, 1000) // the upstream announced its total
	v.finish("orders", "ok")
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "msg=progress") && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	v.end()
	out := logs.String()
	if !strings.Contains(out, `stream=users status="250 records · 3 pages`) {
		t.Errorf("users' two runs do not add up to 250 records, 3 pages:\n%s", out)
	}
	if strings.Contains(out, "stream=orders") || strings.Contains(out, "stream=idle") {
		t.Errorf("a finished or never-started stream is reported as active:\n%s", out)
	}
	if strings.ContainsAny(out, "⠇⠏⠸") {
		t.Errorf("spinner drawn without a terminal")
	}
	if got := v.line("orders"); !strings.HasPrefix(got, "ok: 600 records · 3 pages") {
		t.Errorf("orders line %q", got)
	}
	if got := v.line("events"); !strings.HasPrefix(got, "100/1000 records · 1 pages") || !strings.Contains(got, "ETA ") {
		t.Errorf("events line %q: want the announced total and an ETA", got)
	}
	if got := v.line("idle"); got != "waiting for its turn" {
		t.Errorf("idle line %q", got)
	}
}
