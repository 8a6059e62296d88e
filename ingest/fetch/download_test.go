package fetch

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestDownloadAnonymous opens a download on another origin that redirects
// to a third, for every auth type: neither receives any trace of the
// credential or a Referer; the answer's URL leaves out the query.
func TestDownloadAnonymous(t *testing.T) {
	for _, a := range originAuths {
		t.Run(a.name, func(t *testing.T) {
			home := newRecorder(t, a.has)
			store := newRecorder(t, a.has)
			hop := newRecorder(t, a.has)
			hop.handle = func(w http.ResponseWriter, r *http.Request) bool {
				http.Redirect(w, r, store.URL+"/file?X-Amz-Signature=abc", http.StatusFound)
				return true
			}
			c := newTestClient(t, newFakeClock(t), Options{Auth: a.auth, BaseURL: home.URL, Headers: map[string]string{"X-Source-Header": originSecret}})
			b, err := c.Open(testContext(t), Download{URL: hop.URL + "/presigned?sig=xyz", Anonymous: true})
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, b)
			b.Close()
			if strings.Contains(b.URL, "Signature") || !strings.HasSuffix(b.URL, "/file?…") {
				t.Errorf("answer URL %q: want the final URL without its query", b.URL)
			}
			for _, rec := range []*recorder{hop, store} {
				for _, s := range rec.requests() {
					if s.leak != "" || s.has || s.referer != "" {
						t.Errorf("%s received %+v", rec.URL, s)
					}
				}
			}
			if len(store.requests()) != 1 || len(home.requests()) != 0 {
				t.Errorf("store saw %d requests, home %d; want 1 and 0", len(store.requests()), len(home.requests()))
			}
		})
	}
}

// TestDownloadCredentialedAndRanged: a credentialed download to the home
// origin carries the credential and a Range; a 206 whose Content-Range does
// not start at the asked offset is refused.
func TestDownloadCredentialedAndRanged(t *testing.T) {
	a := originAuths[0]
	home := newRecorder(t, a.has)
	home.handle = func(w http.ResponseWriter, r *http.Request) bool {
		if r.Header.Get("Range") == "bytes=5-" {
			w.Header().Set("Content-Range", "bytes 5-9/10")
			if strings.Contains(r.URL.Path, "wrong") {
				w.Header().Set("Content-Range", "bytes 0-9/10")
			}
			w.WriteHeader(http.StatusPartialContent)
			io.WriteString(w, "56789")
			return true
		}
		return false
	}
	c := newTestClient(t, newFakeClock(t), Options{Auth: a.auth, BaseURL: home.URL})
	b, err := c.Open(testContext(t), Download{URL: home.URL + "/f", Offset: 5})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(b)
	b.Close()
	if string(got) != "56789" || b.Offset != 5 || b.Size != 10 {
		t.Errorf("ranged answer: %q at %d of %d", got, b.Offset, b.Size)
	}
	if s := home.requests(); len(s) != 1 || !s[0].has {
		t.Errorf("home received %+v, want one request with the credential", s)
	}
	if _, err := c.Open(testContext(t), Download{URL: home.URL + "/wrong", Offset: 5}); err == nil || !strings.Contains(err.Error(), "does not start at the asked offset") {
		t.Errorf("a 206 from the wrong offset: got %v", err)
	}
}
