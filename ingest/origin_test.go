package ingest_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rawland/rawland/ingest"
	"github.com/rawland/rawland/ingest/fetch"
	"github.com/rawland/rawland/state"
)

const originSecret = "s3cr3t-ORIGIN-77"

// originAuth is one auth type: its config and a check that a request
// carries its credential.
type originAuth struct {
	name, cfg string
	has       func(r *http.Request) bool
}

var originAuths = []originAuth{
	{"bearer", `{type: bearer, token_env: RL_TOKEN}`, func(r *http.Request) bool { return r.Header.Get("Authorization") == "Bearer "+originSecret }},
	{"basic", `{type: basic, user_env: RL_USER, password_env: RL_TOKEN}`, func(r *http.Request) bool {
		u, p, ok := r.BasicAuth()
		return ok && u == "robot" && p == originSecret
	}},
	{"header", `{type: header, name: X-Api-Key, value_env: RL_TOKEN}`, func(r *http.Request) bool { return r.Header.Get("X-Api-Key") == originSecret }},
	{"query", `{type: query, name: api_key, value_env: RL_TOKEN}`, func(r *http.Request) bool { return r.URL.Query().Get("api_key") == originSecret }},
}

// hit is one request a test server received.
type hit struct {
	path, referer, leak string
	has                 bool
}

// upstream is an httptest server on 127.0.0.1 that records its requests.
type upstream struct {
	*httptest.Server
	mu   sync.Mutex
	hits []hit
}

func newUpstream(t *testing.T, has func(*http.Request) bool, h http.HandlerFunc) *upstream {
	t.Helper()
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.hits = append(u.hits, hit{path: r.URL.Path, referer: r.Header.Get("Referer"), leak: credentialIn(r), has: has(r)})
		u.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) requests() []hit {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]hit(nil), u.hits...)
}

// credentialIn says where r carries the secret or a credential header.
func credentialIn(r *http.Request) string {
	basic := base64.StdEncoding.EncodeToString([]byte("robot:" + originSecret))
	for k, vs := range r.Header {
		for _, v := range vs {
			if k == "Authorization" || k == "X-Api-Key" || strings.Contains(v, originSecret) || strings.Contains(v, basic) {
				return "header " + k
			}
		}
	}
	if q, _ := url.QueryUnescape(r.URL.RawQuery); strings.Contains(q, originSecret) {
		return "query"
	}
	return ""
}

