package pgstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rawland/rawland/internal/pgtest"
)

// One PostgreSQL server per package test run; every test gets its own
// database or schema on it.
var (
	srv     *pgtest.Server
	srvErr  error
	baseDSN string
	schemas atomic.Int64
)

func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	srv, srvErr = pgtest.Start(ctx)
	if srvErr == nil {
		baseDSN, srvErr = srv.NewDB(ctx)
	}
	cancel()
	code := m.Run()
	if srv != nil {
		srv.Stop()
	}
	os.Exit(code)
}

// server returns the test server, skipping when PostgreSQL is not
// installed and failing when it is but would not start.
func server(t testing.TB) *pgtest.Server {
	t.Helper()
	if errors.Is(srvErr, pgtest.ErrNoPostgres) {
		t.Skipf("skipping PostgreSQL tests: %v", srvErr)
	}
	if srvErr != nil {
		t.Fatalf("start PostgreSQL: %v", srvErr)
	}
	return srv
}

// openFresh opens a store in a new schema of the shared test database.
func openFresh(t testing.TB) *Store {
	t.Helper()
	server(t)
	s, err := Open(t.Context(), Options{DSN: baseDSN, Schema: fmt.Sprintf("t%d", schemas.Add(1)), Host: "test-host"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
