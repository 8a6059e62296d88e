package chaos

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sourcegraph/conc"

	"github.com/rawland/rawland/mockapi"
)

// Config sizes a chaos run.
type Config struct {
	// Bin is the rawland binary to run.
	Bin string
	// Dir is an empty directory for the project (rawland.yaml, schemas/,
	// data/).
	Dir string
	// Seed makes the upstream, the faults and the kill plans repeatable
	// (the moments processes reach are not).
	Seed uint64
	// Size is the number of records per mock stream at start.
	Size int
	// MinKills: rounds continue until this many processes were killed...
	MinKills int
	// MinRounds: ...and at least this many rounds ran...
	MinRounds int
	// MaxRounds and MaxDuration: ...unless one of these is reached first.
	MaxRounds   int
	MaxDuration time.Duration
	// MaxProcs is the most processes a round starts at once (at least 2).
	MaxProcs int
	// Waves is how many groups of processes a kill round starts one after
	// the other before it checks and settles (default 1).
	Waves int
	// DiskSize, when positive, mounts a tmpfs of this size over the data
	// directory for the full-disk and read-only rounds (needs root; see
	// ErrNotRoot).
	DiskSize int64
	// ProcTimeout is how long a process may run before it counts as hung.
	ProcTimeout time.Duration
	// Logf, if set, receives one line per round.
	Logf func(format string, args ...any)
}

// Harness is a running chaos suite: the mock upstream, the project and the
// figures so far.
type Harness struct {
	cfg     Config
	mock    *mockapi.Server
	breaker *listingBreaker
	srv     *http.Server
	wg      conc.WaitGroup
	run     runner
	disk    *Disk
	check   *Checker
	rng     *rand.Rand
	Fig     Figures
}

// Faults are the mock faults every chaos round runs under: every kind the
// mock has (transient errors with Retry-After, a quota, a concurrency
// limit, latency with spikes, resets, truncated bodies, HTML error pages, a
// short delta-queue deadline, drifted records). Broken full listings are
// switched on per round by the harness instead (listingBreaker), because
// the mock's BreakListingAfterPages would break every reconcile for good.
func Faults() mockapi.Faults {
	return mockapi.Faults{
		ErrorRate:     0.01,
		Quota:         5000,
		QuotaWindow:   time.Second,
		MaxConcurrent: 12,
		Latency:       time.Millisecond,
		Jitter:        4 * time.Millisecond,
		SpikeEvery:    97,
		SpikeLatency:  150 * time.Millisecond,
		ResetRate:     0.02,
		TruncateRate:  0.02,
		HTMLErrorRate: 0.02,
		DeltaDeadline: 3 * time.Second,
	}
}

// New starts the mock upstream on loopback and writes the project.
func New(cfg Config) (*Harness, error) {
	cfg.MaxProcs = max(cfg.MaxProcs, 2)
	if cfg.ProcTimeout <= 0 {
		cfg.ProcTimeout = 2 * time.Minute
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	h := &Harness{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))}
	h.Fig.Exits = map[int]int{}
	h.mock = mockapi.New(mockapi.Options{Seed: int64(cfg.Seed), Size: cfg.Size, Faults: Faults(), Drift: 0.03})
	h.breaker = &listingBreaker{next: h.mock}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen on loopback: %w", err)
	}
	h.srv = &http.Server{Handler: h.breaker, ReadHeaderTimeout: 10 * time.Second}
	h.wg.Go(func() { _ = h.srv.Serve(ln) })
	dataDir := filepath.Join(cfg.Dir, "data")
	if err := h.writeProject("http://" + ln.Addr().String()); err != nil {
		h.Close()
		return nil, err
	}
	if cfg.DiskSize > 0 {
		if err := os.MkdirAll(dataDir, 0o755); err != nil {
			h.Close()
			return nil, err
		}
		if h.disk, err = MountDisk(dataDir, cfg.DiskSize); err != nil {
			h.Close()
			return nil, err
		}
	}
	h.run = runner{bin: cfg.Bin, dir: cfg.Dir, timeout: cfg.ProcTimeout}
	h.check = &Checker{DataDir: dataDir, Streams: h.mock.Streams(), Fig: &h.Fig}
	return h, nil
}

