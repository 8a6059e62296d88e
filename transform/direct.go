package transform

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
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

// errDirectRefused says DuckDB refused a batch in the direct path.
var errDirectRefused = errors.New("DuckDB refused a batch appended directly")

// keyCandTbl holds the keys the Bloom filter may have seen before.
const keyCandTbl = "_rawland_key_candidates"

// directLoad is the stager's target in the direct path.
type directLoad struct {
	tx       *sql.Tx
	insert   string // INSERT INTO the table … SELECT … FROM batchVw
	candSQL  string // INSERT INTO keyCandTbl SELECT key FROM batchVw WHERE seq IN (%s)
	keys     keyFilter
	cands    int
	appended []int64 // rows appended per run of the batch
}

// keySeed seeds the key hashes; any seed works within one process.
var keySeed = maphash.MakeSeed()

// keyHashes hashes each row's primary key (columns pk of rec).
func keyHashes(rec arrow.Record, pk []int) []uint64 {
	n := int(rec.NumRows())
	out := make([]uint64, n)
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
func newDirectLoad(tx *sql.Tx, s *Schema, runs []batchRun, expect int64) *directLoad {
	var cols []string
	for _, f := range s.root.fields {
		cols = append(cols, quoteIdent(f.name))
	}
	cols = append(cols, ColExtra, ColCursor, ColHash)
	run, landed := quoteString(runs[0].id), tsLiteral(runs[0].landedAt)
	if len(runs) > 1 {
		// the row's run is its _rawland_seq >> seqShift (loadbatch.go)
		ids, ts := make([]string, len(runs)), make([]string, len(runs))
		for i, r := range runs {
			ids[i], ts[i] = quoteString(r.id), tsLiteral(r.landedAt)
		}
		at := fmt.Sprintf("[(%s >> %d) + 1]", colSeq, seqShift)
		run = "([" + strings.Join(ids, ", ") + "]::VARCHAR[])" + at
		landed = "([" + strings.Join(ts, ", ") + "])" + at
	}
	d := &directLoad{
		tx: tx,
		insert: fmt.Sprintf("INSERT INTO %s (%s, %s, %s, %s) SELECT %s, %s, %s, NULL FROM %s",
			tableName(s.Stream), strings.Join(cols, ", "), ColRunID, ColLandedAt, ColDeletedAt,
			strings.Join(cols, ", "), run, landed, batchVw),
		candSQL: fmt.Sprintf("INSERT INTO %s SELECT %s FROM %s WHERE %s IN (%%s)",
			keyCandTbl, strings.Join(pkCols(s), ", "), batchVw, colSeq),
		keys:     newKeyFilter(expect),
		appended: make([]int64, len(runs)),
	}
	return d
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
	var cand []string
	for i, h := range out.keyHash {
		if d.keys.testAndAdd(h) {
			cand = append(cand, strconv.FormatInt(seqs.Value(i), 10))
		}
		d.appended[seqs.Value(i)>>seqShift]++
	}
	if err := execArrow(ctx, st.w.conn, d.tx, out.rec, d.insert); err != nil {
		if _, data := dataError(ctx, err); data {
			return fmt.Errorf("%w: %w", errDirectRefused, err)
		}
		return err
	}
	if len(cand) > 0 {
		d.cands += len(cand)
		if err := execArrow(ctx, st.w.conn, d.tx, out.rec, fmt.Sprintf(d.candSQL, strings.Join(cand, ", "))); err != nil {
			return fmt.Errorf("record key candidates: %w", err)
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

func newKeyFilter(expect int64) keyFilter {
	blocks := uint64(1)
	for blocks*512 < uint64(max(expect, 1024))*12 {
		blocks <<= 1
	}
	return make(keyFilter, blocks*8)
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
