package ingest_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAuthTypes lands a stream with every auth type against a server that
// checks the credential, and checks the secret never reaches a landed file,
// the manifest or the page log.
func TestAuthTypes(t *testing.T) {
	const secret = "s3cr3t-VALUE-42"
	cases := []struct {
		name, auth string
		ok         func(r *http.Request) bool
	}{
		{"none", `{type: none}`, func(r *http.Request) bool { return r.Header.Get("Authorization") == "" }},
		{"bearer", `{type: bearer, token_env: RL_TOKEN}`, func(r *http.Request) bool { return r.Header.Get("Authorization") == "Bearer "+secret }},
		{"basic", `{type: basic, user_env: RL_USER, password_env: RL_TOKEN}`, func(r *http.Request) bool {
			u, p, ok := r.BasicAuth()
			return ok && u == "robot" && p == secret
		}},
		{"header", `{type: header, name: X-Api-Key, value_env: RL_TOKEN}`, func(r *http.Request) bool { return r.Header.Get("X-Api-Key") == secret }},
		{"query", `{type: query, name: api_key, value_env: RL_TOKEN}`, func(r *http.Request) bool { return r.URL.Query().Get("api_key") == secret }},
	}
	t.Setenv("RL_TOKEN", secret)
	t.Setenv("RL_USER", "robot")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var srv *httptest.Server
			srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if !tc.ok(r) {
					http.Error(w, `{"message":"bad credentials"}`, 401)
					return
				}
				if r.URL.Query().Get("page") == "" {
					// the next link carries the query secret back, as real APIs do
					w.Header().Set("Link", "<"+srv.URL+"/items?page=2&"+r.URL.RawQuery+`>; rel="next"`)
				}
				id := "1"
				if r.URL.Query().Get("page") == "2" {
					id = "2"
				}
				w.Write([]byte(`[{"id":` + id + `,"url":"` + srv.URL + `/items/1"}]`))
			}))
			defer srv.Close()
			e := newEnv(t, `
sources:
  api: {base_url: "{{URL}}", auth: `+tc.auth+`}
streams:
  items:
    source: api
    path: /items
    primary_key: [id]
    pagination: {type: link}
    schema: schemas/items.json
`, srv.URL)
			res := e.run("items")
			if res.Run.Records != 2 {
				t.Fatalf("landed %d records, want 2", res.Run.Records)
			}
			filepath.Walk(e.cfg.DataDir, func(p string, info os.FileInfo, err error) error {
				if err != nil || info.IsDir() || strings.HasSuffix(p, ".db") || strings.Contains(p, ".db-") {
					return nil
				}
				b, _ := os.ReadFile(p)
				if strings.Contains(string(b), secret) {
					t.Errorf("secret found in %s", p)
				}
				return nil
			})
		})
	}
}
