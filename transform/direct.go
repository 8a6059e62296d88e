package transform

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/sourcegraph/conc"
	"golang.org/x/sync/semaphore"
)

// Direct load. A pending run (or batch of runs, loadbatch.go) is appended
// straight into the stream's table inside its warehouse transaction, one
// Arrow batch at a time, each row already carrying its run and landing
// time; nothing is staged in a temp table first. After the last batch the
// run is settled (settle.go): the merge rule (merge.go) is applied to the
// new rows against the rows that were there before, and what loses
// (in-run duplicates, stale and unchanged versions, replaced rows) is
// deleted. Until the commit nobody sees any of it, and a crash or an error
// rolls it all back.
//
// Staging first (the other path) materialises every record twice more in
// DuckDB (the staging table, then the classified copy), which for a large
// run spills DuckDB's temp files; appending once and deleting the few rows
// that lose is cheaper in time and keeps memory flat. The settle works on
// narrow columns (key, cursor, hash, row id) only.
//
// In-run duplicates are rare, so the loader keeps a Bloom filter of the
// keys appended so far: a key it has surely not seen is new to the run; a
// key it may have seen is a candidate, recorded in a small temp table, and
// the settle checks the candidates exactly. When no key repeats, the
// settle needs no window over the run; when the table was also empty
// before the run (a first load, a rebuild), it needs no statement at all.
//
// A batch DuckDB refuses (a value it will not store) aborts the
// transaction: the run is then loaded again through the staging path,
// which isolates and quarantines the refused records (bisect.go).

// A run bigger than chunkRows is appended in several transactions: every
// chunkRows rows the transaction commits and DuckDB checkpoints, because
// DuckDB holds memory outside its memory limit for every row appended in
// one transaction (and for committed rows until a checkpoint), so that one
// transaction of ten million rows needs over half a gigabyte. The working
// database is private (snapshot.go), so nobody sees the intermediate
// states; the run's rows are marked in rawland.meta (key loading/STREAM)
// from the first chunk on, and the marker is removed in the transaction
// that settles the run and marks it transformed. A transform that stops
// in between (an error, a crash, a kill) leaves the marker, and the rows
// it names are removed before anything else is done or published
// (dropLeftovers): the next transform loads the run again from its start.
const chunkRows = 500_000

// errDirectRefused says DuckDB refused a batch in the direct path.
var errDirectRefused = errors.New("DuckDB refused a batch appended directly")

// keyCandTbl holds the keys the Bloom filter may have seen before.
const keyCandTbl = "_rawland_key_candidates"

// directLoad is the stager's target in the direct path.
type directLoad struct {
	tx       *sql.Tx // the current transaction (rotate replaces it)
	conn     *sql.Conn
	rotated  int           // chunks committed
	pending  int64         // rows appended since the last commit
	chunk    int64         // rows per transaction (chunkRows)
	marker   string        // INSERT of the run's loading marker into rawland.meta
	insert   string        // INSERT INTO the table … SELECT … FROM batchVw
	ins      *insertStream // the streamed INSERT in progress (loadstream.go)
	keys     keyFilter
	freeKeys func() // frees keys (close)
	cands    int
	// the key candidates not yet written to keyCandTbl (the streamed
	// INSERT holds the connection), at most candHold rows
	held     []arrow.Record
	heldRows int
	candHold int // candHold, or the tests' limit
	// committed hears of each chunk's rows committed (warehouse.appended)
	committed func(rows int64)
	appended  []int64 // rows appended per run of the batch
	// runs is a batch's runs (nil for one run): each appended row carries
	// its run's ID and landing time as columns (withRuns).
	runs []batchRun
	// room bounds the bytes of batches queued for the streamed INSERTs,
	// the statement ending at a chunk's commit and the next one together
	room *semaphore.Weighted
	// rot is the chunk commit in progress (rotateAsync), nil when none
	rot   *rotation
	rotWG conc.WaitGroup
	fault func(chunk int, committed bool) error // tests (Options.rotateFault)
}

