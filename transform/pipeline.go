package transform

import (
	"context"
	"database/sql/driver"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/arrow/memory/mallocator"
	"github.com/sourcegraph/conc/stream"

	"github.com/rawland/rawland/internal/crashpoint"
)

// loadMode says how valid rows reach the staging table.
type loadMode int

const (
	loadArrow    loadMode = iota // Arrow record batches through a registered view (default)
	loadAppender                 // duckdb-go's Appender (kept for BenchmarkLoad)
)

// rawRec is one landed record to check.
type rawRec struct {
	file string
	line int
	seq  int64
	data []byte
}

// qrec is a record that failed validation.
type qrec struct {
	rawRec
	errs []FieldError
	keys []any // primary key, when it could be read
}

// batchOut is what a worker made of one batch.
type batchOut struct {
	n     int
	rec   arrow.Record     // valid rows (loadArrow)
	drows [][]driver.Value // valid rows (loadAppender)
	valid []rawRec         // the valid records
	quar  []qrec
	drift driftSet

	direct  int      // valid records converted straight from their bytes (bytesarrow.go)
	onePass int      // of those, the ones validated and converted in one walk (vrow)
	keyHash []uint64 // each valid row's key hash (direct load, direct.go)

	// chunks hold the bytes of the batch's records (valid and
	// quarantined): recycled once the batch is done (recycle)
	chunks [][]byte
}

func (b *batchOut) release() {
	if b.rec != nil {
		b.rec.Release()
		b.rec = nil
	}
}

// Recycling. The workers' scratch space and the Go memory of a batch
// (the copies of its records' bytes, its record lists, its key hashes)
// are reused for later batches instead of being allocated for each:
// 1M users allocated 509 MB of Go heap, 2.7 times the landed bytes,
// about 60 collections whose marking, assists and write barriers took
// about a tenth of the transform's CPU (GOGC=400, which collects four
// times less often, was 7% faster and 10% less CPU, but 16–20 MiB more
// resident memory). Free lists rather than sync.Pools: a pool is emptied
// by every other collection, and the buffers would be allocated again.
// Each list keeps at most what the batches in flight hold (a few per
// worker: the worker's, the loader's, the queue's), so it adds nothing
// to the transform's peak memory.
var (
	chunkFree   = freeList[[]byte]{max: 64}   // 256 KiB each: 16 MiB
	recListFree = freeList[[]rawRec]{max: 32} // batch_size records each
	hashFree    = freeList[[]uint64]{max: 32}
)

// freeList is a bounded list of buffers to reuse.
type freeList[T any] struct {
	mu   sync.Mutex
	max  int
	free []T
}

// get is a buffer from the list, or the zero T when it is empty.
func (f *freeList[T]) get() T {
	f.mu.Lock()
	defer f.mu.Unlock()
	var b T
	if n := len(f.free); n > 0 {
		b = f.free[n-1]
		f.free = f.free[:n-1]
	}
	return b
}

// put keeps b for a later get, unless the list is full.
func (f *freeList[T]) put(b T) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.free) < f.max {
		f.free = append(f.free, b)
	}
}

// newChunk is a buffer of at least n bytes, empty, for records' bytes.
func newChunk(n int) []byte {
	if n > arenaChunk {
		return make([]byte, 0, n) // a record larger than a chunk: its own
	}
	if b := chunkFree.get(); cap(b) == arenaChunk {
		return b[:0]
	}
	return make([]byte, 0, arenaChunk)
}

// recycleChunks gives record buffers back; nothing may read them after.
func recycleChunks(chunks [][]byte) {
	for _, c := range chunks {
		if cap(c) == arenaChunk {
			chunkFree.put(c[:0])
		}
	}
}

// getRecList is an empty record list with room for n records.
func getRecList(n int) []rawRec {
	if l := recListFree.get(); cap(l) >= n {
		return l[:0]
	}
	return make([]rawRec, 0, n)
}