// TestWalkOriginPolicy walks a stream whose second page is on another
// origin (a Link, a next_url or a redirect; another port on 127.0.0.1 is
// another origin), for every auth type: unless allowed, the stream fails
// naming both origins, the other origin receives nothing and no foreign
// record lands; allowed, it receives the credential only with
// send_credentials_to_allowed; never a Referer.
func TestWalkOriginPolicy(t *testing.T) {
	t.Setenv("RL_TOKEN", originSecret)
	t.Setenv("RL_USER", "robot")
	cases := []struct {
		name       string
		pagination string // link | next_url
		redirect   int    // home answers page 2 with this redirect to the other origin
		byName     bool   // the other origin is named localhost
		allowed    string // allowed_origins / send_credentials_to_allowed config
		wantFail   bool
		wantCreds  bool // the other origin receives the credential
	}{
		{name: "Link to another port", pagination: "link", wantFail: true},
		{name: "next_url to another port", pagination: "next_url", wantFail: true},
		{name: "Link to another host", pagination: "link", byName: true, wantFail: true},
		{name: "302 to same host other port", pagination: "link", redirect: 302, wantFail: true},
		{name: "307 to same host other port", pagination: "next_url", redirect: 307, wantFail: true},
		{name: "302 to another host", pagination: "link", redirect: 302, byName: true, wantFail: true},
		{name: "Link to allowed origin", pagination: "link", allowed: "allowed_origins: [FAR]"},
		{name: "next_url to allowed origin", pagination: "next_url", allowed: "allowed_origins: [FAR]"},
		{name: "302 to allowed origin", pagination: "link", redirect: 302, allowed: "allowed_origins: [FAR]"},
		{name: "Link to allowed origin with credentials", pagination: "link", allowed: "allowed_origins: [FAR], send_credentials_to_allowed: true", wantCreds: true},
		{name: "307 to allowed origin with credentials", pagination: "next_url", redirect: 307, allowed: "allowed_origins: [FAR], send_credentials_to_allowed: true", wantCreds: true},
	}
	for _, a := range originAuths {
		for _, tc := range cases {
			t.Run(a.name+"/"+tc.name, func(t *testing.T) {
				far := newUpstream(t, a.has, func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "application/json")
					fmt.Fprint(w, `{"data":[{"id":"foreign-1"},{"id":"foreign-2"}],"next":null}`)
				})
				farURL := far.URL
				if tc.byName {
					farURL = strings.Replace(far.URL, "127.0.0.1", "localhost", 1)
				}
				var home *upstream
				home = newUpstream(t, a.has, func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "application/json")
					if !a.has(r) {
						http.Error(w, `{"message":"bad credentials"}`, 401)
						return
					}
					if r.URL.Path == "/items/2" {
						http.Redirect(w, r, farURL+"/items/2?"+r.URL.RawQuery, tc.redirect)
						return
					}
					// the next link carries the query (and its key) back, as real APIs do
					next := farURL + "/items/2?" + r.URL.RawQuery
					if tc.redirect != 0 {
						next = home.URL + "/items/2?" + r.URL.RawQuery
					}
					if tc.pagination == "link" {
						w.Header().Set("Link", "<"+next+`>; rel="next"`)
						fmt.Fprint(w, `{"data":[{"id":"home-1"}]}`)
						return
					}
					fmt.Fprintf(w, `{"data":[{"id":"home-1"}],"next":%q}`, next)
				})
				pag := "{type: link}"
				if tc.pagination == "next_url" {
					pag = "{type: next_url, field: next}"
				}
				allowed := strings.ReplaceAll(tc.allowed, "FAR", farURL)
				if allowed != "" {
					allowed = ", " + allowed
				}
				e := newEnv(t, `
sources:
  api: {base_url: "{{URL}}/", auth: `+a.cfg+allowed+`}
streams:
  items:
    source: api
    path: /items
    records: data
    primary_key: [id]
    pagination: `+pag+`
    schema: schemas/items.json
`, home.URL)
				res, err := ingest.Stream(context.Background(), e.opts(state.KindIngest), e.cfg.Streams["items"])
				recs, _ := e.allCommitted("items")
				landed := strings.Join(recs, "\n")
				if tc.wantFail {
					if err == nil {
						t.Fatalf("the walk succeeded (run %+v); landed: %s", res.Run, landed)
					}
					if !errors.Is(err, fetch.ErrForeignOrigin) {
						t.Errorf("error is not ErrForeignOrigin: %v", err)
					}
					farOrigin := strings.TrimSuffix(farURL, "/")
					for _, want := range []string{farOrigin, home.URL, "allowed_origins"} {
						if !strings.Contains(err.Error(), want) {
							t.Errorf("error does not name %q: %v", want, err)
						}
					}
					if strings.Contains(err.Error(), originSecret) {
						t.Errorf("error leaks the secret: %v", err)
					}
					if strings.Contains(landed, "foreign") {
						t.Errorf("foreign records landed: %s", landed)
					}
					if !strings.Contains(landed, "home-1") {
						t.Errorf("the first page was not kept: %q", landed)
					}
					if got := far.requests(); len(got) != 0 {
						t.Errorf("the other origin received %d requests: %+v", len(got), got)
					}
				} else {
					if err != nil {
						t.Fatalf("walk: %v", err)
					}
					if !strings.Contains(landed, "foreign-2") || !strings.Contains(landed, "home-1") {
						t.Errorf("landed %q, want the records of both origins", landed)
					}
					got := far.requests()
					if len(got) != 1 {
						t.Fatalf("the allowed origin received %d requests, want 1", len(got))
					}
					switch {
					case tc.wantCreds && !got[0].has:
						t.Errorf("the allowed origin did not receive the credential (send_credentials_to_allowed: true)")
					case !tc.wantCreds && got[0].leak != "":
						t.Errorf("the allowed origin received the credential in its %s", got[0].leak)
					}
				}
				for _, h := range append(home.requests(), far.requests()...) {
					if h.referer != "" {
						t.Errorf("%s received Referer %q", h.path, h.referer)
					}
				}
			})
		}
	}
}

