package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rawland/rawland/landing"
	"github.com/rawland/rawland/mockapi"
	"github.com/rawland/rawland/state"
)

// dqProject is mockProject with short retries and leases for the delta
// queue's crash tests.
func dqProject(t *testing.T, opts mockapi.Options) (*mockapi.Server, string) {
	t.Helper()
	m, dir := mockProject(t, opts)
	path := filepath.Join(dir, "rawland.yaml")
	data, _ := os.ReadFile(path)
	cfg := string(data)
	const genRetry = "retry: {max_attempts: 6, initial_backoff: 100ms, max_backoff: 5s}"
	if !strings.Contains(cfg, genRetry) {
		t.Fatalf("the generated config has no %q line to replace", genRetry)
	}
	cfg = strings.Replace(cfg, genRetry, "retry: {max_attempts: 8, initial_backoff: 5ms, max_backoff: 50ms}", 1)
	cfg = strings.Replace(cfg, "lease_ttl: 5s\n", "lease_ttl: 3s\n", 1)
	os.WriteFile(path, []byte(cfg), 0o644)
	return m, dir
}

// landedIDs opens the project's state store and returns how many times each
// record ID is in stream's committed runs, and the stream's dead letters.
// After a clean run (clean) the runs are read from raw/, so every committed
// run must be published, and the stream must be free; after a crash they
// are read wherever they are.
func landedIDs(t *testing.T, dir, stream string, clean bool) (map[int64]int, map[int64][]byte, []state.DLQEntry) {
	t.Helper()
	ctx := context.Background()
	store := openTestState(t, dir)
	defer store.Close()
	runs, err := store.List(ctx, state.RunFilter{Stream: stream, Status: []state.Status{state.StatusCommitted}})
	if err != nil {
		t.Fatal(err)
	}
	zone := landing.Zone{Dir: filepath.Join(dir, "data")}
	count, body := map[int64]int{}, map[int64][]byte{}
	for _, r := range runs {
		runDir := zone.RawDir(stream, r.ID)
		if !clean {
			if runDir, err = zone.RunDir(stream, r.ID); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := landing.Records(ctx, runDir, func(rec landing.Record) error {
			var v struct{ ID int64 }
			if err := json.Unmarshal(rec.Data, &v); err != nil {
				return err
			}
			count[v.ID]++
			body[v.ID] = append([]byte(nil), rec.Data...)
			return nil
		}); err != nil {
			t.Fatalf("committed run %s is not whole in %s: %v", r.ID, runDir, err)
		}
	}
	dlq, err := store.ListDLQ(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	if l, held, _ := store.Holder(ctx, stream); clean && held {
		t.Fatalf("%s is still leased by %+v", stream, l)
	}
	return count, body, dlq
}

// TestDeltaQueueCrashBetweenCommitAndClear kills `rawland ingest
// certificates` (SIGKILL, a child process) after a cycle's run is committed
// and before its IDs are cleared, then waits for the upstream's deadline and
// runs it normally. The upstream re-delivers exactly the uncleared IDs; they
// land a second time (harmless: transform dedupes), every record is landed,
// the queue is empty and nothing went to the DLQ.
func TestDeltaQueueCrashBetweenCommitAndClear(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped with -short (testing.Short): runs child processes")
	}
	const size, deadline = 120, 2 * time.Second
	for _, point := range []string{
		"after_commit",   // first cycle committed, not yet published
		"before_clear",   // first cycle committed and published, not cleared
		"before_clear:2", // the first cycle cleared, the second not
	} {
		t.Run(point, func(t *testing.T) {
			t.Parallel()
			m, dir := dqProject(t, mockapi.Options{Seed: 11, Size: size, Faults: mockapi.Faults{DeltaDeadline: deadline}})
			crash := child(t, dir, []string{"RAWLAND_CRASHPOINT=" + point}, "ingest", mockapi.StreamCertificates)
			var out strings.Builder
			crash.Stdout, crash.Stderr = &out, &out
			crash.Run()
			if ws, ok := crash.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
				t.Fatalf("the child was not killed at %s (exit %d): %s", point, crash.ProcessState.ExitCode(), out.String())
			}
			st := m.Stats()
			uncleared := st.DeltaLeased
			if uncleared == 0 || st.DeltaRedeliveries != 0 {
				t.Fatalf("after the crash: %d IDs leased, %d re-delivered; want some leased, none re-delivered", uncleared, st.DeltaRedeliveries)
			}
			crashed, _, _ := landedIDs(t, dir, mockapi.StreamCertificates, false)

			// The uncleared IDs come back only once their lease expired.
			time.Sleep(deadline + 300*time.Millisecond)
			normal := child(t, dir, nil, "ingest", mockapi.StreamCertificates)
			if b, err := normal.CombinedOutput(); err != nil {
				t.Fatalf("the run after the crash: %v\n%s", err, b)
			}

			st = m.Stats()
			if st.DeltaRedeliveries != int64(uncleared) {
				t.Errorf("%d IDs re-delivered, want the %d the crashed run committed and never cleared", st.DeltaRedeliveries, uncleared)
			}
			if st.DeltaPending != 0 || st.DeltaLeased != 0 || st.DeltaCleared != size {
				t.Errorf("queue not empty: %d pending, %d leased, %d of %d cleared", st.DeltaPending, st.DeltaLeased, st.DeltaCleared, size)
			}
			count, body, dlq := landedIDs(t, dir, mockapi.StreamCertificates, true)
			if len(dlq) != 0 {
				t.Errorf("dead letters after a crash: %+v", dlq)
			}
			twice := 0
			for id := int64(1); id <= size; id++ {
				want, ok := m.Record(mockapi.StreamCertificates, id)
				switch {
				case !ok:
					t.Fatalf("certificate %d is not live", id)
				case count[id] == 0:
					t.Errorf("certificate %d was lost", id)
				case string(body[id]) != string(want):
					t.Errorf("certificate %d landed as %.80s, upstream has %.80s", id, body[id], want)
				case count[id] > 2:
					t.Errorf("certificate %d landed %d times", id, count[id])
				case count[id] == 2:
					twice++
				}
			}
			// Landed twice: exactly the crashed cycle's IDs (committed once
			// before the crash, again after their re-delivery).
			if twice != uncleared {
				t.Errorf("%d certificates landed twice, want the %d re-delivered ones", twice, uncleared)
			}
			for id, n := range crashed {
				if n != 1 || count[id] < 1 {
					t.Errorf("certificate %d: %d times in the runs committed before the crash, %d after", id, n, count[id])
				}
			}
			t.Logf("%s: %d IDs in runs committed before the crash; %d committed and never cleared were re-delivered and landed again", point, len(crashed), uncleared)
		})
	}
}
