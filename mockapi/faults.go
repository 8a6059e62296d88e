package mockapi

import (
	"bytes"
	"context"
	"math"
	"net"
	"net/http"
	"strconv"
	"time"
)

// Random faults. Each decision is unit(hash(seed, request key, kind)) <
// rate, where the request key covers the method, the URL and how often that
// URL was requested before: a sequential client meets the same faults on
// every run, and its retry of a failed URL gets a fresh roll.

func (s *Server) roll(info *reqInfo, kind string) uint64 {
	return hash(s.seed, info.key, salt(kind))
}

func (s *Server) hit(info *reqInfo, kind string, rate float64) bool {
	return rate > 0 && info.faultable && unit(s.roll(info, kind)) < rate
}

// sleepCtx sleeps d or until ctx ends; it reports whether it slept fully.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// withLatency adds Latency + Jitter, plus SpikeLatency on every
// SpikeEvery-th request and inside the spike window.
func (s *Server) withLatency(next http.Handler) http.Handler {
	f := s.opts.Faults
	if f.Latency <= 0 && f.Jitter <= 0 && f.SpikeLatency <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := infoOf(r)
		if info.faultable {
			d := f.Latency
			if f.Jitter > 0 {
				d += time.Duration(unit(s.roll(info, "jitter")) * float64(f.Jitter))
			}
			since := s.now().Sub(s.start)
			if f.SpikeEvery > 0 && info.seq%uint64(f.SpikeEvery) == 0 ||
				f.SpikeFor > 0 && since >= f.SpikeAfter && since < f.SpikeAfter+f.SpikeFor {
				d += f.SpikeLatency
				s.stats.fault(FaultSpike)
			}
			if !sleepCtx(r.Context(), d) { // the client left, or the server is shutting down
				writeError(w, http.StatusServiceUnavailable, "request cancelled: the server is shutting down")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// withConcurrencyLimit answers 429 when more than Faults.MaxConcurrent
// requests are in flight (a "secondary rate limit").
func (s *Server) withConcurrencyLimit(next http.Handler) http.Handler {
	limit := s.opts.Faults.MaxConcurrent
	if limit <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if infoOf(r).inFlight > limit {
			s.stats.fault(FaultConcurrency)
			w.Header().Set("Retry-After", "1")
			writeError(w, http.StatusTooManyRequests, "secondary rate limit: too many concurrent requests, at most "+strconv.Itoa(limit))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// withResets hijacks the connection and resets it without a response.
func (s *Server) withResets(next http.Handler) http.Handler {
	rate := s.opts.Faults.ResetRate
	if rate <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.hit(infoOf(r), "reset", rate) {
			next.ServeHTTP(w, r)
			return
		}
		s.stats.fault(FaultReset)
		s.stats.status(0) // counted before the client can notice
		infoOf(r).noResponse = true
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil { // HTTP/2 or a recorder: abort the stream instead
			panic(http.ErrAbortHandler)
		}
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // RST instead of FIN
		}
		_ = conn.Close()
	})
}

// withHTMLErrors answers an HTML error page (502 or 500), as a proxy in
// front of an API does.
func (s *Server) withHTMLErrors(next http.Handler) http.Handler {
	rate := s.opts.Faults.HTMLErrorRate
	if rate <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := infoOf(r)
		if !s.hit(info, "html", rate) {
			next.ServeHTTP(w, r)
			return
		}
		s.stats.fault(FaultHTML)
		code := http.StatusBadGateway
		if s.roll(info, "html-kind")&1 == 1 {
			code = http.StatusInternalServerError
		}
		text := http.StatusText(code)
		body := []byte(formatHTML(code, text))
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(code)
		_, _ = w.Write(body)
	})
}

func formatHTML(code int, text string) string {
	c := strconv.Itoa(code)
	return "<!DOCTYPE html>\n<html><head><title>" + c + " " + text + "</title></head>\n<body><center><h1>" +
		c + " " + text + "</h1></center><hr><center>nginx</center></body></html>\n"
}

// withTransientErrors answers 503 or 429 with Retry-After: seconds, or for
// one in four an HTTP date.
func (s *Server) withTransientErrors(next http.Handler) http.Handler {
	f := s.opts.Faults
	if f.ErrorRate <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := infoOf(r)
		if !s.hit(info, "transient", f.ErrorRate) {
			next.ServeHTTP(w, r)
			return
		}
		k := s.roll(info, "transient-kind")
		code, kind, msg := http.StatusServiceUnavailable, Fault503, "service unavailable: retry later"
		if k&1 == 1 {
			code, kind, msg = http.StatusTooManyRequests, Fault429, "too many requests: retry later"
		}
		s.stats.fault(kind)
		secs := int64(math.Ceil(f.RetryAfter.Seconds()))
		if (k>>1)%4 == 0 {
			at := s.now().Add(time.Duration(secs+1) * time.Second).UTC()
			w.Header().Set("Retry-After", at.Format(http.TimeFormat))
		} else {
			w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
		}
		writeError(w, code, msg)
	})
}

// withTruncation cuts a 200 body in half: either announcing the full
// Content-Length and closing early (the client sees an unexpected EOF) or
// with a matching Content-Length (the client sees invalid JSON).
func (s *Server) withTruncation(next http.Handler) http.Handler {
	rate := s.opts.Faults.TruncateRate
	if rate <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := infoOf(r)
		if r.Method == http.MethodHead || !s.hit(info, "truncate", rate) {
			next.ServeHTTP(w, r)
			return
		}
		bw := &bufferWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(bw, r)
		body := bw.buf.Bytes()
		if bw.status != http.StatusOK || len(body) < 2 {
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.WriteHeader(bw.status)
			_, _ = w.Write(body)
			return
		}
		s.stats.fault(FaultTruncate)
		cut := body[:len(body)/2]
		if s.roll(info, "truncate-kind")&1 == 0 {
			w.Header().Set("Content-Length", strconv.Itoa(len(body))) // promise more than is sent
		} else {
			w.Header().Set("Content-Length", strconv.Itoa(len(cut)))
		}
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(cut)
	})
}

// bufferWriter holds a response back so that it can be cut.
type bufferWriter struct {
	http.ResponseWriter
	status int
	buf    bytes.Buffer
}

func (w *bufferWriter) WriteHeader(code int)        { w.status = code }
func (w *bufferWriter) Write(b []byte) (int, error) { return w.buf.Write(b) }
