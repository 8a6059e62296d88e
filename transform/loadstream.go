package transform

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/sourcegraph/conc"
	"golang.org/x/sync/semaphore"
)

// Streamed INSERT. The direct path appends a chunk of a run (up to
// chunkRows rows) with one INSERT … SELECT statement whose source is an
// Arrow stream the loader feeds batch by batch while the statement runs,
// instead of one statement per few thousand rows. Every statement costs
// DuckDB a parse, a plan and a temporary view created and dropped in the
// catalog, and kept about 22 KB of C heap that was not given back until
// the transform ended: at 10M records, 1,250 statements of 8,000 rows
// grew the transform's resident memory by 28 MiB and took 12% of the
// loader's time (one statement per 64,000 rows: 4.6 s instead of 5.2 s
// for 1M records).
//
// While the statement runs it holds the connection: nothing else may use
// it (DuckDB would wait for the statement, which waits for the loader).
// The loader therefore ends the statement (endInsert) before anything
// else touches the warehouse: the key candidates and the quarantined
// records it holds meanwhile (bounded, see candHold and quarHold), a
// chunk's commit, the settle.

// errInsertAborted ends a streamed INSERT that must not complete (the
// load failed or panicked elsewhere): DuckDB fails the statement.
var errInsertAborted = errors.New("the load stopped")

// insertStream is one streamed INSERT statement in progress.
type insertStream struct {
	ch     chan queuedBatch // batches for the statement; closed to end it
	done   chan error       // the statement's outcome, sent once
	rd     *feedReader
	result error // the outcome, once received
	over   bool  // the outcome was received
	wg     conc.WaitGroup
	room   *semaphore.Weighted // bytes of batches sent and not yet taken
	max    int64               // room's size
	ended  context.Context     // done once the statement has ended
}

// queuedBatch is a batch waiting for the statement, with the room it holds.
type queuedBatch struct {
	rec  arrow.Record
	size int64
}

// insertBuffer bounds the bytes of Arrow batches waiting for the streamed
// INSERT. DuckDB takes batches unevenly: each time a row group fills
// (122,880 rows) it stops to compress and write it, for 0.2–0.33 s, and a
// queue of one batch then stopped the loader, then the workers, and left
// a core idle (1M users: the loader waited for the statement 3.1 s of a
// 5.1 s load, and the statement for batches 1.4 s between its stops). The
// workers fill about 20 MiB of users' batches during one stop. A queue of
// 8 MiB in Go memory took most of a stop (1M users: median 5.74 s against
// 6.70 s) and cost 20–28 MiB of peak RSS at 10M, because the collector
// lets the heap grow to twice what is live. The batches are now C memory
// (batchMem), freed as soon as DuckDB has read them, so the queue holds a
// whole stop for the same peak RSS (10M users: 234–235 MiB against 245;
// 1M: 4.15 s median of five against 4.42 s). Bounding it by bytes rather
// than batches keeps wide records from growing it.
const insertBuffer = 32 << 20

// insertQueue is the most batches waiting (the buffer bounds their bytes).
const insertQueue = 1024

// startInsert begins query (which reads the view batchVw) in the
// transaction tx, on a goroutine of its own, reading the batches send
// passes (schema sch).
func startInsert(ctx context.Context, conn *sql.Conn, tx *sql.Tx, sch *arrow.Schema, query string) *insertStream {
	return startInsertBuffered(ctx, conn, tx, sch, query, insertBuffer)
}

// startInsertBuffered is startInsert with a buffer of buffer bytes.
func startInsertBuffered(ctx context.Context, conn *sql.Conn, tx *sql.Tx, sch *arrow.Schema, query string, buffer int64) *insertStream {
	return startInsertAfter(ctx, conn, sch, query, semaphore.NewWeighted(buffer), buffer,
		func() (*sql.Tx, error) { return tx, nil })
}

// startInsertAfter begins query once before returns the transaction to
// run it in (before runs on the statement's goroutine: the statement can
// wait for the connection, e.g. for the previous chunk's commit, while
// the loader already queues its batches). room bounds the bytes queued
// (its size max); statements that share a room share the bound. When
// before fails, the statement ends with its error, reading nothing.
func startInsertAfter(ctx context.Context, conn *sql.Conn, sch *arrow.Schema, query string, room *semaphore.Weighted, max int64, before func() (*sql.Tx, error)) *insertStream {
	ended, end := context.WithCancel(context.WithoutCancel(ctx))
	ins := &insertStream{ch: make(chan queuedBatch, insertQueue), done: make(chan error, 1),
		room: room, max: max, ended: ended}
	ins.rd = &feedReader{schema: sch, ch: ins.ch, ctx: ctx, room: ins.room}
	ins.rd.refs.Store(1)
	ins.wg.Go(func() {
		// done gets an outcome even if execStream panics (ins.wg.Wait
		// then panics again, in end), so that send never waits for ever
		err := errors.New("the streamed INSERT stopped")
		defer func() { ins.done <- err; end() }()
		var tx *sql.Tx
		if tx, err = before(); err != nil {
			return
		}
		err = execReader(ctx, conn, tx, ins.rd, query)
	})
	return ins
}

