package fetch

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestAuthAppliedAndSecretsRedacted(t *testing.T) {
	const secret = "s3cr3t/t0ken+value=="
	tests := []struct {
		name  string
		auth  Auth
		check func(r *http.Request) bool
	}{
		{"bearer", BearerAuth(secret), func(r *http.Request) bool {
			return r.Header.Get("Authorization") == "Bearer "+secret
		}},
		{"basic", BasicAuth("svc-user", secret), func(r *http.Request) bool {
			u, p, ok := r.BasicAuth()
			return ok && u == "svc-user" && p == secret
		}},
		{"header", HeaderAuth("X-Api-Key", secret), func(r *http.Request) bool {
			return r.Header.Get("X-Api-Key") == secret
		}},
		{"query", QueryAuth("api_key", secret), func(r *http.Request) bool {
			return r.URL.Query().Get("api_key") == secret && r.URL.Query().Get("page") == "2"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := newServer(t, func(w http.ResponseWriter, r *http.Request, n int64) {
				if !tt.check(r) {
					writeJSON(w, 401, `{"error":"bad credentials"}`)
					return
				}
				if r.URL.Path == "/missing" {
					// An upstream that echoes what it got, secrets included.
					dump, _ := json.Marshal(map[string]any{"error": "not found", "url": r.URL.String(), "headers": r.Header})
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(404)
					_, _ = w.Write(dump)
					return
				}
				writeJSON(w, 200, `{"ok":true}`)
			})
			buf := &syncBuffer{}
			c := newTestClient(t, newFakeClock(t), Options{Auth: tt.auth, Logger: jsonLogger(buf)})
			ctx := testContext(t)
			resp, err := c.Do(ctx, Request{URL: srv.URL + "/items?page=2", Stream: "issues", RunID: "run-1"})
			if err != nil {
				t.Fatalf("Do: %v", err)
			}
			_, err404 := c.Do(ctx, Request{URL: srv.URL + "/missing?page=2", Stream: "issues", RunID: "run-1"})
			var he *HTTPError
			if !errors.As(err404, &he) || he.Status != 404 {
				t.Fatalf("err = %v, want 404", err404)
			}
			logs := buf.String()
			if !strings.Contains(logs, `"run_id":"run-1"`) || !strings.Contains(logs, `"stream":"issues"`) || !strings.Contains(logs, `"path":"/items?page=2`) {
				t.Errorf("log lines lack run_id, stream or path:\n%s", logs)
			}
			for where, s := range map[string]string{
				"logs": logs, "Response.URL": resp.URL, "error": err404.Error(),
				"BodyStart": he.BodyStart, "HTTPError.URL": he.URL,
			} {
				for _, form := range []string{secret, url.QueryEscape(secret), base64.StdEncoding.EncodeToString([]byte("svc-user:" + secret))} {
					if strings.Contains(s, form) {
						t.Errorf("secret form %q leaked into %s: %s", form, where, s)
					}
				}
			}
		})
	}
}

func TestHeaderAuthNotSentToOtherHostOnRedirect(t *testing.T) {
	other, _ := newServer(t, func(w http.ResponseWriter, r *http.Request, n int64) {
		if r.Header.Get("X-Api-Key") != "" {
			writeJSON(w, 400, `{"error":"key leaked to another host"}`)
			return
		}
		writeJSON(w, 200, `{}`)
	})
	// Same address, different host name: net/http treats it as another host.
	otherURL := strings.Replace(other.URL, "127.0.0.1", "localhost", 1)
	srv, _ := newServer(t, func(w http.ResponseWriter, r *http.Request, n int64) {
		http.Redirect(w, r, otherURL+"/landing", http.StatusFound)
	})
	c := newTestClient(t, newFakeClock(t), Options{Auth: HeaderAuth("X-Api-Key", "k-123456")})
	if _, err := c.Do(testContext(t), Request{URL: srv.URL}); err != nil {
		t.Fatalf("Do: %v", err)
	}
}
