package fetch

import (
	"net/http"
	"testing"
)

// TestResponseValidJSON checks that a Response says its body is one valid
// JSON document only when it is (the caller then skips validating it).
func TestResponseValidJSON(t *testing.T) {
	cases := []struct {
		name, ct, body string
		want           bool
	}{
		{"array", "application/json", `[{"a":1},{"b":2}]`, true},
		{"object with leading space", "application/json", "  \n{\"data\":[]}", true},
		{"ndjson", "application/x-ndjson", "{\"a\":1}\n{\"a\":2}\n", false},
		{"json-seq", "application/json-seq", "\x1e{\"a\":1}\n", false},
		{"plain text", "text/plain", "hello", false},
		{"empty", "application/json", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := newServer(t, func(w http.ResponseWriter, r *http.Request, n int64) {
				w.Header().Set("Content-Type", tc.ct)
				_, _ = w.Write([]byte(tc.body))
			})
			c := newTestClient(t, newFakeClock(t), Options{MaxResponseBytes: 1 << 20})
			resp, err := c.Do(testContext(t), Request{URL: srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			if resp.ValidJSON != tc.want {
				t.Errorf("ValidJSON = %v, want %v", resp.ValidJSON, tc.want)
			}
		})
	}
}