// rotation is a chunk's commit, done on a goroutine of its own while the
// loader goes on queueing the next chunk's batches.
type rotation struct {
	done      chan struct{} // closed when it is over
	committed bool          // the chunk was committed (its loading marker with it)
	tx        *sql.Tx       // the next chunk's transaction
	err       error
	counted   bool // settle counted it in rotated
}

// keySeed seeds the key hashes; any seed works within one process.
var keySeed = maphash.MakeSeed()

// keyHashes hashes each row's primary key (columns pk of rec), into buf
// (reused when it has room).
func keyHashes(buf []uint64, rec arrow.Record, pk []int) []uint64 {
	n := int(rec.NumRows())
	out := buf[:0]
	if cap(out) < n {
		out = make([]uint64, n)
	}
	out = out[:n]
	var h maphash.Hash
	h.SetSeed(keySeed)
	var b [16]byte
	for i := 0; i < n; i++ {
		h.Reset()
		for _, c := range pk {
			col := rec.Column(c)
			if col.IsNull(i) {
				h.WriteByte(0)
				continue
			}
			h.WriteByte(1)
			switch a := col.(type) {
			case *array.Int64:
				binary.LittleEndian.PutUint64(b[:8], uint64(a.Value(i)))
				h.Write(b[:8])
			case *array.String:
				v := a.Value(i)
				binary.LittleEndian.PutUint64(b[:8], uint64(len(v)))
				h.Write(b[:8])
				h.WriteString(v)
			case *array.Decimal128:
				v := a.Value(i)
				binary.LittleEndian.PutUint64(b[:8], v.LowBits())
				binary.LittleEndian.PutUint64(b[8:], uint64(v.HighBits()))
				h.Write(b[:])
			default:
				v := col.ValueStr(i)
				binary.LittleEndian.PutUint64(b[:8], uint64(len(v)))
				h.Write(b[:8])
				h.WriteString(v)
			}
		}
		out[i] = h.Sum64()
	}
	return out
}

// newDirectLoad prepares the direct path's statements for runs (one or a
// batch) into the stream's table; expect is how many records they landed.
// A load of more than maxKeys records gets no key filter (maxFilterKeys).
func newDirectLoad(conn *sql.Conn, tx *sql.Tx, s *Schema, runs []batchRun, expect, maxKeys int64) *directLoad {
	var cols []string
	for _, f := range s.root.fields {
		cols = append(cols, quoteIdent(f.name))
	}
	cols = append(cols, ColExtra, ColCursor, ColHash)
	run, landed := quoteString(runs[0].id), tsLiteral(runs[0].landedAt)
	var batch []batchRun
	if len(runs) > 1 {
		// the batch's rows bring their run and landing time (withRuns)
		run, landed, batch = ColRunID, ColLandedAt, runs
	}
	ids := make([]string, len(runs))
	for i, r := range runs {
		ids[i] = r.id
	}
	d := &directLoad{
		tx:   tx,
		conn: conn,
		marker: fmt.Sprintf("INSERT OR REPLACE INTO rawland.meta VALUES (%s, %s)",
			quoteString(loadingKey(s.Stream)), quoteString(strings.Join(ids, ","))),
		insert: fmt.Sprintf("INSERT INTO %s (%s, %s, %s, %s) SELECT %s, %s, %s, NULL FROM %s",
			tableName(s.Stream), strings.Join(cols, ", "), ColRunID, ColLandedAt, ColDeletedAt,
			strings.Join(cols, ", "), run, landed, batchVw),
		appended: make([]int64, len(runs)),
		chunk:    chunkRows,
		candHold: candHold,
		runs:     batch,
	}
	d.freeKeys = func() {}
	if expect <= maxKeys {
		d.keys, d.freeKeys = newKeyFilter(expect)
	}
	return d
}

// maxFilterWords caps a key filter at 16 MiB: 12 bits per key up to 11M
// keys (10M records took 16 MiB already), fewer beyond.
const maxFilterWords = 16 << 20 / 8