// TestDeltaQueueOriginPolicy: a delta-queue fetch redirected to another
// origin fails the stream; the other origin receives nothing, nothing is
// dead-lettered or cleared (the IDs stay queued); DLQ replay is bound the
// same way.
func TestDeltaQueueOriginPolicy(t *testing.T) {
	t.Setenv("RL_TOKEN", originSecret)
	has := func(r *http.Request) bool { return r.Header.Get("Authorization") == "Bearer "+originSecret }
	far := newUpstream(t, has, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"id":999,"insured":"foreign"}`)
	})
	q := newQueue(6, time.Minute)
	home := newUpstream(t, has, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/records/") {
			http.Redirect(w, r, far.URL+r.URL.Path, http.StatusFound)
			return
		}
		q.ServeHTTP(w, r)
	})
	cfg := strings.Replace(queueCfg, "DEADLINE", "10s", 1)
	cfg = strings.Replace(cfg, `concurrency: 5,`, `concurrency: 5, auth: {type: bearer, token_env: RL_TOKEN},`, 1)
	e := newEnv(t, cfg, home.URL)
	_, err := ingest.Stream(context.Background(), e.opts(state.KindIngest), e.cfg.Streams["certificates"])
	if !errors.Is(err, fetch.ErrForeignOrigin) {
		t.Fatalf("stream error = %v, want ErrForeignOrigin", err)
	}
	if !strings.Contains(err.Error(), far.URL) || !strings.Contains(err.Error(), home.URL) {
		t.Errorf("error does not name both origins: %v", err)
	}
	if got := far.requests(); len(got) != 0 {
		t.Errorf("the other origin received %d requests", len(got))
	}
	q.mu.Lock()
	cleared := len(q.cleared)
	q.mu.Unlock()
	if cleared != 0 {
		t.Errorf("%d IDs were cleared though their records never landed", cleared)
	}
	if dlq, _ := e.store.ListDLQ(context.Background(), "certificates"); len(dlq) != 0 {
		t.Errorf("%d IDs dead-lettered for a foreign redirect", len(dlq))
	}
	if recs, _ := e.allCommitted("certificates"); len(recs) != 0 {
		t.Errorf("landed %d records: %v", len(recs), recs)
	}

	e.store.PutDLQ(context.Background(), []state.DLQEntry{{Stream: "certificates", RunID: state.NewRunID(time.Now()), ID: "2",
		URL: home.URL + "/records/2", Error: "404", Status: 404, Attempts: 1}})
	res, left, err := ingest.ReplayDLQ(context.Background(), e.opts(state.KindIngest), e.cfg.Streams["certificates"])
	if err != nil || left != 1 || res.Run.Records != 0 {
		t.Errorf("replay: %+v, %d left, %v; want the entry kept", res.Run, left, err)
	}
	if got := far.requests(); len(got) != 0 {
		t.Errorf("DLQ replay reached the other origin %d times", len(got))
	}
}

// TestWalkErrorsNeverCarryTheKey: an upstream that echoes the query key in
// its pagination links, then loops or sends a malformed link, fails the
// walk with an error (returned and recorded in the run) free of the key.
func TestWalkErrorsNeverCarryTheKey(t *testing.T) {
	t.Setenv("RL_TOKEN", originSecret)
	cases := []struct {
		name, pagination string
		next             func(base string) string
	}{
		{"Link loop", "{type: link}", func(base string) string { return base + "/items?page=2&k=" + originSecret }},
		{"malformed next_url", "{type: next_url, field: next}", func(base string) string { return "http://[::1%zz/items?k=" + originSecret }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var srv *httptest.Server
			srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				next := tc.next(srv.URL)
				w.Header().Set("Link", "<"+next+`>; rel="next"`)
				fmt.Fprintf(w, `{"data":[{"id":"%s"}],"next":%q}`, r.URL.Query().Get("page"), next)
			}))
			defer srv.Close()
			e := newEnv(t, `
sources:
  api: {base_url: "{{URL}}", auth: {type: query, name: k, value_env: RL_TOKEN}}
streams:
  items:
    source: api
    path: /items
    records: data
    primary_key: [id]
    pagination: `+tc.pagination+`
    schema: schemas/items.json
`, srv.URL)
			_, err := ingest.Stream(context.Background(), e.opts(state.KindIngest), e.cfg.Streams["items"])
			if err == nil {
				t.Fatal("the walk succeeded")
			}
			reported := []string{err.Error()}
			runs, _ := e.store.List(context.Background(), state.RunFilter{Stream: "items"})
			for _, r := range runs {
				reported = append(reported, r.Error)
			}
			for _, s := range reported {
				if strings.Contains(s, originSecret) {
					t.Errorf("the key is reported: %s", s)
				}
			}
		})
	}
}
