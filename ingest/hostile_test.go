package ingest_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/rawland/rawland/ingest"
	"github.com/rawland/rawland/state"
)

// hostileSecret is the bearer token of the hostile-upstream tests: it must
// never appear in an error, a log line or a landed file.
const hostileSecret = "tok-hostile-5ecret-9f2c"

// TestHostileBodies is the body half of the hostile-upstream corpus: answers
// that are not what they claim (HTML with 200, truncated, endless, a gzip
// bomb, a trickle), records that are legal but extreme (huge strings and
// integers, 1e400, duplicate keys, deep nesting), and tokens echoed back in
// error bodies. Each case says whether the walk must fail, and then nothing
// of the bad page may land, or must succeed with every record landed byte
// for byte. No case may panic, hang or leak the token.
func TestHostileBodies(t *testing.T) {
	bomb := gzipped(t, bytes.Repeat([]byte(" "), 64<<20)) // 64 MiB of spaces in ~64 KiB
	bigString := `{"id":1,"s":"` + strings.Repeat("x", 4<<20) + `"}`
	deep := `{"id":2,"d":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}`
	extreme := []string{
		`{"id":3,"n":123456789012345678901234567890123456789012345678901234567890}`,
		`{"id":4,"n":1e400,"m":-1e400,"f":4.9e-400}`,
		`{"id":5,"a":1,"a":2,"a":"three"}`,
		`{"id":6,"s":"\u0000 nul \ud800 lone surrogate \u00e9"}`,
	}
	cases := []struct {
		name    string
		handler http.HandlerFunc
		want    []string // records that must land, in order; nil: the walk must fail
	}{
		{"html with status 200", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, "<html><body>Service temporarily unavailable</body></html>")
		}, nil},
		{"json content type, html body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, "<!doctype html><html></html>")
		}, nil},
		{"truncated body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", "4096")
			fmt.Fprint(w, `[{"id":1},{"id":2},{"i`)
		}, nil},
		{"truncated json with a short length", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `[{"id":1},{"id":2},{"i`)
		}, nil},
		{"endless body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, "[")
			chunk := []byte(strings.Repeat(`{"id":7},`, 1000))
			for range 4000 { // bounded: 36 MB at most, far past the 1 MiB cap
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		}, nil},
		{"gzip bomb", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(bomb)
		}, nil},
		{"trickle past the timeout", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, "[")
			for range 100 { // bounded: 10 s at most
				select {
				case <-r.Context().Done():
					return
				case <-time.After(100 * time.Millisecond):
				}
				fmt.Fprint(w, " ")
				w.(http.Flusher).Flush()
			}
			fmt.Fprint(w, "]")
		}, nil},
		{"token echoed in an error body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-Echo", r.Header.Get("Authorization"))
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"error":"bad request","auth":%q}`, r.Header.Get("Authorization"))
		}, nil},
		{"unsupported content encoding", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Encoding", "br")
			fmt.Fprint(w, "[]")
		}, nil},
		{"huge string", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, "["+bigString+"]")
		}, []string{bigString}},
		{"deep nesting", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, "["+deep+"]")
		}, []string{deep}},
		{"extreme numbers, duplicate keys, NUL and lone surrogates", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, "[\n"+strings.Join(extreme, ",\n")+"\n]")
		}, extreme},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			t.Setenv("HOSTILE_TOKEN", hostileSecret)
			e := newEnv(t, `
sources:
  api:
    base_url: "{{URL}}"
    auth: {type: bearer, token_env: HOSTILE_TOKEN}
    timeout: 1s
    max_response_bytes: 8MiB
streams:
  items:
    source: api
    path: /items
    primary_key: [id]
    schema: schemas/items.json
`, srv.URL)
			var logs bytes.Buffer
			o := e.opts(state.KindIngest)
			o.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			start := time.Now()
			res, err := ingest.Stream(ctx, o, e.cfg.Streams["items"])
			if took := time.Since(start); took > 30*time.Second {
				t.Errorf("the walk took %s: a hostile body must not hold a run", took)
			}
			if err != nil && strings.Contains(err.Error(), hostileSecret) {
				t.Errorf("error leaks the token: %v", err)
			}
			if strings.Contains(logs.String(), hostileSecret) {
				t.Errorf("logs leak the token")
			}
			if tc.want == nil {
				if err == nil {
					t.Fatalf("walk succeeded (run %s, %d records); want an error", res.Run.ID, res.Run.Records)
				}
				t.Logf("failed as it must: %v", err)
				if recs, _ := e.allCommitted("items"); len(recs) != 0 {
					t.Errorf("%d records of a bad page landed", len(recs))
				}
				return
			}
			if err != nil {
				t.Fatalf("walk failed: %v", err)
			}
			got := e.landed("items", res.Run.ID)
			if len(got) != len(tc.want) {
				t.Fatalf("landed %d records, want %d", len(got), len(tc.want))
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("record %d landed as %.80q…, want the bytes sent %.80q…", i, got[i], tc.want[i])
				}
			}
			for _, r := range got {
				if strings.Contains(r, hostileSecret) {
					t.Errorf("a landed record holds the token")
				}
			}
		})
	}
}

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