// maxFilterKeys is the most records a direct load's key filter is made
// for: twice what 16 MiB holds at 12 bits per key, where about 9% of the
// keys come out as candidates (checked exactly). A larger load gets no
// filter and its settle always looks for repeated keys itself (as when
// the filter found some), which took 35% longer at 1M: the transform's
// memory does not grow with the size of a run.
const maxFilterKeys = 2 * maxFilterWords * 64 / 12

// close frees the load's key filter; d is not used after it.
func (d *directLoad) close() {
	d.settle()
	d.freeKeys()
	d.keys = nil
}

// tsLiteral is t as a DuckDB TIMESTAMPTZ literal.
func tsLiteral(t time.Time) string {
	return "TIMESTAMPTZ " + quoteString(t.UTC().Format("2006-01-02 15:04:05.999999Z07:00"))
}

// createKeyCand creates the (empty) candidate key table.
func createKeyCand(ctx context.Context, tx execer, s *Schema) error {
	var defs []string
	for _, p := range s.pk {
		f := s.root.fields[p]
		defs = append(defs, quoteIdent(f.name)+" "+f.t.DDL())
	}
	if _, err := tx.ExecContext(ctx, "CREATE OR REPLACE TEMP TABLE "+keyCandTbl+" ("+strings.Join(defs, ", ")+")"); err != nil {
		return fmt.Errorf("create key candidate table: %w", err)
	}
	return nil
}

// loadDirect appends a batch's valid rows to the table (on the stager's
// callback goroutine, in feed order) and records its key candidates.
func (st *stager) loadDirect(ctx context.Context, out *batchOut) error {
	d := st.direct
	seqs := out.rec.Column(len(st.cols) - 1).(*array.Int64)
	var cand []int
	for i, h := range out.keyHash {
		if d.keys != nil && d.keys.testAndAdd(h) {
			cand = append(cand, i)
		}
		d.appended[seqs.Value(i)>>seqShift]++
	}
	// the candidates' keys are copied out: DuckDB's scan of the batch
	// releases it
	if len(cand) > 0 {
		keys, err := keyRows(out.rec, st.s, cand)
		if err != nil {
			return fmt.Errorf("record key candidates: %w", err)
		}
		d.cands += len(cand)
		d.held = append(d.held, keys)
		d.heldRows += len(cand)
		if d.heldRows >= d.candHold {
			if err := d.pause(ctx); err != nil {
				return err
			}
		}
	}
	if d.pending >= d.chunk {
		if err := d.rotateAsync(ctx); err != nil {
			return err
		}
	}
	var rec arrow.Record
	if d.runs != nil {
		rec = d.withRuns(out.rec, seqs)
	} else {
		out.rec.Retain()
		rec = out.rec
	}
	if d.ins == nil {
		if d.room == nil {
			d.room = semaphore.NewWeighted(insertBuffer)
		}
		before := func() (*sql.Tx, error) { return d.tx, nil }
		if r := d.rot; r != nil {
			// the chunk before is being committed: this statement runs
			// in the transaction that follows, once it has begun
			before = func() (*sql.Tx, error) {
				<-r.done
				return r.tx, r.err
			}
		}
		d.ins = startInsertAfter(ctx, d.conn, rec.Schema(), d.insert, d.room, insertBuffer, before)
	}
	d.pending += rec.NumRows()
	if err := d.ins.send(rec); err != nil {
		return d.refused(ctx, d.endInsert(false))
	}
	return nil
}

// candHold is how many key candidates the loader holds before it ends
// the streamed INSERT to write them (a Bloom filter's false positives are
// about 1% of the keys; a run that repeats most keys has more).
const candHold = 64 << 10

// endInsert ends the streamed INSERT in progress, if any (abort: fail it).
func (d *directLoad) endInsert(abort bool) error {
	if d.ins == nil {
		return nil
	}
	err := d.ins.end(abort)
	d.ins = nil
	return err
}

