package mockapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// TrackingHeader is the response header that carries a unique tracking ID
// on every response, like the vendor in seeds/001.
const TrackingHeader = "Trackingid"

// Server is the mock upstream. It implements http.Handler; create it with
// New. All methods are safe for concurrent use.
type Server struct {
	opts    Options
	seed    uint64
	start   time.Time
	tables  map[string]*table
	dq      *deltaQueue
	quota   *quota
	stats   *stats
	fail    map[int64]int // certificate ID → status its fetch always gets
	handler http.Handler

	seq        atomic.Uint64
	attemptsMu sync.Mutex
	attempts   map[uint64]uint32 // hash of method+URL → times requested
	mutMu      sync.Mutex        // serializes mutations (Advance, Delete, …)
}

var _ http.Handler = (*Server)(nil)

// New builds a server from opts. It is cheap: each stream's records are
// generated on first use.
func New(opts Options) *Server {
	opts = opts.withDefaults()
	s := &Server{
		opts:     opts,
		seed:     uint64(opts.Seed),
		tables:   make(map[string]*table, len(defs)),
		stats:    newStats(),
		fail:     make(map[int64]int),
		attempts: make(map[uint64]uint32),
	}
	s.start = s.now()
	for _, d := range defs {
		s.tables[d.name] = newTable(d, opts.Size, s.seed, opts.Epoch)
	}
	qs := opts.Delta.QueueSize
	switch {
	case qs == 0:
		qs = opts.Size
	case qs < 0:
		qs = 0
	}
	s.dq = newDeltaQueue(min(qs, opts.Size), opts.Faults.DeltaDeadline)
	s.quota = newQuota(opts.Faults, s.start)
	for _, id := range opts.Delta.Fail404 {
		s.fail[id] = http.StatusNotFound
	}
	for _, id := range opts.Delta.Fail500 {
		s.fail[id] = http.StatusInternalServerError
	}
	mux := http.NewServeMux()
	s.routes(mux)
	s.handler = chain(mux,
		s.withRequestInfo, // tracking ID, fault key
		s.withAccounting,  // Stats: requests, statuses, in-flight
		s.withLatency,
		s.withAuth,
		s.withCredential,
		s.withQuota,
		s.withConcurrencyLimit,
		s.withResets,
		s.withHTMLErrors,
		s.withTransientErrors,
		s.withTruncation,
	)
	return s
}

func (s *Server) routes(mux *http.ServeMux) {
	p := s.opts.PathPrefix
	get := func(path string, h func(http.ResponseWriter, *http.Request, *table)) {
		t := s.tables[path[1:]]
		mux.HandleFunc("GET "+p+path, func(w http.ResponseWriter, r *http.Request) { h(w, r, t.load()) })
	}
	get("/users", s.serveLink)
	get("/orders", s.serveOffset)
	get("/events", s.serveCursor)
	get("/products", s.servePage)
	get("/tickets", s.serveNextURL)
	get("/countries", s.serveWhole)
	get("/certificates", s.servePage)
	mux.HandleFunc("GET "+p+"/delta", s.serveDeltaList)
	mux.HandleFunc("POST "+p+"/delta/clear", s.serveDeltaClear)
	mux.HandleFunc("GET "+p+"/records/{id}", s.serveRecord)
	s.incrementalRoutes(mux, p) // incremental.go
	s.dialectRoutes(mux)        // dialects.go
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not found: "+r.URL.Path)
	})
}

// ServeHTTP serves one request through the fault middleware chain.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Streams returns the names of the REST streams (certificates, the delta
// queue stream, is not among them; see StreamCertificates).
func (s *Server) Streams() []string {
	var out []string
	for _, d := range defs {
		if d.name != StreamCertificates {
			out = append(out, d.name)
		}
	}
	return out
}

func (s *Server) now() time.Time {
	if s.opts.Now != nil {
		return s.opts.Now()
	}
	return time.Now()
}

// Serve serves on ln until ctx is cancelled, then shuts down gracefully
// (at most 5 s; requests sleeping in injected latency end at once).
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve mock api on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := hs.Shutdown(sctx)
	if err != nil {
		_ = hs.Close()
	}
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("shut down mock api on %s: %w", ln.Addr(), err)
	}
	return nil
}

// ListenAndServe serves a new mock upstream built from opts on addr (e.g.
// "127.0.0.1:8080") until ctx is cancelled; it returns nil after a clean
// shutdown.
func ListenAndServe(ctx context.Context, addr string, opts Options) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	return New(opts).Serve(ctx, ln)
}

// writeJSON sends a JSON body with an exact Content-Length.
func writeJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeError sends {"message": msg}, GitHub style.
func writeError(w http.ResponseWriter, status int, msg string) {
	b := []byte(`{"message":`)
	b = appendJSONString(b, msg)
	writeJSON(w, status, append(b, '}'))
}

// absURL is the absolute URL of path (under the prefix) with query q, as
// the client reached this server.
func (s *Server) absURL(r *http.Request, path string, q url.Values) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	u := url.URL{Scheme: scheme, Host: r.Host, Path: s.opts.PathPrefix + path, RawQuery: q.Encode()}
	return u.String()
}

// attempt counts how many times this method+URL was requested before.
func (s *Server) attempt(key uint64) uint32 {
	s.attemptsMu.Lock()
	defer s.attemptsMu.Unlock()
	if len(s.attempts) > 1<<20 { // bound memory on long-lived servers
		clear(s.attempts)
	}
	n := s.attempts[key]
	s.attempts[key] = n + 1
	return n
}
