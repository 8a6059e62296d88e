package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestIngestRefusesForeignOrigin runs `rawland ingest` on a stream whose
// second page is a Link to another origin (another port on 127.0.0.1):
// exit 1, a message naming both origins, the first page kept, no foreign
// record landed, the cursor not moved, and the other origin never receives
// a request, the key or a Referer. Listed in allowed_origins, the other
// origin is read without the key.
func TestIngestRefusesForeignOrigin(t *testing.T) {
	const secret = "cli-s3cr3t-KEY-31"
	t.Setenv("RL_ORIGIN_KEY", secret)
	cases := []struct {
		name, extra string
		wantCode    int
	}{
		{"not allowed", "", exitFailed},
		{"allowed without credentials", ", allowed_origins: [FAR]", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var farGot []string
			far := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				farGot = append(farGot, r.URL.RawQuery+" referer="+r.Header.Get("Referer"))
				mu.Unlock()
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprint(w, `[{"id":900,"updated_at":900,"from":"foreign"}]`)
			}))
			defer far.Close()
			home := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Query().Get("api_key") != secret {
					http.Error(w, `{"message":"bad key"}`, 401)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				// the next link echoes the query, key included, as real APIs do
				w.Header().Set("Link", "<"+far.URL+"/items?page=2&"+r.URL.RawQuery+`>; rel="next"`)
				fmt.Fprint(w, `[{"id":1,"updated_at":10,"from":"home"},{"id":2,"updated_at":20,"from":"home"}]`)
			}))
			defer home.Close()
			dir := project(t, `
sources:
  api: {base_url: "{{URL}}", auth: {type: query, name: api_key, value_env: RL_ORIGIN_KEY}`+strings.ReplaceAll(tc.extra, "FAR", far.URL)+`}
streams:
  items:
    source: api
    path: /items
    primary_key: [id]
    cursor: {field: updated_at, param: since, start: "0"}
    pagination: {type: link}
    schema: schemas/items.json
`, home.URL)
			code, out, errOut := rawland(t, dir, "ingest")
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d\n%s%s", code, tc.wantCode, out, errOut)
			}
			landed := readTree(t, filepath.Join(dir, "data", "raw"))
			if !strings.Contains(landed, `"from":"home"`) {
				t.Errorf("the first page was not landed: %q", landed)
			}
			everything := readTree(t, filepath.Join(dir, "data")) + out + errOut
			if strings.Contains(everything, secret) {
				t.Errorf("the key reached the data dir or the output")
			}
			mu.Lock()
			defer mu.Unlock()
			for _, got := range farGot {
				if strings.Contains(got, secret) || !strings.HasSuffix(got, "referer=") {
					t.Errorf("the other origin received %q", got)
				}
			}
			if tc.wantCode == 0 {
				if len(farGot) != 1 || !strings.Contains(landed, `"from":"foreign"`) {
					t.Errorf("allowed origin: %d requests, landed %q", len(farGot), landed)
				}
				return
			}
			if len(farGot) != 0 {
				t.Errorf("the other origin received %d requests", len(farGot))
			}
			if strings.Contains(landed, "foreign") {
				t.Errorf("a foreign record landed: %q", landed)
			}
			for _, want := range []string{far.URL, home.URL, "allowed_origins"} {
				if !strings.Contains(out+errOut, want) {
					t.Errorf("the output does not name %q:\n%s%s", want, out, errOut)
				}
			}
			var runs []struct {
				Status, CursorBefore, CursorAfter, Error string
			}
			_, js, _ := rawland(t, dir, "runs", "--json")
			if err := json.Unmarshal([]byte(js), &runs); err != nil || len(runs) != 1 {
				t.Fatalf("runs --json: %v %s", err, js)
			}
			if r := runs[0]; r.CursorAfter != r.CursorBefore || !strings.Contains(r.Error, far.URL) {
				t.Errorf("run %+v: want the cursor not moved and the error recorded", r)
			}
		})
	}
}

// readTree returns the contents of every file under dir.
func readTree(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			data, _ := os.ReadFile(p)
			b.Write(data)
			b.WriteByte('\n')
		}
		return nil
	})
	return b.String()
}
