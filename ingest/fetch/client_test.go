package fetch

import (
	"bytes"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
)

func TestDoRetriesTransientStatusesThenSucceeds(t *testing.T) {
	tests := []struct {
		name   string
		status int
		ctype  string
		body   string
	}{
		{"408 request timeout", 408, "application/json", `{"error":"timeout"}`},
		{"429 too many requests", 429, "application/json", `{"error":"slow down"}`},
		{"500 internal error", 500, "application/json", `{"error":"oops"}`},
		{"502 bad gateway", 502, "text/html", `<html>bad gateway</html>`},
		{"503 unavailable", 503, "application/json", `{"error":"maintenance"}`},
		{"504 gateway timeout", 504, "text/html", `<html>timeout</html>`},
		{"403 rate limit", 403, "application/json", `{"message":"API rate limit exceeded"}`},
		{"520 proxy html page", 520, "text/html", `<!DOCTYPE html><title>origin error</title>`},
		{"422 truncated json", 422, "application/json", `{"errors":[{"field":"na`},
		{"200 truncated json", 200, "application/json", `{"items":[{"id":1},{"id":`},
		{"200 truncated json without content type", 200, "text/plain", `[{"id":1},{"id":`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const failures = 2
			srv, hits := newServer(t, func(w http.ResponseWriter, r *http.Request, n int64) {
				if n <= failures {
					w.Header().Set("Content-Type", tt.ctype)
					w.WriteHeader(tt.status)
					_, _ = w.Write([]byte(tt.body))
					return
				}
				writeJSON(w, 200, `[{"id":1}]`)
			})
			c := newTestClient(t, newFakeClock(t), Options{})
			resp, err := c.Do(testContext(t), Request{URL: srv.URL + "/items"})
			if err != nil {
				t.Fatalf("Do: %v", err)
			}
			if resp.Attempts != failures+1 || hits.Load() != failures+1 {
				t.Errorf("attempts = %d, server hits = %d, want %d", resp.Attempts, hits.Load(), failures+1)
			}
			if string(resp.Body) != `[{"id":1}]` {
				t.Errorf("body = %q", resp.Body)
			}
			if got := c.Stats().Retries; got != failures {
				t.Errorf("Stats().Retries = %d, want %d", got, failures)
			}
		})
	}
}

func TestDoFailsAtOnceOnPermanentStatus(t *testing.T) {
	tests := []struct {
		name   string
		status int
	}{
		{"400", 400}, {"401", 401}, {"403 forbidden", 403}, {"404", 404}, {"409", 409}, {"422", 422}, {"501", 501},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, hits := newServer(t, func(w http.ResponseWriter, r *http.Request, n int64) {
				w.Header().Set("Trackingid", "trk-"+strconv.Itoa(tt.status))
				writeJSON(w, tt.status, `{"message":"permission denied for this resource"}`)
			})
			c := newTestClient(t, newFakeClock(t), Options{TrackingHeader: "Trackingid"})
			_, err := c.Do(testContext(t), Request{URL: srv.URL + "/x"})
			var he *HTTPError
			if !errors.As(err, &he) {
				t.Fatalf("err = %v, want *HTTPError", err)
			}
			if he.Status != tt.status || he.Attempts != 1 || he.Retryable || hits.Load() != 1 {
				t.Errorf("status %d attempts %d retryable %v hits %d; want %d, 1, false, 1", he.Status, he.Attempts, he.Retryable, hits.Load(), tt.status)
			}
			if he.TrackingID != "trk-"+strconv.Itoa(tt.status) {
				t.Errorf("tracking id = %q", he.TrackingID)
			}
		})
	}
}

func TestDo404CarriesStatusURLTrackingIDAndBody(t *testing.T) {
	const secret = "k3y-5ecret-value"
	srv, hits := newServer(t, func(w http.ResponseWriter, r *http.Request, n int64) {
		w.Header().Set("Trackingid", "trk-abc-123")
		// A careless upstream echoes the key back.
		writeJSON(w, 404, `{"message":"record 42 not found","request":"`+r.URL.RawQuery+`","detail":"`+strings.Repeat("pad ", 100)+`"}`)
	})
	c := newTestClient(t, newFakeClock(t), Options{TrackingHeader: "Trackingid", Auth: QueryAuth("api_key", secret)})
	_, err := c.Do(testContext(t), Request{URL: srv.URL + "/records/42?fields=all"})
	var he *HTTPError
	if !errors.As(err, &he) {
		t.Fatalf("err = %v, want *HTTPError", err)
	}
	if he.Status != 404 || he.Attempts != 1 || hits.Load() != 1 {
		t.Errorf("status %d attempts %d hits %d", he.Status, he.Attempts, hits.Load())
	}
	if he.TrackingID != "trk-abc-123" {
		t.Errorf("TrackingID = %q", he.TrackingID)
	}
	if want := srv.URL + "/records/42?fields=all&api_key=REDACTED"; he.URL != want {
		t.Errorf("URL = %q, want %q", he.URL, want)
	}
	if !strings.Contains(he.BodyStart, "record 42 not found") || len(he.BodyStart) > 210 {
		t.Errorf("BodyStart = %q", he.BodyStart)
	}
	for _, s := range []string{he.Error(), he.BodyStart, he.URL} {
		if strings.Contains(s, secret) {
			t.Errorf("secret leaked: %q", s)
		}
	}
}