// putRecList recycles l; nothing may use it after.
func putRecList(l []rawRec) {
	if cap(l) == 0 {
		return
	}
	clear(l[:cap(l)]) // the records' bytes stay collectable
	recListFree.put(l[:0])
}

// recycle gives the batch's Go memory back once nothing reads it: after
// the batch was loaded and sunk (its records' bytes, valid list and key
// hashes are not used beyond that; quarantine and drift copy what they
// keep).
func (b *batchOut) recycle() {
	recycleChunks(b.chunks)
	b.chunks = nil
	putRecList(b.valid)
	b.valid = nil
	if b.keyHash != nil {
		hashFree.put(b.keyHash[:0])
		b.keyHash = nil
	}
}

// stager checks records on a bounded pool of workers (all cores) and loads
// the valid ones into the staging table, batch by batch, in order.
type stager struct {
	s       *Schema
	w       *warehouse
	tx      execer // the staging table's connection (no transaction: bisect.go)
	workers int
	batch   int
	// maxBytes ends a batch early (maxBatchBytes; tests set less)
	maxBytes int
	mode     loadMode
	cols     []field
	sch      *arrow.Schema
	app      *appender // loadAppender
	// direct, when set, appends the rows to the stream's table in its
	// transaction instead of the staging table (direct.go).
	direct *directLoad
	// afterBatch is a test hook, called after each batch is loaded.
	afterBatch func()
	// mem allocates the batches' buffers (batchMem unless a test sets
	// its own, to check that every batch is released).
	mem memory.Allocator
	// twoPass, set by tests, sends every record through the two-pass path
	// (validator, then converter) instead of trying vrow first
	twoPass bool
	hint    sizeHint // values and text per record, for the next batch's columns
	// scratchPool holds the workers' scratch space (workerScratch)
	scratchPool sync.Pool
	// nice: the workers run this many steps of nice below the process
	// (transform.worker_nice; 0: as the process), so that DuckDB's one
	// writing thread gets a core whenever it can run (nicepool.go)
	nice int

	mu      sync.Mutex
	err     error
	stopped atomic.Bool // err is set
}

var errStopped = errors.New("stopped after an earlier error")

// batchMem allocates the Arrow batches the workers build, in C memory
// (arrow-go's mallocator: calloc, and free when a batch's reference count
// drops to zero, which for a batch DuckDB reads is when DuckDB releases
// it through the Arrow C interface). In Go memory the batches waiting for
// the streamed INSERT were Go heap, and the collector lets the heap grow
// to twice what is live before it frees any: the queue cost about twice
// its size in resident memory, so it was held to 8 MiB, less than DuckDB
// takes to compress one row group, and the workers stalled behind it (the
// transform used 1.63 of the 2 cores). In C memory a batch's buffers go
// back to the C heap the moment DuckDB is done with it, and the queue can
// hold a whole stop (insertBuffer). The cost is that a batch must be
// released exactly once (a leak here is not collected): every test that
// transforms through the test env (helpers_test.go) counts its batches and
// fails when one was never released, and overwrites a batch's memory when
// it is freed, so that a batch read after it was freed shows.
var batchMem memory.Allocator = mallocator.NewMallocator()

// maxBatchBytes ends a batch early once its records hold this many bytes
// (transform.batch_size is counted in records, and one landed record may
// be as large as its page, up to max_response_bytes): the batch's memory
// stays bounded, and a text column of a batch, which holds at most a few
// times its records' bytes, stays far below the 2 GiB that Arrow's 32-bit
// offsets can address (colBuf.text).
const maxBatchBytes = 64 << 20

// arenaChunk is the size of the buffers stage copies records into (a
// batch of 2,000 users is about 760 KB).
const arenaChunk = 256 << 10

func newStager(s *Schema, w *warehouse, tx execer, workers, batch int, mode loadMode) *stager {
	cols := s.stageColumns()
	return &stager{s: s, w: w, tx: tx, workers: max(workers, 1), batch: max(batch, 1), maxBytes: maxBatchBytes, mode: mode, cols: cols, sch: arrowSchema(cols), mem: batchMem}
}