// writeProject writes rawland.yaml and schemas/ for the mock: the mock's
// own config with short leases, fast retries, small part files and a
// bounded DuckDB memory.
func (h *Harness) writeProject(url string) error {
	if err := os.MkdirAll(filepath.Join(h.cfg.Dir, "schemas"), 0o755); err != nil {
		return err
	}
	for name, body := range h.mock.Schemas() {
		if err := os.WriteFile(filepath.Join(h.cfg.Dir, "schemas", name+".json"), body, 0o644); err != nil {
			return err
		}
	}
	cfg := h.mock.Config(url)
	for _, r := range []struct{ old, new string }{
		{"sources:\n", "lease_ttl: 5s\ntransform: {lock_wait: 60s, memory_limit: 256MiB}\nlanding: {roll_bytes: 16KiB}\nsources:\n"},
		{"retry: {max_attempts: 6, initial_backoff: 100ms, max_backoff: 5s}", "retry: {max_attempts: 8, initial_backoff: 5ms, max_backoff: 100ms}"},
	} {
		if !strings.Contains(cfg, r.old) {
			return fmt.Errorf("the mock's config has no %q to replace", r.old)
		}
		cfg = strings.Replace(cfg, r.old, r.new, 1)
	}
	return os.WriteFile(filepath.Join(h.cfg.Dir, "rawland.yaml"), []byte(cfg), 0o644)
}

// Close stops the mock and unmounts the tmpfs.
func (h *Harness) Close() error {
	var errs []error
	if h.srv != nil {
		errs = append(errs, h.srv.Close())
		h.wg.Wait()
	}
	if h.disk != nil {
		errs = append(errs, h.disk.Unmount())
		h.disk = nil
	}
	return errors.Join(errs...)
}

// DiskRounds reports whether full-disk and read-only rounds run.
func (h *Harness) DiskRounds() bool { return h.disk != nil }

// roundKinds is the cycle of round kinds: mostly kill rounds, one with
// broken full listings, one full disk, one read-only data dir.
var roundKinds = []roundKind{kindKill, kindENOSPC, kindBrokenListing, kindReadOnly, kindKill, kindKill, kindKill, kindKill}

// Run runs rounds until the configured bounds say stop, and returns the
// figures. It fails only if the harness itself cannot go on (a check that
// fails is a violation in the figures, not an error).
func (h *Harness) Run(ctx context.Context) (*Figures, error) {
	start := time.Now()
	defer func() { h.Fig.Wall = time.Since(start) }()
	for {
		enough := h.Fig.Kills >= h.cfg.MinKills && h.Fig.Rounds >= h.cfg.MinRounds
		if enough || h.Fig.Rounds >= h.cfg.MaxRounds || time.Since(start) > h.cfg.MaxDuration {
			return &h.Fig, nil
		}
		if err := ctx.Err(); err != nil {
			return &h.Fig, err
		}
		kind := roundKinds[h.Fig.Rounds%len(roundKinds)]
		if h.disk == nil && (kind == kindENOSPC || kind == kindReadOnly) {
			kind = kindKill
		}
		before := len(h.Fig.Violations)
		if err := h.round(ctx, kind); err != nil {
			return &h.Fig, fmt.Errorf("round %d (%s): %w", h.Fig.Rounds, kind, err)
		}
		h.Fig.Rounds++
		h.cfg.Logf("round %d (%s): %d kills so far, %d new violations, %s", h.Fig.Rounds, kind, h.Fig.Kills, len(h.Fig.Violations)-before, time.Since(start).Round(time.Second))
		for i, v := range h.Fig.Violations[before:] {
			if i == 5 {
				h.cfg.Logf("  … and %d more", len(h.Fig.Violations)-before-i)
				break
			}
			h.cfg.Logf("  violation: %.2000s", v)
		}
		if h.disk != nil {
			if used, err := h.disk.Used(); err == nil {
				h.Fig.DataDirBytes = used
			}
		}
	}
}
