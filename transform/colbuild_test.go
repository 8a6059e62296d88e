package transform

import (
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory/mallocator"
)

// TestColBufMatchesArrowBuilders builds the differential corpora's
// converted rows (check()'s values, as process appends a record the bytes
// converter refuses) into batches of colBufs and into arrow-go's builders
// (buildRecord, the reference), in batches of several sizes, and wants the
// same records and every byte of C memory freed.
func TestColBufMatchesArrowBuilders(t *testing.T) {
	for _, c := range convCases(t) {
		t.Run(c.name, func(t *testing.T) {
			st := newStager(c.s, nil, nil, 1, len(c.recs), loadArrow)
			var conv converter
			var rows [][]any
			for i, r := range c.recs {
				vd := c.s.check(r, &conv)
				if vd.errs == nil {
					rows = append(rows, append(vd.row, int64(i)))
				}
			}
			if len(rows) == 0 {
				t.Skip("no valid rows")
			}
			mem := mallocator.NewMallocator()
			var hint sizeHint
			for _, size := range []int{1, 3, len(rows)} {
				for at := 0; at < len(rows); at += size {
					colBufDiff(t, st, mem, &hint, rows[at:min(at+size, len(rows))])
				}
			}
			if n := mem.AllocatedBytes(); n != 0 {
				t.Errorf("%d bytes of C memory never freed", n)
			}
		})
	}
}

// TestColBufFreesUnfinished: a batch whose rows were all refused frees
// what its columns had allocated.
func TestColBufFreesUnfinished(t *testing.T) {
	s := streamSchema(t, kindsSchema, "id", "")
	st := newStager(s, nil, nil, 1, 1, loadArrow)
	mem := mallocator.NewMallocator()
	cb := newBatchCols(st.sch, st.cols, mem)
	for _, b := range cb.cols {
		b.null()
	}
	if mem.AllocatedBytes() == 0 {
		t.Fatal("nothing allocated")
	}
	cb.free()
	if n := mem.AllocatedBytes(); n != 0 {
		t.Errorf("%d bytes of C memory never freed", n)
	}
}

// TestColBufRandomRows appends random values of every column type (nulls
// anywhere, empty and nested lists, null structs, empty text) in batches of
// random sizes, and wants arrow-go's builders' records.
func TestColBufRandomRows(t *testing.T) {
	s := streamSchema(t, kindsSchema, "id", "")
	st := newStager(s, nil, nil, 1, 1, loadArrow)
	r := rand.New(rand.NewPCG(1, 2))
	mem := mallocator.NewMallocator()
	var hint sizeHint
	for range 300 {
		rows := make([][]any, 1+r.IntN(40))
		for i := range rows {
			for _, c := range st.cols {
				rows[i] = append(rows[i], randValue(r, c.t, 0))
			}
		}
		colBufDiff(t, st, mem, &hint, rows)
	}
	if n := mem.AllocatedBytes(); n != 0 {
		t.Errorf("%d bytes of C memory never freed", n)
	}
}

// colBufDiff builds rows (check()'s values) into one batch of colBufs (in
// mem, poisoned when freed) and with arrow-go's builders, and fails unless
// the records are equal.
func colBufDiff(t *testing.T, st *stager, mem *mallocator.Mallocator, hint *sizeHint, rows [][]any) {
	t.Helper()
	cb := newBatchCols(st.sch, st.cols, poisonMem{mem})
	hint.reserve(cb, len(rows))
	for _, row := range rows {
		for i, b := range cb.cols {
			b.any(row[i])
		}
	}
	hint.learn(cb, len(rows))
	got := cb.record(len(rows))
	cb.free()
	defer got.Release()
	want := buildRecord(st.sch, st.cols, rows)
	defer want.Release()
	for i := range got.NumCols() {
		if !array.Equal(got.Column(int(i)), want.Column(int(i))) {
			t.Fatalf("batch of %d rows, column %s:\n got %v\nwant %v", len(rows), got.ColumnName(int(i)), got.Column(int(i)), want.Column(int(i)))
		}
	}
	if !array.RecordEqual(got, want) {
		t.Fatalf("batch of %d rows: records differ", len(rows))
	}
}

// randValue is a random value of t as check() converts it (nil: NULL).
func randValue(r *rand.Rand, t *colType, depth int) any {
	if r.IntN(4) == 0 {
		return nil
	}
	switch t.kind {
	case kBool:
		return r.IntN(2) == 0
	case kBigint:
		return r.Int64() - r.Int64()
	case kHugeint:
		return new(big.Int).Mul(big.NewInt(r.Int64()), big.NewInt(r.Int64()-r.Int64()))
	case kDouble:
		return r.NormFloat64() * 1e6
	case kKeyDecimal:
		return duckdb.Decimal{Width: keyDecimalWidth, Scale: keyDecimalScale, Value: big.NewInt(r.Int64() - r.Int64())}
	case kTimestamp:
		return time.UnixMicro(r.Int64N(1 << 50)).UTC()
	case kDate:
		return time.Unix(r.Int64N(1<<35), 0).UTC().Truncate(24 * time.Hour)
	case kStruct:
		sv := make(structVal, len(t.fields))
		for i, f := range t.fields {
			sv[i] = randValue(r, f.t, depth+1)
		}
		return sv
	case kList:
		l := make([]any, r.IntN(4))
		for i := range l {
			l[i] = randValue(r, t.elem, depth+1)
		}
		return l
	case kOther:
		return r.Uint64()
	}
	return strings.Repeat("é", r.IntN(3)) + strings.Repeat("x", r.IntN(20))
}

func TestSizeClass(t *testing.T) {
	prev := 0
	for n := 0; n < 1<<20; n++ {
		c := sizeClass(n)
		if c < n || c < 64 || c < prev {
			t.Fatalf("sizeClass(%d) = %d (previous %d)", n, c, prev)
		}
		if n > 64 && c > n+n/4 {
			t.Fatalf("sizeClass(%d) = %d: more than a quarter over", n, c)
		}
		prev = c
	}
	for _, tc := range [][2]int{{0, 64}, {65, 80}, {100, 112}, {1000, 1024}, {1025, 1280}, {45008, 49152}} {
		if got := sizeClass(tc[0]); got != tc[1] {
			t.Errorf("sizeClass(%d) = %d, want %d", tc[0], got, tc[1])
		}
	}
}