// refused marks err, a failed INSERT, as DuckDB refusing a batch when it
// is about the data.
func (d *directLoad) refused(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if _, data := dataError(ctx, err); data {
		return fmt.Errorf("%w: %w", errDirectRefused, err)
	}
	return err
}

// pause ends the streamed INSERT, so that the connection is free, and
// writes the key candidates held meanwhile. A chunk's commit in progress
// is waited for first.
func (d *directLoad) pause(ctx context.Context) error {
	if err := d.settle(); err != nil {
		d.endInsert(true)
		return err
	}
	if err := d.refused(ctx, d.endInsert(false)); err != nil {
		return err
	}
	if len(d.held) == 0 {
		return nil
	}
	defer d.release()
	if err := execArrows(ctx, d.conn, d.tx, d.held, "INSERT INTO "+keyCandTbl+" SELECT * FROM "+batchVw); err != nil {
		return fmt.Errorf("record key candidates: %w", err)
	}
	return nil
}

// abort fails the streamed INSERT in progress and drops what is held; the
// caller rolls the transaction back.
func (d *directLoad) abort() {
	d.settle()
	d.endInsert(true)
	d.release()
}

// withRuns returns rec (one Arrow batch of a batch of runs) with its last
// column, _rawland_seq, replaced by each row's run ID and landing time,
// looked up by the row's run (_rawland_seq >> seqShift, loadbatch.go).
// Joining the batch's run table in the INSERT instead, ordered by
// _rawland_seq to keep the landing order that the settle's tie-break
// relies on, cost a sort per INSERT on DuckDB's one thread: 1,000 runs of
// 100 records staged in 0.72–0.74 s that way, 0.57–0.63 s this way (one
// run of the same records: 0.50–0.53 s). The INSERT reads every column of
// the view: DuckDB's Arrow scan crashed in a trial where a query skipped
// _rawland_seq and read columns after it (the one-run INSERT skips only
// the last column).
func (d *directLoad) withRuns(rec arrow.Record, seqs *array.Int64) arrow.Record {
	n := int(rec.NumRows())
	ids := array.NewStringBuilder(memory.DefaultAllocator)
	defer ids.Release()
	ats := array.NewTimestampBuilder(memory.DefaultAllocator, arrowType(tTimestamp).(*arrow.TimestampType))
	defer ats.Release()
	ids.Reserve(n)
	ats.Reserve(n)
	for i := 0; i < n; i++ {
		r := d.runs[seqs.Value(i)>>seqShift]
		ids.Append(r.id)
		ats.Append(arrow.Timestamp(r.landedAt.UnixMicro()))
	}
	last := int(rec.NumCols()) - 1
	fields := append(rec.Schema().Fields()[:last:last],
		arrow.Field{Name: ColRunID, Type: arrow.BinaryTypes.String}, arrow.Field{Name: ColLandedAt, Type: ats.Type()})
	idArr, atArr := ids.NewArray(), ats.NewArray()
	defer idArr.Release()
	defer atArr.Release()
	cols := append(rec.Columns()[:last:last], idArr, atArr)
	return array.NewRecord(arrow.NewSchema(fields, nil), cols, rec.NumRows())
}

// release drops the key candidates held.
func (d *directLoad) release() {
	for _, r := range d.held {
		r.Release()
	}
	d.held, d.heldRows = d.held[:0], 0
}

// keyRows copies the primary key columns of rows of rec into a record of
// their own.
func keyRows(rec arrow.Record, s *Schema, rows []int) (arrow.Record, error) {
	fields := make([]arrow.Field, len(s.pk))
	cols := make([]arrow.Array, len(s.pk))
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	for j, p := range s.pk {
		fields[j] = rec.Schema().Field(p)
		parts := make([]arrow.Array, len(rows))
		for k, i := range rows {
			parts[k] = array.NewSlice(rec.Column(p), int64(i), int64(i+1))
		}
		c, err := array.Concatenate(parts, memory.DefaultAllocator)
		for _, part := range parts {
			part.Release()
		}
		if err != nil {
			return nil, err
		}
		cols[j] = c
	}
	return array.NewRecord(arrow.NewSchema(fields, nil), cols, int64(len(rows))), nil
}