func (st *stager) fail(err error) {
	st.mu.Lock()
	if st.err == nil {
		st.err = err
		st.stopped.Store(true)
	}
	st.mu.Unlock()
}

// failed is the first error, or nil. It is asked for every record the
// feed reads: the flag spares the lock (a lock per record was 0.8% of
// the transform's CPU).
func (st *stager) failed() error {
	if !st.stopped.Load() {
		return nil
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.err
}

// errPanicked stops the feed when a worker or a callback panicked; the
// panic itself is re-raised by the stream's Wait.
var errPanicked = errors.New("stopped after a panic")

// stopOnPanic is deferred in the stream's tasks and callbacks: a panic
// fails the stager at once, so the feed stops producing batches, and then
// continues to conc, which re-raises it in Wait.
func (st *stager) stopOnPanic() {
	if r := recover(); r != nil {
		st.fail(errPanicked)
		panic(r)
	}
}

// stage checks every record feed emits and stages the valid ones; sink
// gets each batch's outcome (quarantine, drift, valid records) on one
// goroutine, in feed order. Memory is bounded by a few batches per worker.
func (st *stager) stage(ctx context.Context, feed func(emit func(rawRec) error) error, sink func(*batchOut) error) error {
	s := stream.New().WithMaxGoroutines(st.workers)
	defer func() {
		if r := recover(); r != nil {
			// the feed panicked: stop the workers and let them finish
			// before the caller rolls the transaction back
			st.fail(errPanicked)
			func() {
				defer func() { _ = recover() }()
				s.Wait()
			}()
			panic(r)
		}
	}()
	buf := getRecList(st.batch)
	var arena []byte    // the records' bytes, copied out of the reader's buffer
	var chunks [][]byte // the batch's buffers, arena the last
	var bufBytes int
	flush := func() {
		recs, own := buf, chunks
		buf, bufBytes, chunks, arena = getRecList(st.batch), 0, nil, nil
		s.Go(func() stream.Callback {
			defer st.stopOnPanic()
			var out *batchOut
			if st.failed() == nil {
				runNiced(st.nice, func() { out = st.process(recs) })
				if st.direct != nil && len(out.quar) == 0 && len(out.drift) == 0 {
					// a direct load reads no record's bytes after this (its
					// rows are in out.rec; a batch DuckDB refuses is loaded
					// again from the landed files), and the sink reads them
					// only for drift: the buffers go back now, not after
					// the batches queued before this one were loaded
					for i := range out.valid {
						out.valid[i].data = nil
					}
					recycleChunks(own)
				} else {
					out.chunks = own
				}
			}
			putRecList(recs) // out has its own list of the valid ones
			return func() {
				defer st.stopOnPanic()
				if out == nil {
					return
				}
				defer out.recycle()
				defer out.release()
				if st.failed() != nil {
					return
				}
				if err := ctx.Err(); err != nil {
					st.fail(err)
					return
				}
				if err := st.load(ctx, out); err != nil {
					st.fail(err)
					return
				}
				if err := sink(out); err != nil {
					st.fail(err)
					return
				}
				if st.afterBatch != nil {
					st.afterBatch()
				}
			}
		})
	}
	err := feed(func(r rawRec) error {
		if err := st.failed(); err != nil {
			return errStopped
		}
		// one buffer per 256 KiB of records instead of one per record
		if len(arena)+len(r.data) > cap(arena) {
			arena = newChunk(len(r.data))
			chunks = append(chunks, arena)
		}
		at := len(arena)
		arena = append(arena, r.data...)
		r.data = arena[at:len(arena):len(arena)]
		buf, bufBytes = append(buf, r), bufBytes+len(r.data)
		if len(buf) >= st.batch || bufBytes >= st.maxBytes {
			flush()
		}
		return nil
	})
	if err == nil && len(buf) > 0 {
		flush()
	}
	s.Wait()
	if ferr := st.failed(); ferr != nil {
		err = ferr
	}
	// flush the Appender while the transaction is still open, also on
	// failure (the caller rolls back)
	if cerr := st.app.close(); err == nil {
		err = cerr
	}
	return err
}

// process checks one batch; it runs on a worker. In Arrow mode a record
// the fast validator accepts is converted straight from its bytes
// (bytesarrow.go); any other, and any the converter refuses, goes through
// check() and colBuf.any, into the same columns, in landed order.
func (st *stager) process(recs []rawRec) *batchOut {
	crashpoint.Hit("transform_batch")
	out := &batchOut{n: len(recs), drift: driftSet{}, valid: getRecList(len(recs))}
	ws := st.scratch()
	defer st.scratchPool.Put(ws)
	c := &ws.c
	if st.mode == loadAppender {
		st.processRows(recs, c, out)
		return out
	}
	cb := newBatchCols(st.sch, st.cols, st.mem)
	defer cb.free()
	st.hint.reserve(cb, len(recs))
	bs := cb.cols
	bc := ws.bc
	if bc != nil {
		c.fast.rec = true // the converter takes the record's structure from the validator
	}
	for _, r := range recs {
		if bc != nil && !st.twoPass && bc.vrow(r.data, r.seq, &c.fast) {
			bc.emit(bs, st.cols)
			bc.drift(out.drift)
			out.valid = append(out.valid, r)
			out.direct++
			out.onePass++
			continue
		}
		fv := st.s.fastVerdict(r.data, c)
		if fv == fastValid && bc != nil && bc.row(r.data, r.seq, &c.fast.recording) {
			bc.emit(bs, st.cols)
			bc.drift(out.drift)
			out.valid = append(out.valid, r)
			out.direct++
			continue
		}
		vd := st.s.checkAs(r.data, c, fv)
		out.drift.add(vd.drift)
		if vd.errs != nil {
			out.quar = append(out.quar, qrec{rawRec: r, errs: vd.errs, keys: vd.keys})
			continue
		}
		row := append(vd.row, r.seq)
		for i := range st.cols {
			bs[i].any(row[i])
		}
		out.valid = append(out.valid, r)
	}
	st.hint.learn(cb, len(out.valid))
	if len(out.valid) > 0 {
		out.rec = cb.record(len(out.valid))
		if st.direct != nil {
			out.keyHash = keyHashes(hashFree.get(), out.rec, st.s.pk)
		}
	}
	return out
}

// workerScratch is what a worker reuses from record to record: the
// converter's and validator's state, and the bytes converter (nil without
// a fast validator). It is kept from batch to batch too (scratchPool):
// the same state a batch's records already share.
type workerScratch struct {
	c  converter
	bc *bytesConv
}

// scratch is a worker's scratch space, reused or new.
func (st *stager) scratch() *workerScratch {
	if ws, ok := st.scratchPool.Get().(*workerScratch); ok {
		return ws
	}
	ws := &workerScratch{}
	if st.s.fast != nil {
		ws.bc = newBytesConv(st.s)
	}
	return ws
}

// processRows checks one batch into driver rows (loadAppender).
func (st *stager) processRows(recs []rawRec, c *converter, out *batchOut) {
	for _, r := range recs {
		vd := st.s.check(r.data, c)
		out.drift.add(vd.drift)
		if vd.errs != nil {
			out.quar = append(out.quar, qrec{rawRec: r, errs: vd.errs, keys: vd.keys})
			continue
		}
		out.drows = append(out.drows, driverRow(st.cols, append(vd.row, r.seq)))
		out.valid = append(out.valid, r)
	}
}

// load inserts a batch's valid rows into the staging table.
func (st *stager) load(ctx context.Context, out *batchOut) error {
	switch {
	case out.rec != nil && st.direct != nil:
		return st.loadDirect(ctx, out)
	case out.rec != nil:
		return st.loadArrow(ctx, out)
	case out.drows != nil:
		if st.app == nil {
			app, err := newAppender(st.w.conn, "temp", "main", stageTbl)
			if err != nil {
				return err
			}
			st.app = app
		}
		return st.app.append(out.drows)
	}
	return nil
}
