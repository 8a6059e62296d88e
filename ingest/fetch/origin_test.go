package fetch

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

const originSecret = "s3cr3t-KEY-9f"

// originAuths are every auth type, each with a check that a request carries
// its credential.
var originAuths = []struct {
	name string
	auth Auth
	has  func(r *http.Request) bool
}{
	{"bearer", BearerAuth(originSecret), func(r *http.Request) bool { return r.Header.Get("Authorization") == "Bearer "+originSecret }},
	{"basic", BasicAuth("robot", originSecret), func(r *http.Request) bool {
		u, p, ok := r.BasicAuth()
		return ok && u == "robot" && p == originSecret
	}},
	{"header", HeaderAuth("X-Api-Key", originSecret), func(r *http.Request) bool { return r.Header.Get("X-Api-Key") == originSecret }},
	{"query", QueryAuth("api_key", originSecret), func(r *http.Request) bool { return r.URL.Query().Get("api_key") == originSecret }},
}

// seenRequest is what a server received.
type seenRequest struct {
	path    string
	query   string
	referer string
	leak    string // the credential trace found, "" if none
	has     bool   // carries the auth's credential
}

// recorder is an httptest server on 127.0.0.1 that records what it
// receives and answers with handle (200 {} when handle is nil or returns
// false).
type recorder struct {
	*httptest.Server
	mu     sync.Mutex
	seen   []seenRequest
	has    func(*http.Request) bool
	handle func(w http.ResponseWriter, r *http.Request) bool
}

func newRecorder(t *testing.T, has func(*http.Request) bool) *recorder {
	t.Helper()
	rec := &recorder{has: has}
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.mu.Lock()
		rec.seen = append(rec.seen, seenRequest{path: r.URL.Path, query: r.URL.RawQuery, referer: r.Header.Get("Referer"), leak: credentialTrace(r), has: has(r)})
		h := rec.handle
		rec.mu.Unlock()
		if h != nil && h(w, r) {
			return
		}
		writeJSON(w, 200, `{"from":"`+r.Host+`"}`)
	}))
	t.Cleanup(rec.Close)
	return rec
}

func (rec *recorder) requests() []seenRequest {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]seenRequest(nil), rec.seen...)
}

// credentialTrace returns where r carries any form of the secret or any
// credential header ("" if nowhere).
func credentialTrace(r *http.Request) string {
	basic := base64.StdEncoding.EncodeToString([]byte("robot:" + originSecret))
	for k, vs := range r.Header {
		for _, v := range vs {
			if k == "Authorization" || k == "X-Api-Key" || strings.Contains(v, originSecret) || strings.Contains(v, basic) {
				return "header " + k
			}
		}
	}
	if q, _ := url.QueryUnescape(r.URL.RawQuery); strings.Contains(q, originSecret) || strings.Contains(r.URL.RawQuery, originSecret) {
		return "query " + r.URL.RawQuery
	}
	return ""
}