// rotateAsync commits the chunk appended so far on a goroutine of its
// own: it ends the chunk's streamed INSERT, writes the key candidates
// held, commits (with the run's loading marker, the first time),
// checkpoints and begins the next transaction. Meanwhile the loader goes
// on: it queues the next chunk's batches for a statement that starts
// once the next transaction has begun (loadDirect), and the workers go
// on converting. Waiting for the commit stopped the workers at every
// chunk for as long as DuckDB took to end the statement (it compresses
// the last row groups then) and commit: 0.25–0.35 s, with one core idle.
// Anything else that needs the connection settles first (pause, abort).
func (d *directLoad) rotateAsync(ctx context.Context) error {
	if err := d.settle(); err != nil { // the one before, if still going
		return err
	}
	ins, held, tx, first, rows := d.ins, d.held, d.tx, d.rotated == 0, d.pending
	d.ins, d.held, d.heldRows, d.pending = nil, nil, 0, 0
	r := &rotation{done: make(chan struct{})}
	d.rot = r
	room := d.room
	d.rotWG.Go(func() {
		defer close(r.done)
		// while the chunk commits, DuckDB's memory peaks: the next
		// chunk's batches may queue only up to rotQueue meanwhile
		if ins != nil && room.Acquire(ins.ended, insertBuffer-rotQueue) == nil {
			defer room.Release(insertBuffer - rotQueue)
		}
		r.tx, r.err = d.rotate(ctx, ins, held, tx, first, rows, &r.committed)
	})
	return nil
}

// rotQueue is the most bytes of batches the loader queues for the next
// chunk while one commits (of insertBuffer). The commit is when DuckDB's
// memory peaks (it compresses the chunk's last row groups): with the
// whole buffer queued meanwhile, 10M users peaked at 240–249 MiB instead
// of 224–225.
const rotQueue = 12 << 20

// settle waits for the chunk commit in progress, if any, and takes on
// its transaction. Its error stays: every later call returns it.
func (d *directLoad) settle() error {
	r := d.rot
	if r == nil {
		return nil
	}
	<-r.done
	d.rotWG.Wait() // a panic in the commit goes on here
	if r.committed && !r.counted {
		// the chunk and its marker are in: after a failure the caller
		// removes them (dropLeftovers)
		d.rotated++
		r.counted = true
	}
	if r.err != nil {
		return r.err
	}
	d.tx, d.rot = r.tx, nil
	return nil
}

