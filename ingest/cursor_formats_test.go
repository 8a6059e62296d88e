package ingest_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/rawland/rawland/ingest"
	"github.com/rawland/rawland/state"
)

// staticFeed serves the same records on every request and records the
// query of each.
type staticFeed struct {
	mu      sync.Mutex
	body    string
	queries []url.Values
}

func (f *staticFeed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries = append(f.queries, r.URL.Query())
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(f.body))
}

func (f *staticFeed) param(i int, name string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if i >= len(f.queries) {
		return "<no request>"
	}
	return f.queries[i].Get(name)
}

const cursorCfg = `
sources:
  api: {base_url: "{{URL}}"}
streams:
  things:
    source: api
    path: /things
    primary_key: [id]
    schema: schemas/things.json
    cursor:
      field: updated_at
      param: since
`

func cursorConfig(extra string) string {
	if extra == "" {
		return cursorCfg
	}
	return cursorCfg + "      " + strings.ReplaceAll(extra, "\n", "\n      ") + "\n"
}

// TestCursorFormats: every cursor format is read, compared as an instant
// (or integer), saved normalised and sent back upstream in the right form.
func TestCursorFormats(t *testing.T) {
	cases := []struct {
		name       string
		cursor     string // extra lines of the cursor block
		values     []string
		firstSince string // sent on the first run ("" = none)
		after      string // saved cursor after the first run
		nextSince  string // sent on the second run
	}{
		{"+0000 and +0200 offsets vs Z compare as instants", `start: "2024-03-01T00:00:00Z"`,
			[]string{`"2024-03-01T12:30:00+0200"`, `"2024-03-01T11:00:00Z"`, `"2024-03-01T11:30:00+0000"`},
			"2024-03-01T00:00:00Z", "2024-03-01T11:30:00Z", "2024-03-01T11:30:00Z"},
		{"colon offsets", "",
			[]string{`"2024-03-01T13:00:00+02:00"`, `"2024-03-01T10:00:00-01:00"`},
			"", "2024-03-01T11:00:00Z", "2024-03-01T11:00:00Z"},
		{"space separator", "",
			[]string{`"2024-03-01 10:00:00"`, `"2024-03-01 11:00:00+0000"`, `"2024-03-01 09:59:59.5Z"`},
			"", "2024-03-01T11:00:00Z", "2024-03-01T11:00:00Z"},
		{"9-digit fractions", "",
			[]string{`"2024-03-01T10:00:00.000000002Z"`, `"2024-03-01T10:00:00.000000001Z"`, `"2024-03-01T10:00:00Z"`},
			"", "2024-03-01T10:00:00.000000002Z", "2024-03-01T10:00:00.000000002Z"},
		{"fractions of mixed length", "",
			[]string{`"2024-03-01T10:00:00.5Z"`, `"2024-03-01T10:00:00.123456Z"`, `"2024-03-01T10:00:00Z"`},
			"", "2024-03-01T10:00:00.5Z", "2024-03-01T10:00:00.5Z"},
		{"dates", "format: date\nstart: \"2024-02-01\"",
			[]string{`"2024-03-03"`, `"2024-03-01"`},
			"2024-02-01", "2024-03-03T00:00:00Z", "2024-03-03"},
		{"unix seconds as numbers", "format: unix\nstart: \"2024-03-01T00:00:00Z\"",
			[]string{`1709290800`, `1709287200`},
			"1709251200", "2024-03-01T11:00:00Z", "1709290800"},
		{"unix seconds as strings", "format: unix",
			[]string{`"1709290800"`, `"1709287200"`},
			"", "2024-03-01T11:00:00Z", "1709290800"},
		{"unix milliseconds", "format: unix_ms\nstart: \"1709251200000\"",
			[]string{`1709290800123`, `1709287200000`},
			"1709251200000", "2024-03-01T11:00:00.123Z", "1709290800123"},
		{"unix ms read by magnitude under a time start, sent as rfc3339", `start: "2024-03-01T00:00:00Z"`,
			[]string{`1709290800123`, `"1709287200000"`},
			"2024-03-01T00:00:00Z", "2024-03-01T11:00:00.123Z", "2024-03-01T11:00:00.123Z"},
		{"param_format unix for rfc3339 records with lookback", "param_format: unix\nlookback: 1h",
			[]string{`"2024-03-01T13:00:00+02:00"`},
			"", "2024-03-01T11:00:00Z", "1709287200"},
		{"param_format Go layout", "param_format: \"2006-01-02 15:04:05\"",
			[]string{`"2024-03-01T13:00:00+0200"`},
			"", "2024-03-01T11:00:00Z", "2024-03-01 11:00:00"},
		{"Go layout format", "format: \"02/01/2006 15:04\"",
			[]string{`"01/03/2024 11:00"`, `"29/02/2024 23:00"`},
			"", "2024-03-01T11:00:00Z", "01/03/2024 11:00"},
		{"integer cursor, integer lookback", "lookback: 100\nstart: \"1000\"",
			[]string{`1500`, `"1200"`, `999`},
			"1000", "1500", "1400"},
		{"integer cursor compares numerically", "",
			[]string{`999`, `1000`, `15`},
			"", "1000", "1000"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var recs []string
			for i, v := range tc.values {
				recs = append(recs, `{"id":`+string(rune('1'+i))+`,"updated_at":`+v+`}`)
			}
			feed := &staticFeed{body: "[" + strings.Join(recs, ",") + "]"}
			srv := httptest.NewServer(feed)
			defer srv.Close()
			e := newEnv(t, cursorConfig(tc.cursor), srv.URL)
			first := e.run("things")
			if got := feed.param(0, "since"); got != tc.firstSince {
				t.Errorf("first run sent since=%q, want %q", got, tc.firstSince)
			}
			if first.Run.CursorAfter != tc.after || first.Run.Records != int64(len(tc.values)) {
				t.Fatalf("first run: cursor %q, %d records; want %q, %d", first.Run.CursorAfter, first.Run.Records, tc.after, len(tc.values))
			}
			second := e.run("things")
			if got := feed.param(1, "since"); got != tc.nextSince {
				t.Errorf("second run sent since=%q, want %q", got, tc.nextSince)
			}
			if second.Run.CursorAfter != tc.after {
				t.Errorf("second run moved the cursor to %q, want it kept at %q", second.Run.CursorAfter, tc.after)
			}
		})
	}
}

// TestCursorKindSeenAtRunTime: a cursor whose kind the config cannot tell
// at load (a duration lookback, no start, no format) fails its run on the
// first integer value, with a message that says what to change.
func TestCursorKindSeenAtRunTime(t *testing.T) {
	feed := &staticFeed{body: `[{"id":1,"updated_at":1500}]`}
	srv := httptest.NewServer(feed)
	defer srv.Close()
	e := newEnv(t, cursorConfig("lookback: 10m"), srv.URL)
	res, err := ingest.Stream(context.Background(), e.opts(state.KindIngest), e.cfg.Streams["things"])
	var ke *ingest.CursorKindError
	if !errors.As(err, &ke) {
		t.Fatalf("want a CursorKindError, got %v", err)
	}
	for _, want := range []string{"updated_at", `"1500"`, "integer lookback", "format: unix"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if res.Run.Status == state.StatusCommitted {
		t.Fatalf("the run committed: %+v", res.Run)
	}
	if c, _ := e.store.Cursor(t.Context(), "things"); c != "" {
		t.Fatalf("cursor moved to %q", c)
	}
}
