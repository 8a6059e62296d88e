package ingest_test

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rawland/rawland/config"
	"github.com/rawland/rawland/ingest"
	"github.com/rawland/rawland/landing"
	"github.com/rawland/rawland/mockapi"
	"github.com/rawland/rawland/state"
	"github.com/rawland/rawland/state/sqlitestore"
)

const benchCfg = `
sources:
  mock: {base_url: "{{URL}}", concurrency: 5, tracking_header: Trackingid}
streams:
  orders:
    source: mock
    path: /orders
    records: data
    primary_key: [id]
    pagination: {type: offset, param: offset, limit_param: limit, limit: 500}
    schema: schemas/orders.json
  events:
    source: mock
    path: /events
    params: {page_size: "200"}
    records: results
    primary_key: [id]
    pagination: {type: cursor, next: next_cursor, param: cursor, has_more: has_more}
    schema: schemas/events.json
`

// BenchmarkIngest lands 200k records of a mock stream (served on 127.0.0.1
// in the same process, no faults) into a fresh data directory per
// iteration: fetch, extract, write, fsync, commit and publish. It reports
// records/s and MB/s of landed (uncompressed) record bytes.
//
//	go test -tags duckdb_arrow -run '^$' -bench BenchmarkIngest -benchtime 3x ./ingest/
func BenchmarkIngest(b *testing.B) {
	const size = 200_000
	m := mockapi.New(mockapi.Options{Seed: 1, Size: size})
	srv := httptest.NewServer(m)
	defer srv.Close()
	for _, bc := range []struct{ name, stream string }{
		{"offset-500", mockapi.StreamOrders},
		{"cursor-200", mockapi.StreamEvents},
	} {
		b.Run(bc.name, func(b *testing.B) {
			m.Count(bc.stream) // generate the records before timing
			var records, bytes int64
			for b.Loop() {
				b.StopTimer()
				cfg, store, zone := benchProject(b, srv.URL)
				opts := ingest.Options{Config: cfg, Store: store, Zone: zone, Kind: state.KindIngest, Logger: testLogger(),
					Doers: map[string]ingest.Doer{}}
				for name, c := range configuredClients(b, cfg, zone.StateDir()) {
					opts.Doers[name] = c
				}
				b.StartTimer()
				res, err := ingest.Stream(context.Background(), opts, cfg.Streams[bc.stream])
				b.StopTimer()
				if err != nil {
					b.Fatal(err)
				}
				if res.Run.Records != size {
					b.Fatalf("landed %d records, want %d", res.Run.Records, size)
				}
				records += res.Run.Records
				bytes += res.Run.Bytes
				store.Close()
				os.RemoveAll(zone.Dir)
				b.StartTimer()
			}
			secs := b.Elapsed().Seconds()
			b.ReportMetric(float64(records)/secs, "records/s")
			b.ReportMetric(float64(bytes)/1e6/secs, "MB/s")
		})
	}
}

// benchProject writes benchCfg and its schemas into a temp dir and opens
// the config, a state store and the landing zone.
func benchProject(b *testing.B, url string) (*config.Config, *sqlitestore.Store, landing.Zone) {
	b.Helper()
	dir := b.TempDir()
	os.MkdirAll(filepath.Join(dir, "schemas"), 0o755)
	for _, s := range []string{"orders", "events"} {
		os.WriteFile(filepath.Join(dir, "schemas", s+".json"), []byte(`{"type":"object"}`), 0o644)
	}
	path := filepath.Join(dir, "rawland.yaml")
	os.WriteFile(path, []byte(strings.ReplaceAll(benchCfg, "{{URL}}", url)), 0o644)
	cfg, err := config.Load(path)
	if err != nil {
		b.Fatal(err)
	}
	cfg.DataDir = filepath.Join(dir, "data")
	store, err := sqlitestore.Open(context.Background(), filepath.Join(cfg.DataDir, "state", "rawland.db"))
	if err != nil {
		b.Fatal(err)
	}
	return cfg, store, landing.Zone{Dir: cfg.DataDir}
}