// rotate ends the chunk's statement ins, writes the key candidates held,
// commits tx (with the loading marker when first), checkpoints and begins
// the next transaction, which it returns; committed says the commit was
// done. It runs on the rotation's goroutine and touches nothing of d's
// that the loader changes meanwhile.
func (d *directLoad) rotate(ctx context.Context, ins *insertStream, held []arrow.Record, tx *sql.Tx, first bool, rows int64, committed *bool) (*sql.Tx, error) {
	defer func() {
		for _, r := range held {
			r.Release()
		}
	}()
	if ins != nil {
		if err := d.refused(ctx, ins.end(false)); err != nil {
			return nil, err
		}
	}
	if len(held) > 0 {
		if err := execArrows(ctx, d.conn, tx, held, "INSERT INTO "+keyCandTbl+" SELECT * FROM "+batchVw); err != nil {
			return nil, fmt.Errorf("record key candidates: %w", err)
		}
	}
	if first {
		if _, err := tx.ExecContext(ctx, d.marker); err != nil {
			return nil, fmt.Errorf("mark the run as loading: %w", err)
		}
	}
	chunk := d.rotated + 1 // d.rotated does not change while this runs (settle waits)
	if d.fault != nil {
		if err := d.fault(chunk, false); err != nil {
			return nil, err
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("commit a chunk of the run: %w", err)
	}
	*committed = true
	if d.fault != nil {
		if err := d.fault(chunk, true); err != nil {
			return nil, err
		}
	}
	if _, err := d.conn.ExecContext(ctx, "CHECKPOINT"); err != nil {
		return nil, fmt.Errorf("checkpoint after a chunk of the run: %w", err)
	}
	if d.committed != nil {
		d.committed(rows)
	}
	next, err := d.conn.BeginTx(context.WithoutCancel(ctx), nil)
	if err != nil {
		return nil, fmt.Errorf("begin warehouse transaction: %w", err)
	}
	return next, nil
}

// loadingKey is the rawland.meta key of a stream's loading marker.
func loadingKey(stream string) string { return "loading/" + stream }

// dropLeftovers removes the rows of runs whose direct load stopped after
// committing a chunk (their loading marker is still in rawland.meta): those
// runs are pending, and the next transform loads them from their start.
func dropLeftovers(ctx context.Context, tx *sql.Tx, log interface {
	Warn(msg string, args ...any)
}) error {
	rows, err := tx.QueryContext(ctx, "SELECT key, value FROM rawland.meta WHERE key LIKE 'loading/%'")
	if err != nil {
		return fmt.Errorf("read loading markers: %w", err)
	}
	type marker struct{ key, stream, ids string }
	var ms []marker
	for rows.Next() {
		var m marker
		if err := rows.Scan(&m.key, &m.ids); err != nil {
			rows.Close()
			return err
		}
		m.stream = strings.TrimPrefix(m.key, "loading/")
		ms = append(ms, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, m := range ms {
		var quoted []string
		for _, id := range strings.Split(m.ids, ",") {
			quoted = append(quoted, quoteString(id))
		}
		var n int64
		err := tx.QueryRowContext(ctx, "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'main' AND table_name = ?", m.stream).Scan(&n)
		if err != nil {
			return fmt.Errorf("find the table of stream %s: %w", m.stream, err)
		}
		if n > 0 {
			res, err := tx.ExecContext(ctx, fmt.Sprintf("DELETE FROM %s WHERE %s IN (%s)", tableName(m.stream), ColRunID, strings.Join(quoted, ", ")))
			if err != nil {
				return fmt.Errorf("remove the rows of an unfinished load of stream %s: %w", m.stream, err)
			}
			gone, _ := res.RowsAffected()
			log.Warn("removed the rows of an unfinished load; its runs are loaded again", KeyStream, m.stream, "runs", m.ids, "rows", gone)
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM rawland.meta WHERE key = ?", m.key); err != nil {
			return fmt.Errorf("remove loading marker: %w", err)
		}
	}
	return nil
}

// keyFilter is a blocked Bloom filter over key hashes: each key sets 8
// bits in one 512-bit block (one cache line), about 12 bits per expected
// key (a false positive rate near 1%). Written here because the keys are
// already hashed (keyHashes, on the workers): the Bloom filter libraries
// (bits-and-blooms/bloom) hash their input again and touch k cache lines
// per key, which cost more than the rest of the loader's loop.
type keyFilter []uint64

// newKeyFilter returns a filter for expect keys (at most maxFilterWords
// words) and the function that frees it (allocKeyFilter).
func newKeyFilter(expect int64) (keyFilter, func()) {
	blocks := uint64(1)
	for blocks*512 < uint64(max(expect, 1024))*12 && blocks*8 < maxFilterWords {
		blocks <<= 1
	}
	return allocKeyFilter(int(blocks * 8))
}

// testAndAdd adds h and reports whether it may have been added before.
func (f keyFilter) testAndAdd(h uint64) bool {
	blocks := uint64(len(f) / 8)
	blk := f[(h>>32)%blocks*8:][:8]
	seen := true
	x := uint32(h) | 1
	for i := 0; i < 8; i++ {
		x *= 0x9e3779b1 // a different odd multiplier per probe of one 32-bit seed
		bit := x >> 23  // 9 bits: the bit in the block
		w, m := bit>>6, uint64(1)<<(bit&63)
		if blk[w]&m == 0 {
			seen = false
			blk[w] |= m
		}
	}
	return seen
}
