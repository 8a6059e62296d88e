package config_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rawland/rawland/config"
	"github.com/rawland/rawland/internal/cursorval"
)

const cursorBase = `sources:
  api: {base_url: http://127.0.0.1:1}
streams:
  s:
    source: api
    path: /s
    primary_key: [id]
    schema: schemas/issues.json
    cursor:
      field: updated_at
`

func TestCursorConfigs(t *testing.T) {
	cases := []struct {
		name     string
		cursor   string // lines under cursor:, indented 6
		kind     cursorval.Kind
		send     string // SendFormat
		lookback string
	}{
		{"existing duration lookback", "param: since\nstart: \"2020-01-01T00:00:00Z\"\nlookback: 10m", cursorval.Time, "rfc3339", "10m"},
		{"integer lookback with integer start", "param: since_id\nstart: \"0\"\nlookback: 100", cursorval.Int, "rfc3339", "100"},
		{"integer lookback alone", "param: since_id\nlookback: 100", cursorval.Int, "rfc3339", "100"},
		{"integer lookback as a string", "param: since_id\nlookback: \"100\"", cursorval.Int, "rfc3339", "100"},
		{"day lookback", "param: since\nlookback: 1d", cursorval.Time, "rfc3339", "1d"},
		{"format unix_ms sends unix_ms", "param: since\nformat: unix_ms\nstart: \"2024-01-01T00:00:00Z\"", cursorval.Time, "unix_ms", "0s"},
		{"unix start with format", "param: since\nformat: unix\nstart: \"1704067200\"\nlookback: 1h", cursorval.Time, "unix", "1h"},
		{"param_format layout", "param: since\nparam_format: \"2006-01-02 15:04:05\"", cursorval.Time, "2006-01-02 15:04:05", "0s"},
		{"window with end", "param: since\nend_param: until\nstart: \"2024-01-01\"\nend: \"2024-01-11\"\nwindow: 1d", cursorval.Time, "rfc3339", "0s"},
		{"client filter needs no param", "filter: client\norder: desc\nstart: \"2024-01-01T00:00:00Z\"", cursorval.Time, "rfc3339", "0s"},
		{"unknown kind", "param: since", cursorval.Unknown, "rfc3339", "0s"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := cursorBase + "      " + strings.ReplaceAll(tc.cursor, "\n", "\n      ") + "\n"
			c, err := config.Load(writeProject(t, cfg, okSchemas))
			if err != nil {
				t.Fatal(err)
			}
			cur := c.Streams["s"].Cursor
			if cur.Type != tc.kind || cur.SendFormat.String() != tc.send || cur.Lookback.String() != tc.lookback {
				t.Fatalf("kind %s (from %s), send %s, lookback %s; want %s, %s, %s", cur.Type, cur.TypeFrom, cur.SendFormat, cur.Lookback, tc.kind, tc.send, tc.lookback)
			}
		})
	}
	// the existing form still decodes as a duration
	c, err := config.Load(writeProject(t, cursorBase+"      param: since\n      lookback: 90m\n", okSchemas))
	if err != nil || c.Streams["s"].Cursor.Lookback.D() != 90*time.Minute {
		t.Fatalf("lookback 90m: %v", err)
	}
	c, err = config.Load(writeProject(t, cursorBase+"      param: since\n      lookback: 1d12h\n", okSchemas))
	if err != nil || c.Streams["s"].Cursor.Lookback.D() != 36*time.Hour {
		t.Fatalf("lookback 1d12h: %v", err)
	}
}

func TestBadCursorConfigs(t *testing.T) {
	cases := []struct {
		name     string
		cursor   string
		wantLine int // line of the key named (cursor: is line 9, its keys start at 11)
		want     string
	}{
		{"duration lookback on integer start", "param: since_id\nstart: \"1000\"\nlookback: 10m", 13, "the duration lookback 10m makes the cursor updated_at a time, but start \"1000\" makes it an integer"},
		{"duration lookback on integer format", "param: since_id\nformat: integer\nlookback: 10m", 13, "format integer makes it an integer"},
		{"integer lookback on time start", "param: since\nstart: \"2020-01-01T00:00:00Z\"\nlookback: 100", 13, "integer lookback 100"},
		{"integer lookback with window", "param: since\nlookback: 100\nwindow: 1d\nstart: \"5\"", 13, "window 24h0m0s makes the cursor"},
		{"negative lookback", "param: since\nlookback: -5", 12, "must not be negative"},
		{"bad lookback", "param: since\nlookback: soon", 12, `bad lookback "soon"`},
		{"bad format", "param: since\nformat: iso", 12, `unknown format "iso"`},
		{"integer param_format", "param: since\nparam_format: integer", 12, "param_format"},
		{"window without start", "param: since\nwindow: 1d", 9, "needs start"},
		{"end before start", "param: since\nstart: \"2024-02-01\"\nend: \"2024-01-01\"", 13, "is not after start"},
		{"bad end", "param: since\nend: tomorrow", 12, `bad end "tomorrow"`},
		{"bad filter", "param: since\nfilter: both", 12, `unknown filter "both"`},
		{"bad order", "param: since\norder: newest", 12, `unknown order "newest"`},
		{"missing param", "start: \"2024-01-01\"", 9, "cursor needs param"},
		{"end_param without param", "filter: client\nend_param: until", 12, "end_param needs param"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := cursorBase + "      " + strings.ReplaceAll(tc.cursor, "\n", "\n      ") + "\n"
			p := writeProject(t, cfg, okSchemas)
			_, err := config.Load(p)
			var ce *config.Error
			if !errors.As(err, &ce) || !errors.Is(err, config.ErrInvalid) {
				t.Fatalf("want a config error, got %v", err)
			}
			if ce.Line != tc.wantLine || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q (line %d); want line %d containing %q", err, ce.Line, tc.wantLine, tc.want)
			}
		})
	}
}