// send passes rec (the stream takes it over) to the statement; when the
// statement has ended (it failed), it returns its error.
func (ins *insertStream) send(rec arrow.Record) error {
	if ins.over {
		rec.Release()
		return ins.failure()
	}
	// a batch larger than the whole buffer waits for an empty queue
	n := min(recordBytes(rec), ins.max)
	if ins.room.Acquire(ins.ended, n) != nil {
		// the statement ended: its outcome says why
		rec.Release()
		ins.result, ins.over = <-ins.done, true
		return ins.failure()
	}
	select {
	case ins.ch <- queuedBatch{rec: rec, size: n}:
		return nil
	case <-ins.ended.Done():
		ins.room.Release(n)
		rec.Release()
		ins.result, ins.over = <-ins.done, true
		return ins.failure()
	}
}

// failure is the outcome of a statement that ended before its stream did.
func (ins *insertStream) failure() error {
	if ins.result != nil {
		return ins.result
	}
	return errors.New("the INSERT ended before its last batch")
}

// end closes the stream, waits for the statement and returns its error;
// with abort, the statement fails instead of committing what it read.
func (ins *insertStream) end(abort bool) error {
	if abort {
		ins.rd.abort.Store(true)
	}
	close(ins.ch)
	if !ins.over {
		ins.result, ins.over = <-ins.done, true
	}
	ins.wg.Wait()
	for q := range ins.ch { // never read (the statement failed): its room back too
		ins.room.Release(q.size)
		q.rec.Release()
	}
	ins.rd.Release()
	if abort && ins.result != nil {
		// DuckDB passes the stream's error on as text
		return fmt.Errorf("%w: %w", errInsertAborted, ins.result)
	}
	return ins.result
}

// feedReader is the Arrow stream of a streamed INSERT: DuckDB calls Next
// (on the statement's thread) and gets the batches the loader sends, in
// order, until the loader closes ch. Written here because arrow-go's
// readers read a slice or a channel without a way to fail the stream.
type feedReader struct {
	refs   atomic.Int64
	schema *arrow.Schema
	ch     <-chan queuedBatch
	room   *semaphore.Weighted
	ctx    context.Context
	abort  atomic.Bool
	cur    arrow.Record
	err    error
}

func (r *feedReader) Retain() { r.refs.Add(1) }

func (r *feedReader) Release() {
	if r.refs.Add(-1) == 0 && r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
}

func (r *feedReader) Schema() *arrow.Schema { return r.schema }

func (r *feedReader) Next() bool {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	if r.err != nil {
		return false
	}
	select {
	case q, ok := <-r.ch:
		if ok {
			r.room.Release(q.size)
		}
		if r.abort.Load() {
			if ok {
				q.rec.Release()
			}
			r.err = errInsertAborted
			return false
		}
		if !ok {
			return false
		}
		r.cur = q.rec
		return true
	case <-r.ctx.Done():
		r.err = r.ctx.Err()
		return false
	}
}

func (r *feedReader) RecordBatch() arrow.RecordBatch { return r.cur }

// Record is RecordBatch (array.RecordReader still names it).
func (r *feedReader) Record() arrow.RecordBatch { return r.cur }

func (r *feedReader) Err() error { return r.err }

var _ array.RecordReader = (*feedReader)(nil)

// recordBytes is the size of rec's buffers (a buffer shared by columns
// counts once per column: the buffer only needs an upper bound).
// arrow-go's util.TotalRecordSize does the same, but its package pulls in
// protobuf.
func recordBytes(rec arrow.Record) int64 {
	var n int64
	var data func(d arrow.ArrayData)
	data = func(d arrow.ArrayData) {
		for _, b := range d.Buffers() {
			if b != nil {
				n += int64(b.Len())
			}
		}
		for _, c := range d.Children() {
			data(c)
		}
	}
	for _, c := range rec.Columns() {
		data(c.Data())
	}
	return n
}