// TestOriginPolicy sends requests whose URL or redirects lead off the base
// origin, for every auth type, and checks what the other origin received
// (another port on 127.0.0.1 is another origin) and whether Do failed.
func TestOriginPolicy(t *testing.T) {
	type place int
	const (
		home place = iota
		foreign
		foreignByName // the foreign server named localhost instead of 127.0.0.1
	)
	cases := []struct {
		name    string
		noBase  bool   // Options.BaseURL unset
		allowed bool   // the foreign origin is in AllowedOrigins
		send    bool   // SendCredentialsToAllowed
		target  place  // where Do's URL points
		query   string // added to Do's URL
		// redirect: home answers the first request with this status and a
		// Location on the foreign server (0: no redirect)
		redirect int
		toHome   bool // the redirect leads to another path on home instead

		wantErr          bool
		wantForeignHits  int
		wantForeignCreds bool
		wantHomeHits     int
	}{
		{name: "request to another port", target: foreign, wantErr: true},
		{name: "request to allowed origin without credentials", target: foreign, allowed: true, wantForeignHits: 1},
		{name: "request to allowed origin with credentials", target: foreign, allowed: true, send: true, wantForeignHits: 1, wantForeignCreds: true},
		{name: "echoed key stripped for allowed origin", target: foreign, allowed: true, query: "page=2&api_key=" + originSecret + "&echo=" + url.QueryEscape(originSecret), wantForeignHits: 1},
		{name: "302 to same host other port", target: home, redirect: 302, wantErr: true, wantHomeHits: 1},
		{name: "307 to same host other port", target: home, redirect: 307, wantErr: true, wantHomeHits: 1},
		{name: "301 to another host name", target: home, redirect: 301, wantErr: true, wantHomeHits: 1},
		{name: "302 to allowed origin without credentials", target: home, redirect: 302, allowed: true, wantForeignHits: 1, wantHomeHits: 1},
		{name: "307 to allowed origin without credentials", target: home, redirect: 307, allowed: true, wantForeignHits: 1, wantHomeHits: 1},
		{name: "302 to allowed origin with credentials", target: home, redirect: 302, allowed: true, send: true, wantForeignHits: 1, wantForeignCreds: true, wantHomeHits: 1},
		{name: "no base URL: 302 to other port followed without credentials", noBase: true, target: home, redirect: 302, wantForeignHits: 1, wantHomeHits: 1},
		{name: "no base URL: 307 to other port followed without credentials", noBase: true, target: home, redirect: 307, wantForeignHits: 1, wantHomeHits: 1},
		{name: "302 within the base origin keeps credentials", target: home, redirect: 302, toHome: true, wantHomeHits: 2},
	}
	for _, a := range originAuths {
		for _, tc := range cases {
			t.Run(a.name+"/"+tc.name, func(t *testing.T) {
				far := newRecorder(t, a.has)
				farURL := far.URL
				if tc.name == "301 to another host name" {
					farURL = strings.Replace(far.URL, "127.0.0.1", "localhost", 1)
				}
				near := newRecorder(t, a.has)
				near.handle = func(w http.ResponseWriter, r *http.Request) bool {
					if tc.redirect == 0 || r.URL.Path != "/start" {
						return false
					}
					loc := farURL + "/landing?page=2"
					if tc.toHome {
						loc = "/landing?page=2"
					}
					w.Header().Set("Location", loc)
					w.WriteHeader(tc.redirect)
					return true
				}
				opts := Options{Auth: a.auth, BaseURL: near.URL + "/v1"}
				if tc.noBase {
					opts.BaseURL = ""
				}
				if tc.allowed {
					opts.AllowedOrigins = []string{farURL}
					opts.SendCredentialsToAllowed = tc.send
				}
				c := newTestClient(t, newFakeClock(t), opts)
				u := near.URL + "/start"
				if tc.target == foreign {
					u = farURL + "/start"
				}
				if tc.query != "" {
					u += "?" + tc.query
				}
				resp, err := c.Do(testContext(t), Request{URL: u, Body: []byte(`{}`), Method: http.MethodPost})
				if (err != nil) != tc.wantErr {
					t.Fatalf("Do error = %v, want error: %v", err, tc.wantErr)
				}
				if err != nil {
					var oe *OriginError
					if !errors.As(err, &oe) || !errors.Is(err, ErrForeignOrigin) {
						t.Fatalf("error %v (%T) is not an *OriginError", err, err)
					}
					farOrigin := strings.TrimSuffix(strings.TrimPrefix(farURL, "http://"), "/")
					msg := err.Error()
					for _, want := range []string{"http://" + farOrigin, near.URL, "allowed_origins"} {
						if !strings.Contains(msg, want) {
							t.Errorf("error %q does not mention %q", msg, want)
						}
					}
					if strings.Contains(msg, originSecret) {
						t.Errorf("error leaks the secret: %s", msg)
					}
				} else if strings.Contains(resp.URL, originSecret) {
					t.Errorf("Response.URL leaks the secret: %s", resp.URL)
				}
				got := far.requests()
				if len(got) != tc.wantForeignHits {
					t.Errorf("foreign origin got %d requests, want %d: %+v", len(got), tc.wantForeignHits, got)
				}
				for _, r := range got {
					if r.referer != "" {
						t.Errorf("foreign origin got Referer %q", r.referer)
					}
					if tc.wantForeignCreds && !r.has {
						t.Errorf("allowed origin with send_credentials_to_allowed got no credential")
					}
					if !tc.wantForeignCreds && r.leak != "" {
						t.Errorf("foreign origin got the credential in %s", r.leak)
					}
					if tc.query != "" && !strings.Contains(r.query, "page=2") {
						t.Errorf("foreign origin query %q lost the other parameters", r.query)
					}
				}
				nearGot := near.requests()
				if tc.wantHomeHits > 0 && len(nearGot) != tc.wantHomeHits {
					t.Errorf("home got %d requests, want %d (a refused origin must not be retried)", len(nearGot), tc.wantHomeHits)
				}
				for i, r := range nearGot {
					if !r.has {
						t.Errorf("home request %d (%s) lacks the credential", i+1, r.path)
					}
					if r.referer != "" {
						t.Errorf("home request %d got Referer %q", i+1, r.referer)
					}
				}
			})
		}
	}
}

// TestOriginPolicyNoAuthStillRefuses checks that the origin bound holds
// without credentials too: foreign records never land.
func TestOriginPolicyNoAuthStillRefuses(t *testing.T) {
	far := newRecorder(t, func(*http.Request) bool { return false })
	near := newRecorder(t, func(*http.Request) bool { return false })
	c := newTestClient(t, newFakeClock(t), Options{BaseURL: near.URL})
	if _, err := c.Do(testContext(t), Request{URL: far.URL + "/x"}); !errors.Is(err, ErrForeignOrigin) {
		t.Fatalf("Do = %v, want ErrForeignOrigin", err)
	}
	if n := len(far.requests()); n != 0 {
		t.Errorf("foreign origin got %d requests", n)
	}
}

// TestOriginPolicyCredentialInPath refuses a URL to an origin that may not
// receive the credential when the credential sits in its path.
func TestOriginPolicyCredentialInPath(t *testing.T) {
	far := newRecorder(t, func(*http.Request) bool { return false })
	near := newRecorder(t, func(*http.Request) bool { return false })
	c := newTestClient(t, newFakeClock(t), Options{BaseURL: near.URL, AllowedOrigins: []string{far.URL}, Auth: QueryAuth("key", originSecret)})
	_, err := c.Do(testContext(t), Request{URL: far.URL + "/files/" + originSecret + "/a.json"})
	if !errors.Is(err, ErrForeignOrigin) {
		t.Fatalf("Do = %v, want ErrForeignOrigin", err)
	}
	if strings.Contains(err.Error(), originSecret) {
		t.Errorf("error leaks the secret: %v", err)
	}
	if n := len(far.requests()); n != 0 {
		t.Errorf("foreign origin got %d requests", n)
	}
}

func TestNewRejectsBadOrigins(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"relative base URL", Options{Source: "s", BaseURL: "/v1"}},
		{"ftp base URL", Options{Source: "s", BaseURL: "ftp://files.example.com"}},
		{"allowed origin without scheme", Options{Source: "s", BaseURL: "https://a.example.com", AllowedOrigins: []string{"files.example.com"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.opts); err == nil {
				t.Fatal("New accepted it")
			}
		})
	}
}
