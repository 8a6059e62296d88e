package chaos

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Environment variables that select and size the chaos run.
const (
	// EnvMode: "long" runs the long chaos suite (go tool task chaos).
	EnvMode = "RAWLAND_CHAOS"
	// EnvKills: the long run goes on until this many processes were killed (default 200).
	EnvKills = "RAWLAND_CHAOS_KILLS"
	// EnvDuration bounds the long run's rounds (default 20m).
	EnvDuration = "RAWLAND_CHAOS_DURATION"
	// EnvSeed seeds the upstream, the faults and the kill plans (default 1).
	EnvSeed = "RAWLAND_CHAOS_SEED"
	// EnvBin: a rawland binary to use instead of building one.
	EnvBin = "RAWLAND_BIN"
)

// rawlandBin builds ./cmd/rawland into dir with this test's build tags,
// unless RAWLAND_BIN names a binary.
func rawlandBin(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv(EnvBin); bin != "" {
		return bin
	}
	bin := filepath.Join(t.TempDir(), "rawland")
	args := []string{"build", "-o", bin}
	if buildTags != "" {
		args = append(args, "-tags", buildTags)
	}
	cmd := exec.Command("go", append(args, "github.com/rawland/rawland/cmd/rawland")...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build rawland: %v\n%s", err, out)
	}
	return bin
}

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		t.Fatalf("%s=%q: want a non-negative integer", name, v)
	}
	return n
}

// TestChaos runs rawland under SIGKILL at random moments and at crash
// points, several processes at once on one data dir, under every mock
// fault, on a full disk and on a read-only data dir, and checks after every
// round that nothing was lost, duplicated or left locked (see package doc).
// By default a short version runs; RAWLAND_CHAOS=long runs at least
// RAWLAND_CHAOS_KILLS kills.
func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped with -short (testing.Short): the chaos suite runs many child processes")
	}
	long := os.Getenv(EnvMode) == "long"
	cfg := Config{
		Dir: t.TempDir(), Seed: uint64(envInt(t, EnvSeed, 1)),
		Size: 120, MinKills: 1, MinRounds: 4, MaxRounds: 4, MaxDuration: 40 * time.Second,
		MaxProcs: 3, DiskSize: 256 << 20, ProcTimeout: 90 * time.Second, Logf: t.Logf,
	}
	if long {
		d, err := time.ParseDuration(cmpOr(os.Getenv(EnvDuration), "20m"))
		if err != nil {
			t.Fatalf("%s: %v", EnvDuration, err)
		}
		cfg.Size, cfg.MinKills, cfg.MinRounds, cfg.MaxRounds, cfg.MaxDuration = 400, envInt(t, EnvKills, 200), 16, 100000, d
		cfg.MaxProcs, cfg.Waves, cfg.DiskSize = 4, 2, 2<<30
	}
	cfg.Bin = rawlandBin(t)
	h, err := New(cfg)
	if errors.Is(err, ErrNotRoot) {
		t.Logf("full-disk and read-only rounds skipped: %v (run as root to include them)", err)
		cfg.DiskSize = 0
		h, err = New(cfg)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Error(err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), cfg.MaxDuration+10*time.Minute)
	defer cancel()
	fig, err := h.Run(ctx)
	t.Logf("\n%s", fig)
	for i, v := range fig.Violations {
		if i == 30 {
			t.Errorf("… and %d more violations", len(fig.Violations)-i)
			break
		}
		t.Error(v)
	}
	if err != nil {
		t.Fatal(err)
	}
	if !h.DiskRounds() {
		t.Log("no full-disk or read-only rounds ran: they need root")
	}
	if fig.Kills < 1 {
		t.Errorf("no process was killed in %d rounds: the suite proved nothing", fig.Rounds)
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// ExampleFigures shows the summary a chaos run prints.
func ExampleFigures() {
	f := Figures{Rounds: 3, KillRounds: 3, Kills: 7, Exits: map[int]int{0: 2}}
	fmt.Println(strings.Split(f.String(), "\n")[1])
	// Output:
	//   rounds                                 3
}