func TestDoGivesUpAfterMaxAttempts(t *testing.T) {
	srv, hits := newServer(t, func(w http.ResponseWriter, r *http.Request, n int64) {
		writeJSON(w, 503, `{"error":"down"}`)
	})
	c := newTestClient(t, newFakeClock(t), Options{Retry: Retry{MaxAttempts: 3}})
	_, err := c.Do(testContext(t), Request{URL: srv.URL})
	var he *HTTPError
	if !errors.As(err, &he) || he.Status != 503 || he.Attempts != 3 || !he.Retryable {
		t.Fatalf("err = %#v, want retryable 503 after 3 attempts", err)
	}
	if hits.Load() != 3 {
		t.Errorf("server hits = %d, want 3", hits.Load())
	}
}

func TestDoRetriesBrokenTransfers(t *testing.T) {
	gz := func(s string) []byte {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		_, _ = zw.Write([]byte(s))
		_ = zw.Close()
		return b.Bytes()
	}
	full := gz(`[{"id":1},{"id":2}]`)
	tests := []struct {
		name string
		fail func(w http.ResponseWriter, r *http.Request)
	}{
		{"content-length longer than body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "100")
			_, _ = w.Write([]byte(`[{"id":1},`))
		}},
		{"truncated gzip stream", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Encoding", "gzip")
			_, _ = w.Write(full[:len(full)/2])
		}},
		{"connection reset", func(w http.ResponseWriter, r *http.Request) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				return
			}
			if tc, ok := conn.(*net.TCPConn); ok {
				_ = tc.SetLinger(0) // close with RST
			}
			_ = conn.Close()
		}},
		{"connection closed before answer", func(w http.ResponseWriter, r *http.Request) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				_ = conn.Close()
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, hits := newServer(t, func(w http.ResponseWriter, r *http.Request, n int64) {
				if n == 1 {
					tt.fail(w, r)
					return
				}
				w.Header().Set("Content-Encoding", "gzip")
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write(full)
			})
			c := newTestClient(t, newFakeClock(t), Options{})
			resp, err := c.Do(testContext(t), Request{URL: srv.URL})
			if err != nil {
				t.Fatalf("Do: %v", err)
			}
			if resp.Attempts != 2 || hits.Load() != 2 {
				t.Errorf("attempts %d, hits %d, want 2", resp.Attempts, hits.Load())
			}
			if string(resp.Body) != `[{"id":1},{"id":2}]` {
				t.Errorf("body = %q", resp.Body)
			}
		})
	}
}

func TestDoRetriesTimeout(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	srv, hits := newServer(t, func(w http.ResponseWriter, r *http.Request, n int64) {
		if n == 1 {
			select { // hang until the client gives up
			case <-r.Context().Done():
			case <-release:
			}
			return
		}
		writeJSON(w, 200, `{}`)
	})
	c := newTestClient(t, newFakeClock(t), Options{Timeout: 100 * time.Millisecond})
	resp, err := c.Do(testContext(t), Request{URL: srv.URL})
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	if resp.Attempts != 2 || hits.Load() != 2 {
		t.Errorf("attempts %d hits %d, want 2", resp.Attempts, hits.Load())
	}
}

func TestDoTransportErrorIsWrappedAndRedacted(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens there now: connection refused
	const secret = "qu3ry-secret-xyz"
	buf := &syncBuffer{}
	c := newTestClient(t, newFakeClock(t), Options{Auth: QueryAuth("token", secret), Retry: Retry{MaxAttempts: 2}, Logger: jsonLogger(buf)})
	_, err = c.Do(testContext(t), Request{URL: "http://" + addr + "/x?a=1"})
	var te *TransportError
	if !errors.As(err, &te) {
		t.Fatalf("err = %v, want *TransportError", err)
	}
	if te.Attempts != 2 || !strings.Contains(te.URL, "token=REDACTED") {
		t.Errorf("attempts %d url %q", te.Attempts, te.URL)
	}
	if strings.Contains(err.Error(), secret) || strings.Contains(buf.String(), secret) {
		t.Errorf("secret leaked: %v / %s", err, buf.String())
	}
}

