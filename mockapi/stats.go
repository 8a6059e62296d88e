package mockapi

import (
	"maps"
	"strings"
	"sync"
	"time"
)

// Fault kinds counted in Stats.Faults.
const (
	Fault503           = "503"           // injected 503 with Retry-After
	Fault429           = "429"           // injected 429 with Retry-After (not a quota 429)
	FaultReset         = "reset"         // connection reset without a response
	FaultTruncate      = "truncate"      // body cut short
	FaultHTML          = "html"          // HTML error page (502/500)
	FaultSpike         = "spike"         // latency spike
	FaultConcurrency   = "concurrency"   // 429 for exceeding Faults.MaxConcurrent
	FaultBrokenListing = "break_listing" // full listing failed by BreakListingAfterPages
)

// Stats is a snapshot of what the server saw. Paths are without
// PathPrefix, with record IDs replaced: "/records/{id}".
type Stats struct {
	// Requests is the number of requests received.
	Requests int64
	// ByPath counts requests per path.
	ByPath map[string]int64
	// ByStatus counts responses per status code (0: the connection was
	// reset or the client left before a response).
	ByStatus map[int]int64
	// InFlight is the number of requests being served now.
	InFlight int
	// MaxInFlight is the most requests ever served at once.
	MaxInFlight int
	// MaxInFlightByPath is MaxInFlight per path.
	MaxInFlightByPath map[string]int
	// Faults counts injected faults by kind (Fault503, FaultReset, …).
	Faults map[string]int64

	// QuotaUsed is the number of requests counted in the current window.
	QuotaUsed int
	// QuotaViolations counts requests sent while the quota was exhausted.
	QuotaViolations int
	// CredentialDisabled is true once DisableAfter violations happened.
	CredentialDisabled bool
	// DisabledAt is when the credential was disabled.
	DisabledAt time.Time

	// DeltaListed counts IDs handed out by GET /delta.
	DeltaListed int64
	// DeltaRedeliveries counts IDs handed out again after being listed
	// before and not cleared (the recurring records of seeds/000).
	DeltaRedeliveries int64
	// DeltaRequeued counts leases that expired and went back on the queue.
	DeltaRequeued int64
	// DeltaCleared counts IDs removed by POST /delta/clear.
	DeltaCleared int64
	// DeltaLateClears counts clears of IDs whose lease had expired.
	DeltaLateClears int64
	// DeltaClearIgnored counts cleared IDs that were not on the queue.
	DeltaClearIgnored int64
	// DeltaPending is the number of IDs waiting to be listed.
	DeltaPending int
	// DeltaLeased is the number of IDs listed and not yet cleared or expired.
	DeltaLeased int
	// RecordFetches counts GET /records/{id} requests.
	RecordFetches int64
}

type stats struct {
	mu           sync.Mutex
	requests     int64
	byPath       map[string]int64
	byStatus     map[int]int64
	inFlight     int
	maxInFlight  int
	pathInFlight map[string]int
	pathMax      map[string]int
	faults       map[string]int64
}

func newStats() *stats {
	return &stats{
		byPath: map[string]int64{}, byStatus: map[int]int64{}, faults: map[string]int64{},
		pathInFlight: map[string]int{}, pathMax: map[string]int{},
	}
}

// begin counts a request in and returns how many are in flight with it.
func (st *stats) begin(path string) int {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.requests++
	st.byPath[path]++
	st.inFlight++
	st.maxInFlight = max(st.maxInFlight, st.inFlight)
	st.pathInFlight[path]++
	st.pathMax[path] = max(st.pathMax[path], st.pathInFlight[path])
	return st.inFlight
}

func (st *stats) end(path string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.inFlight--
	st.pathInFlight[path]--
}

func (st *stats) status(code int) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.byStatus[code]++
}

func (st *stats) fault(kind string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.faults[kind]++
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	st := s.stats
	st.mu.Lock()
	out := Stats{
		Requests: st.requests, ByPath: maps.Clone(st.byPath), ByStatus: maps.Clone(st.byStatus),
		InFlight: st.inFlight, MaxInFlight: st.maxInFlight, MaxInFlightByPath: maps.Clone(st.pathMax),
		Faults: maps.Clone(st.faults),
	}
	st.mu.Unlock()
	s.quota.snapshot(&out, s.now())
	s.dq.snapshot(&out)
	return out
}

// statsPath names a request path for Stats: without the prefix, record IDs
// folded, unknown paths as "other" (so the maps stay small).
func (s *Server) statsPath(p string) string {
	p = strings.TrimPrefix(p, s.opts.PathPrefix)
	if strings.HasPrefix(p, "/records/") {
		return "/records/{id}"
	}
	switch p {
	case "/delta", "/delta/clear":
		return p
	}
	if dialectPaths[p] {
		return p
	}
	for _, d := range defs {
		if p == d.path {
			return p
		}
	}
	return "other"
}
