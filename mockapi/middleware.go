package mockapi

import (
	"context"
	"fmt"
	"net/http"
	"strings"
)

// The server is a chain of small middlewares around the endpoint mux, one
// per concern (see New for the order). A fault is one more middleware.

type middleware func(http.Handler) http.Handler

// chain wraps h so that mws[0] runs first.
func chain(h http.Handler, mws ...middleware) http.Handler {
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	return h
}

// reqInfo is what the middlewares share about one request.
type reqInfo struct {
	seq       uint64 // arrival number, from 1
	key       uint64 // hash of method, URL and the attempt number of that URL
	path      string // path as named in Stats
	faultable bool   // random faults may hit this request (Faults.Paths)
	inFlight  int    // requests in flight when this one arrived, itself included
	// noResponse is set once status 0 (no response) was counted.
	noResponse bool
}

type ctxKey struct{}

func infoOf(r *http.Request) *reqInfo {
	if i, ok := r.Context().Value(ctxKey{}).(*reqInfo); ok {
		return i
	}
	return &reqInfo{}
}

// withRequestInfo numbers the request, derives its fault key and sets the
// tracking ID header.
func (s *Server) withRequestInfo(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seq := s.seq.Add(1)
		urlKey := hash(salt(r.Method), salt(r.URL.RequestURI()))
		info := &reqInfo{
			seq:  seq,
			key:  hash(s.seed, urlKey, uint64(s.attempt(urlKey))),
			path: s.statsPath(r.URL.Path),
		}
		info.faultable = len(s.opts.Faults.Paths) == 0
		for _, p := range s.opts.Faults.Paths {
			if strings.HasPrefix(strings.TrimPrefix(r.URL.Path, s.opts.PathPrefix), p) {
				info.faultable = true
			}
		}
		w.Header().Set(TrackingHeader, fmt.Sprintf("%016x-%d", hash(s.seed, seq, salt("tracking")), seq))
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, info)))
	})
}

// withAccounting counts requests, statuses and concurrency. A status is
// counted when its header is written, so a client that got a response sees
// it in Stats; InFlight drops when the handler returns.
func (s *Server) withAccounting(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := infoOf(r)
		info.inFlight = s.stats.begin(info.path)
		sw := &statusWriter{ResponseWriter: w, count: func(code int) { s.stats.status(code) }}
		defer func() {
			if sw.status == 0 && !info.noResponse {
				s.stats.status(0)
			}
			s.stats.end(info.path)
		}()
		next.ServeHTTP(sw, r)
	})
}

// statusWriter counts the status code sent.
type statusWriter struct {
	http.ResponseWriter
	status int
	count  func(int)
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
		w.count(code)
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach Hijack and Flush.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
