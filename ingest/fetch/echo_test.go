package fetch

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestEchoedSecretsNeverReported: an upstream that echoes the credential
// in error bodies, tracking headers and redirect Locations (to its own
// origin, to another one, or malformed) never gets it into an error, a log
// line, Response.URL or a tracking ID, for every auth type.
func TestEchoedSecretsNeverReported(t *testing.T) {
	basic := base64.StdEncoding.EncodeToString([]byte("robot:" + originSecret))
	echo := fmt.Sprintf(`{"error":"bad token %s","auth":"Bearer %s","basic":"Basic %s","q":"%s"}`,
		originSecret, originSecret, basic, url.QueryEscape(originSecret))
	cases := []struct {
		name    string
		handler func(farURL string) func(w http.ResponseWriter, r *http.Request, n int64)
		wantErr bool
	}{
		{"error body and tracking header", func(string) func(http.ResponseWriter, *http.Request, int64) {
			return func(w http.ResponseWriter, r *http.Request, n int64) {
				w.Header().Set("X-Request-Id", "req-"+originSecret)
				writeJSON(w, 400, echo)
			}
		}, true},
		{"retried 503 with echo", func(string) func(http.ResponseWriter, *http.Request, int64) {
			return func(w http.ResponseWriter, r *http.Request, n int64) {
				w.Header().Set("X-Request-Id", originSecret)
				writeJSON(w, 503, echo)
			}
		}, true},
		{"redirect to own origin with the key in Location", func(string) func(http.ResponseWriter, *http.Request, int64) {
			return func(w http.ResponseWriter, r *http.Request, n int64) {
				if r.URL.Path == "/start" {
					w.Header().Set("Location", "/next?k="+url.QueryEscape(originSecret)+"&token="+originSecret)
					w.WriteHeader(302)
					return
				}
				w.Header().Set("X-Request-Id", originSecret)
				writeJSON(w, 200, `[]`)
			}
		}, false},
		{"redirect to own origin then error", func(string) func(http.ResponseWriter, *http.Request, int64) {
			return func(w http.ResponseWriter, r *http.Request, n int64) {
				if r.URL.Path == "/start" {
					w.Header().Set("Location", "/next/"+originSecret+"?k="+originSecret)
					w.WriteHeader(307)
					return
				}
				writeJSON(w, 404, echo)
			}
		}, true},
		{"redirect to another origin with the key in Location", func(far string) func(http.ResponseWriter, *http.Request, int64) {
			return func(w http.ResponseWriter, r *http.Request, n int64) {
				w.Header().Set("Location", far+"/x/"+originSecret+"?key="+originSecret)
				w.WriteHeader(302)
			}
		}, true},
		{"malformed Location with the key", func(string) func(http.ResponseWriter, *http.Request, int64) {
			return func(w http.ResponseWriter, r *http.Request, n int64) {
				w.Header().Set("Location", "http://[::1%zz/?k="+originSecret)
				w.WriteHeader(302)
			}
		}, true},
	}
	for _, a := range originAuths {
		for _, tc := range cases {
			t.Run(a.name+"/"+tc.name, func(t *testing.T) {
				far, _ := newServer(t, func(w http.ResponseWriter, r *http.Request, n int64) { writeJSON(w, 200, `[]`) })
				srv, _ := newServer(t, tc.handler(far.URL))
				var logs syncBuffer
				c := newTestClient(t, newFakeClock(t), Options{Auth: a.auth, BaseURL: srv.URL, Logger: jsonLogger(&logs),
					Retry: Retry{MaxAttempts: 2}})
				resp, err := c.Do(testContext(t), Request{URL: srv.URL + "/start"})
				if (err != nil) != tc.wantErr {
					t.Fatalf("Do error = %v, want error: %v", err, tc.wantErr)
				}
				var reported []string
				if err != nil {
					reported = append(reported, err.Error())
					var he *HTTPError
					if errors.As(err, &he) {
						reported = append(reported, he.URL, he.BodyStart, he.TrackingID)
					}
				} else {
					reported = append(reported, resp.URL, resp.TrackingID)
				}
				reported = append(reported, logs.String())
				forms := []string{originSecret, url.QueryEscape(originSecret)}
				if a.name == "basic" {
					forms = append(forms, basic) // what the client sent, echoed
				}
				for _, s := range reported {
					for _, form := range forms {
						if strings.Contains(s, form) {
							t.Errorf("the credential is reported: %s", s)
						}
					}
				}
			})
		}
	}
}
