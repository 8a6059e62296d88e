package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rawland/rawland/ingest"
	"github.com/rawland/rawland/state"
)

// unknownCommit is a store whose Commit takes effect but reports that its
// outcome is unknown, as a network store does when the connection breaks
// after the commit was sent.
type unknownCommit struct{ state.Store }

func (s unknownCommit) Commit(ctx context.Context, r state.Run, setCursor bool) error {
	if err := s.Store.Commit(ctx, r, setCursor); err != nil {
		return err
	}
	return fmt.Errorf("commit run %s: connection lost: %w", r.ID, state.ErrCommitUnknown)
}

// TestCommitOutcomeUnknownKeepsFiles: when the store cannot say whether a
// commit took effect, the run's files stay (nothing is lost if it did) and
// its status is left alone; the next run of the stream finds it committed
// and publishes its files, and reads on from its cursor (nothing twice).
func TestCommitOutcomeUnknownKeepsFiles(t *testing.T) {
	tl := newTimeline(15, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	srv := httptest.NewServer(tl)
	defer srv.Close()
	e := newEnv(t, strings.Replace(timelineCfg, "LOOKBACK", "0s", 1), srv.URL)
	o := e.opts(state.KindIngest)
	o.Store = unknownCommit{e.store}
	_, err := ingest.Stream(context.Background(), o, e.cfg.Streams["things"])
	if !errors.Is(err, state.ErrCommitUnknown) {
		t.Fatalf("got %v, want ErrCommitUnknown", err)
	}
	runs, _ := e.store.List(context.Background(), state.RunFilter{Stream: "things"})
	if len(runs) != 1 || runs[0].Status != state.StatusCommitted {
		t.Fatalf("runs = %+v; want the one committed run, not marked failed", runs)
	}
	if _, err := os.Stat(e.zone.StagingDir("things", runs[0].ID)); err != nil {
		t.Fatalf("the run's files were removed: %v", err)
	}
	tl.touch(3, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	e.run("things")
	recs, committed := e.allCommitted("things")
	if len(committed) != 2 || len(recs) != 16 {
		t.Fatalf("after recovery: %d committed runs with %d records, want 2 with 15 + 1", len(committed), len(recs))
	}
}