func TestDoDecodesGzipAndRejectsBombs(t *testing.T) {
	var bomb bytes.Buffer
	zw := gzip.NewWriter(&bomb)
	_, _ = zw.Write(make([]byte, 8<<20)) // 8 MiB of zeros, a few KiB compressed
	_ = zw.Close()
	var small bytes.Buffer
	zw = gzip.NewWriter(&small)
	_, _ = zw.Write([]byte(`{"ok":true}`))
	_ = zw.Close()

	tests := []struct {
		name     string
		body     []byte
		gzipped  bool
		wantErr  error
		wantBody string
	}{
		{"gzip decoded", small.Bytes(), true, nil, `{"ok":true}`},
		{"gzip bomb", bomb.Bytes(), true, ErrResponseTooLarge, ""},
		{"plain body over limit", bytes.Repeat([]byte("a"), 2<<20), false, ErrResponseTooLarge, ""},
		{"plain body at limit", bytes.Repeat([]byte("a"), 1<<20), false, nil, strings.Repeat("a", 1<<20)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var gotAE atomic.Value
			srv, hits := newServer(t, func(w http.ResponseWriter, r *http.Request, n int64) {
				gotAE.Store(r.Header.Get("Accept-Encoding"))
				if tt.gzipped {
					w.Header().Set("Content-Encoding", "gzip")
				}
				_, _ = w.Write(tt.body)
			})
			c := newTestClient(t, newFakeClock(t), Options{MaxResponseBytes: 1 << 20})
			resp, err := c.Do(testContext(t), Request{URL: srv.URL + "/big"})
			if gotAE.Load() != "gzip" {
				t.Errorf("Accept-Encoding = %v, want gzip", gotAE.Load())
			}
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), srv.URL+"/big") || !strings.Contains(err.Error(), "1048576") {
					t.Errorf("error lacks URL or limit: %v", err)
				}
				if hits.Load() != 1 {
					t.Errorf("server hits = %d, want 1 (not retried)", hits.Load())
				}
				return
			}
			if err != nil {
				t.Fatalf("Do: %v", err)
			}
			if string(resp.Body) != tt.wantBody {
				t.Errorf("body = %.40q", resp.Body)
			}
		})
	}
}

func TestConcurrencyNeverExceedsLimit(t *testing.T) {
	const limit, callers = 5, 50
	var cur, peak, served atomic.Int64
	var reached atomic.Bool
	srv, _ := newServer(t, func(w http.ResponseWriter, r *http.Request, n int64) {
		now := cur.Add(1)
		for {
			p := peak.Load()
			if now <= p || peak.CompareAndSwap(p, now) {
				break
			}
		}
		// Hold the first wave until the limit is reached, so the test shows
		// the cap is hit, not merely never approached. Bounded: 2s at most.
		if now >= limit {
			reached.Store(true)
		}
		if served.Add(1) <= limit {
			for i := 0; i < 2000 && !reached.Load(); i++ {
				time.Sleep(time.Millisecond)
			}
		}
		cur.Add(-1)
		writeJSON(w, 200, `{}`)
	})
	c := newTestClient(t, newFakeClock(t), Options{Concurrency: limit})
	ctx := testContext(t)
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range callers {
		wg.Go(func() {
			if _, err := c.Do(ctx, Request{URL: srv.URL}); err != nil {
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	if failed.Load() != 0 {
		t.Fatalf("%d calls failed", failed.Load())
	}
	if peak.Load() != limit {
		t.Errorf("server saw %d requests in flight at most, want exactly %d", peak.Load(), limit)
	}
	if s := c.Stats(); s.MaxInFlight > limit || s.Requests != callers {
		t.Errorf("stats = %+v", s)
	}
}

func TestDoResendsBodyOnRetry(t *testing.T) {
	var bodies []string
	var mu sync.Mutex
	srv, _ := newServer(t, func(w http.ResponseWriter, r *http.Request, n int64) {
		b := new(bytes.Buffer)
		_, _ = b.ReadFrom(r.Body)
		mu.Lock()
		bodies = append(bodies, r.Method+" "+r.Header.Get("Content-Type")+" "+b.String())
		mu.Unlock()
		if n == 1 {
			writeJSON(w, 502, `{}`)
			return
		}
		writeJSON(w, 200, `{"cleared":2}`)
	})
	c := newTestClient(t, newFakeClock(t), Options{})
	if _, err := c.Do(testContext(t), Request{Method: "post", URL: srv.URL + "/delta/clear", Body: []byte(`{"ids":[1,2]}`)}); err != nil {
		t.Fatalf("Do: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := `POST application/json {"ids":[1,2]}`
	if len(bodies) != 2 || bodies[0] != want || bodies[1] != want {
		t.Errorf("server got %q, want twice %q", bodies, want)
	}
}
