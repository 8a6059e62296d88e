package config_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rawland/rawland/config"
)

// exportBase is a one-stream export config; {{E}} is replaced by the
// export block's lines, {{S}} by more stream keys.
const exportBase = `sources:
  api: {base_url: http://127.0.0.1:1}
streams:
  s:
    source: api
    kind: export
    primary_key: [id]
{{S}}    export:
{{E}}    schema: schemas/issues.json
`

const exportOK = "      create: {path: /exports}\n      poll: {path: '/exports/{id}', done: [completed]}\n      download: {urls: files}\n"

func withExport(stream, export string) string {
	return strings.NewReplacer("{{S}}", stream, "{{E}}", export).Replace(exportBase)
}

// TestExportConfigErrors: export blocks that cannot work are refused with
// the file, the line and the key.
func TestExportConfigErrors(t *testing.T) {
	cases := []struct {
		name, stream, export string
		wantLine             int
		wantKey, want        string
	}{
		{"no create path", "", "      create: {method: POST}\n      poll: {path: '/e/{id}', done: [ok]}\n", 9, "streams.s.export.create.path", "missing create.path"},
		{"poll path without id", "", "      create: {path: /e}\n      poll: {path: /e, done: [ok]}\n", 10, "streams.s.export.poll.path", "must contain {id}"},
		{"no done values", "", "      create: {path: /e}\n      poll: {path: '/e/{id}'}\n", 10, "streams.s.export.poll.done", "poll needs done"},
		{"done and failed overlap", "", "      create: {path: /e}\n      poll: {path: '/e/{id}', done: [ok], failed: [ok]}\n", 10, "streams.s.export.poll.failed", "listed under done"},
		{"unknown format", "", "      create: {path: /e}\n      poll: {path: '/e/{id}', done: [ok]}\n      download: {format: parquet}\n", 11, "streams.s.export.download.format", `unknown format "parquet"`},
		{"idempotency in body with GET", "", "      create: {path: /e, method: GET, idempotency: {in: body, name: key}}\n      poll: {path: '/e/{id}', done: [ok]}\n", 9, "streams.s.export.create.idempotency.in", "in: body needs method: POST"},
		{"idempotency in body without name", "", "      create: {path: /e, idempotency: {in: body}}\n      poll: {path: '/e/{id}', done: [ok]}\n", 9, "streams.s.export.create.idempotency.name", "needs name"},
		{"poll interval zero", "", "      create: {path: /e}\n      poll: {path: '/e/{id}', done: [ok], interval: 0s}\n", 10, "streams.s.export.poll.interval", "out of range"},
		{"cursor never sent", "    cursor: {field: updated_at}\n", exportOK, 8, "streams.s.cursor", "{cursor}"},
		{"rest keys on an export", "    path: /x\n", exportOK, 8, "streams.s.path", "kind rest"},
		{"no export block", "", "", 4, "streams.s.export", "needs an export: block"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := withExport(tc.stream, tc.export)
			if tc.export == "" {
				cfg = strings.Replace(cfg, "    export:\n", "", 1)
			}
			p := writeProject(t, cfg, map[string]string{"issues.json": `{"type":"object","properties":{"id":{"type":"integer"}}}`})
			_, err := config.Load(p)
			var ce *config.Error
			if !errors.As(err, &ce) || !errors.Is(err, config.ErrInvalid) {
				t.Fatalf("want a config error, got %v", err)
			}
			if ce.Line != tc.wantLine || ce.Key != tc.wantKey || !strings.Contains(ce.Msg, tc.want) {
				t.Errorf("got %v (line %d, key %s), want line %d, key %s, containing %q", err, ce.Line, ce.Key, tc.wantLine, tc.wantKey, tc.want)
			}
		})
	}
}

// TestExportDefaults: POST, id, an Idempotency-Key header, status, jsonl,
// the poll timings; a cursor placeholder makes cursor.param unnecessary.
func TestExportDefaults(t *testing.T) {
	body := "      create: {path: /e, body: {since: '{cursor}'}}\n      poll: {path: '/e/{id}', done: [ok]}\n"
	p := writeProject(t, withExport("    cursor: {field: updated_at}\n", body), map[string]string{"issues.json": `{"type":"object","properties":{"id":{"type":"integer"}}}`})
	cfg, err := config.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	e := cfg.Streams["s"].Export
	c, pl, d := e.Create, e.Poll, e.Download
	if c.Method != "POST" || c.ID != "id" || c.Idempotency.In != config.InHeader || c.Idempotency.Name != "Idempotency-Key" {
		t.Errorf("create defaults = %+v", c)
	}
	if pl.Status != "status" || pl.Interval.D() != 2*time.Second || pl.MaxInterval.D() != time.Minute || pl.Timeout.D() != 6*time.Hour {
		t.Errorf("poll defaults = %+v", pl)
	}
	if d.URLs != "urls" || d.URL != "url" || d.Format != config.FormatJSONL || d.Credentials {
		t.Errorf("download defaults = %+v", d)
	}
}
