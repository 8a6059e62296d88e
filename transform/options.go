package transform

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"log/slog"
	"runtime"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/rawland/rawland/config"
	"github.com/rawland/rawland/landing"
	"github.com/rawland/rawland/state"
)

// RunStore is what transform needs of the state store.
type RunStore interface {
	// List returns the runs matching f. Transform asks for one stream's
	// committed and transformed runs, oldest first.
	List(ctx context.Context, f state.RunFilter) ([]state.Run, error)
	// Finish records a run's later status and report; transform sets
	// state.StatusTransformed with the run's RunReport as JSON.
	Finish(ctx context.Context, runID string, status state.Status, errMsg, report string) error
}

// AfterRunFunc is called for every run of kind reconcile inside the run's
// warehouse transaction, after the run's records were merged and before it
// commits. table is the stream's table, qualified and quoted (main."issues").
// The temp table _rawland_snapshot_keys holds the primary
// keys (same column names and types as the table's) of every record of the
// run, loaded or quarantined, so records missing from the snapshot are
//
//	SELECT … FROM <table> t WHERE NOT EXISTS (SELECT 1 FROM _rawland_snapshot_keys k WHERE k.id = t.id)
//
// (a quarantined record whose key could not be read is not in it). The hook
// must only use tx. Its JSON result is kept in the run's report under
// "reconcile"; an error rolls the whole run back and fails the stream.
type AfterRunFunc func(ctx context.Context, tx *sql.Tx, run state.Run, table string) (json.RawMessage, error)

// SnapshotKeysTable is the temp table that holds a reconcile run's keys
// while AfterRun runs.
const SnapshotKeysTable = "_rawland_snapshot_keys"

// Options configure Run and ReplayQuarantine.
type Options struct {
	// Config is the loaded configuration (required).
	Config *config.Config
	// Schemas are the compiled schemas by stream (CompileSchemas; required).
	Schemas map[string]*Schema
	// Runs is the state store (required for Run).
	Runs RunStore
	// Zone is the landing zone the runs are read from.
	Zone landing.Zone
	// Warehouse is the DuckDB file, normally DATA/warehouse.duckdb (required).
	Warehouse string
	// Streams to transform; empty means all configured streams.
	Streams []string
	// Logger receives progress and warnings (default: discard).
	Logger *slog.Logger
	// LockWait is how long to wait for another process to release the
	// warehouse (default Config.Transform.LockWait).
	LockWait time.Duration
	// BatchSize is the number of records per Arrow batch (default
	// Config.Transform.BatchSize).
	BatchSize int
	// Workers is the number of validation workers (default GOMAXPROCS).
	Workers int
	// Rebuild drops the streams' tables, quarantine and drift first and
	// transforms every committed run again from the raw landing.
	Rebuild bool
	// AfterRun is the reconcile hook (may be nil).
	AfterRun AfterRunFunc
	// Progress, if set, is called after every staged batch with the
	// stream and the number of records in the batch (valid and
	// quarantined). It must be quick and safe for concurrent use.
	Progress func(stream string, records int)
	// Now is the clock (default time.Now).
	Now func() time.Time

	mode       loadMode // tests: loadAppender
	staged     bool     // tests: stage and merge instead of the direct load (direct.go)
	chunkRows  int64    // tests: rows per transaction of a direct load (default chunkRows)
	loadLimit  int64    // tests: DuckDB's memory limit for a direct load (default half of memory_limit)
	afterBatch func()   // tests: called after each loaded batch
	batchBytes int      // tests: the bytes of records that end a batch early (default maxBatchBytes)
	holdRows   int      // tests: key candidates (rows) and quarantined records (bytes) the direct load holds while its INSERT streams
	filterKeys int64    // tests: the most records a direct load's key filter is made for (default maxFilterKeys)
	// tests: a chunk commit of a direct load fails with this error (nil:
	// goes on), asked before (committed false) and after its commit
	rotateFault func(chunk int, committed bool) error
	// tests: called after each run's or batch of runs' warehouse commit
	afterCommit func()
	// tests: the most runs merged in one transaction (default batchRuns)
	maxBatchRuns int
	// tests: the allocator of the workers' Arrow batches (default
	// batchMem), to check that every batch is released
	mem memory.Allocator
}

// batchAlloc is the allocator of the workers' Arrow batches.
func (o Options) batchAlloc() memory.Allocator {
	if o.mem != nil {
		return o.mem
	}
	return batchMem
}

var errNoOption = errors.New("transform: missing option")

func (o Options) withDefaults() (Options, error) {
	if o.Config == nil || o.Schemas == nil || o.Warehouse == "" {
		return o, errors.Join(errNoOption, errors.New("Config, Schemas and Warehouse are required"))
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.LockWait <= 0 {
		o.LockWait = o.Config.Transform.LockWait.D()
	}
	if o.BatchSize <= 0 {
		o.BatchSize = o.Config.Transform.BatchSize
	}
	if o.BatchSize <= 0 {
		o.BatchSize = config.DefaultBatchSize
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o, nil
}
