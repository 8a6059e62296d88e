package transform

import (
	"math"
	"math/big"
	"math/bits"
	"sync"
	"time"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/duckdb/duckdb-go/v2"
)

// A batch's Arrow columns are built here rather than with arrow-go's
// builders. Those pay per value for generality a batch of known column
// types does not need: an interface call and type switch, a Reserve check
// on each of up to three buffers (values, offsets, validity), a validity
// bit written for every value. On the mock's users stream they were 14% of
// a worker's CPU. A colBuf appends each value to one vector in the batch's
// memory (C memory in production, batchMem) with one capacity check, marks
// only its nulls (most columns have none) in a bitmap inverted at the end,
// and hands its vectors to the Arrow array as buffers without a copy when
// the batch is done.

// cvec is a growable vector of pointer-free T in the batch's memory.
type cvec[T any] struct {
	s   []T
	raw []byte // the allocation s aliases (len = cap = its size); nil: none yet
	mem memory.Allocator
}

// push appends x; the capacity check keeps append from ever reallocating
// s on the Go heap.
func (v *cvec[T]) push(x T) {
	if len(v.s) == cap(v.s) {
		v.grow(1)
	}
	v.s = append(v.s, x)
}

// pushAll appends xs.
func (v *cvec[T]) pushAll(xs []T) {
	if len(v.s)+len(xs) > cap(v.s) {
		v.grow(len(xs))
	}
	v.s = append(v.s, xs...)
}

// reserve makes room for n more values.
func (v *cvec[T]) reserve(n int) {
	if len(v.s)+n > cap(v.s) {
		v.grow(n)
	}
}

func (v *cvec[T]) grow(k int) {
	var z T
	size := int(unsafe.Sizeof(z))
	bytes := sizeClass(max(2*cap(v.s), len(v.s)+k) * size)
	if v.raw == nil {
		v.raw = v.mem.Allocate(bytes)
	} else {
		v.raw = v.mem.Reallocate(bytes, v.raw)
	}
	v.s = unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(v.raw))), bytes/size)[:len(v.s)]
}

// sizeClass rounds an allocation up to one of four sizes per power of two
// (at least 64 bytes): batches' buffers then come in a few sizes, which
// malloc reuses as they are freed. Sized exactly (each batch's hint times
// its records), they took fresh pages instead: a transform of 10M users
// spent 12.7 s in the kernel against 8.6 s in size classes (and 7.4–8.7 s
// with arrow-go's builders, which allocate powers of two).
func sizeClass(n int) int {
	if n <= 64 {
		return 64
	}
	step := 1 << (bits.Len(uint(n-1)) - 3) // a quarter of the power of two below n
	return (n + step - 1) &^ (step - 1)
}

// buffer hands the vector's memory to an Arrow buffer (the buffer frees
// it) and empties the vector.
func (v *cvec[T]) buffer() *memory.Buffer {
	if v.raw == nil {
		v.grow(1)
	}
	buf := memory.NewBufferWithAllocator(v.raw, v.mem)
	v.s, v.raw = nil, nil
	return buf
}

// free frees memory no Arrow buffer took.
func (v *cvec[T]) free() {
	if v.raw != nil {
		v.mem.Free(v.raw)
	}
	v.s, v.raw = nil, nil
}

// colBuf builds one Arrow column (nested ones recursively) of a batch.
type colBuf struct {
	t     *colType
	dt    arrow.DataType
	n     int          // values so far
	nulls int          // of them null
	nullw cvec[uint64] // bit i set: value i is null (words up to the last null)

	u64  cvec[uint64]         // kBigint, kTimestamp, kDouble (bits), kOther
	i32  cvec[int32]          // kDate
	dec  cvec[decimal128.Num] // kHugeint, kKeyDecimal
	b8   cvec[byte]           // kBool, one byte per value (packed in finish)
	offs cvec[int32]          // text and lists: n+1 offsets
	data cvec[byte]           // text
	kids []*colBuf            // kStruct: its fields; kList: its element
}

func newColBuf(t *colType, dt arrow.DataType, mem memory.Allocator) *colBuf {
	b := &colBuf{t: t, dt: dt}
	b.u64.mem, b.i32.mem, b.dec.mem, b.b8.mem, b.offs.mem, b.data.mem, b.nullw.mem = mem, mem, mem, mem, mem, mem, mem
	switch t.kind {
	case kStruct:
		st := dt.(*arrow.StructType)
		for i, f := range t.fields {
			b.kids = append(b.kids, newColBuf(f.t, st.Field(i).Type, mem))
		}
	case kList:
		b.kids = []*colBuf{newColBuf(t.elem, dt.(*arrow.ListType).Elem(), mem)}
		b.offs.push(0)
	case kBool, kBigint, kHugeint, kDouble, kKeyDecimal, kTimestamp, kDate, kOther:
	default:
		b.offs.push(0)
	}
	return b
}

// null appends a null (a null struct's fields get one each, as arrow-go's
// StructBuilder does).
func (b *colBuf) null() {
	w := b.n >> 6
	for len(b.nullw.s) <= w {
		b.nullw.push(0)
	}
	b.nullw.s[w] |= 1 << (b.n & 63)
	b.nulls++
	b.n++
	switch b.t.kind {
	case kBool:
		b.b8.push(0)
	case kBigint, kTimestamp, kDouble, kOther:
		b.u64.push(0)
	case kDate:
		b.i32.push(0)
	case kHugeint, kKeyDecimal:
		b.dec.push(decimal128.Num{})
	case kStruct:
		for _, k := range b.kids {
			k.null()
		}
	case kList:
		b.offs.push(int32(b.kids[0].n))
	default:
		b.offs.push(int32(len(b.data.s)))
	}
}

func (b *colBuf) bool(v bool) {
	var x byte
	if v {
		x = 1
	}
	b.b8.push(x)
	b.n++
}

// word appends a 64-bit value: BIGINT, TIMESTAMP (µs), DOUBLE (bits), UBIGINT.
func (b *colBuf) word(x uint64) {
	b.u64.push(x)
	b.n++
}

func (b *colBuf) date(d int32) {
	b.i32.push(d)
	b.n++
}

func (b *colBuf) decimal(d decimal128.Num) {
	b.dec.push(d)
	b.n++
}

// text appends a string's bytes.
func (b *colBuf) text(p []byte) {
	if len(b.data.s)+len(p) > math.MaxInt32 {
		// Arrow's 32-bit offsets: a batch this large would be corrupt
		panic("transform: a batch's text column passed 2 GiB; lower transform.batch_size")
	}
	b.data.pushAll(p)
	b.offs.push(int32(len(b.data.s)))
	b.n++
}

// structValid appends a present struct; the caller appends its fields.
func (b *colBuf) structValid() { b.n++ }

// listEnd appends a present list whose elements the caller appended to
// kids[0].
func (b *colBuf) listEnd() {
	b.offs.push(int32(b.kids[0].n))
	b.n++
}

// any appends a converted value (check()'s rows); arrowref_test.go holds
// it to arrow-go's builders.
func (b *colBuf) any(v any) {
	if v == nil {
		b.null()
		return
	}
	switch b.t.kind {
	case kBool:
		b.bool(v.(bool))
	case kBigint:
		b.word(uint64(v.(int64)))
	case kHugeint:
		b.decimal(decimal128.FromBigInt(v.(*big.Int)))
	case kDouble:
		b.word(math.Float64bits(v.(float64)))
	case kKeyDecimal:
		b.decimal(decimal128.FromBigInt(v.(duckdb.Decimal).Value))
	case kTimestamp:
		b.word(uint64(v.(time.Time).UnixMicro()))
	case kDate:
		b.date(int32(arrow.Date32FromTime(v.(time.Time))))
	case kStruct:
		sv := v.(structVal)
		for i, k := range b.kids {
			k.any(sv[i])
		}
		b.structValid()
	case kList:
		for _, e := range v.([]any) {
			b.kids[0].any(e)
		}
		b.listEnd()
	case kOther:
		b.word(v.(uint64))
	default:
		s := v.(string)
		b.text(unsafe.Slice(unsafe.StringData(s), len(s)))
	}
}

// finish turns the column into Arrow array data (the caller releases it);
// the vectors' memory now belongs to it.
func (b *colBuf) finish() arrow.ArrayData {
	var mem memory.Allocator = b.u64.mem
	bufs := []*memory.Buffer{nil}
	if b.nulls > 0 {
		// the validity bitmap is the nulls' words inverted
		b.nullw.reserve((b.n+63)/64 - len(b.nullw.s))
		for len(b.nullw.s) < (b.n+63)/64 {
			b.nullw.push(0)
		}
		for i, w := range b.nullw.s {
			b.nullw.s[i] = ^w
		}
		bufs[0] = b.nullw.buffer()
	}
	var kids []arrow.ArrayData
	switch b.t.kind {
	case kBool:
		raw := mem.Allocate(sizeClass(int(bitutil.BytesForBits(int64(b.n)))))
		clear(raw) // a recycled buffer (bufPool) is not zeroed
		for i, x := range b.b8.s {
			if x != 0 {
				bitutil.SetBit(raw, i)
			}
		}
		b.b8.free()
		bufs = append(bufs, memory.NewBufferWithAllocator(raw, mem))
	case kBigint, kTimestamp, kDouble, kOther:
		bufs = append(bufs, b.u64.buffer())
	case kDate:
		bufs = append(bufs, b.i32.buffer())
	case kHugeint, kKeyDecimal:
		bufs = append(bufs, b.dec.buffer())
	case kStruct:
		for _, k := range b.kids {
			kids = append(kids, k.finish())
		}
	case kList:
		bufs = append(bufs, b.offs.buffer())
		kids = append(kids, b.kids[0].finish())
	default:
		bufs = append(bufs, b.offs.buffer(), b.data.buffer())
	}
	d := array.NewData(b.dt, b.n, bufs, kids, b.nulls, 0)
	for _, buf := range bufs {
		if buf != nil {
			buf.Release() // the data holds its own reference
		}
	}
	for _, k := range kids {
		k.Release()
	}
	return d
}

// free frees what finish did not hand over (a batch with no valid rows).
func (b *colBuf) free() {
	b.u64.free()
	b.i32.free()
	b.dec.free()
	b.b8.free()
	b.offs.free()
	b.data.free()
	b.nullw.free()
	for _, k := range b.kids {
		k.free()
	}
}

// walk calls fn on b and its nested columns, depth first.
func (b *colBuf) walk(fn func(*colBuf)) {
	fn(b)
	for _, k := range b.kids {
		k.walk(fn)
	}
}

// batchCols are the columns of one batch.
type batchCols struct {
	sch  *arrow.Schema
	cols []*colBuf
}

func newBatchCols(sch *arrow.Schema, cols []field, mem memory.Allocator) *batchCols {
	bc := &batchCols{sch: sch, cols: make([]*colBuf, len(cols))}
	for i, c := range cols {
		bc.cols[i] = newColBuf(c.t, sch.Field(i).Type, mem)
	}
	return bc
}

// record makes the batch's record of n rows (the caller releases it).
func (bc *batchCols) record(n int) arrow.Record {
	arrs := make([]arrow.Array, len(bc.cols))
	for i, c := range bc.cols {
		d := c.finish()
		arrs[i] = array.MakeFromData(d)
		d.Release()
	}
	rec := array.NewRecord(bc.sch, arrs, int64(n))
	for _, a := range arrs {
		a.Release()
	}
	return rec
}

func (bc *batchCols) free() {
	for _, c := range bc.cols {
		c.free()
	}
}

// sizeHint remembers, per column (nested ones too, depth first), how many
// values and text bytes one record took in the last batch, so that the
// next batch allocates each vector once: growing by doubling (allocate,
// copy, free) was 5% of a transform of the mock's users stream. Workers
// share it.
type sizeHint struct {
	mu  sync.Mutex
	per []float64 // per column: values per record, text bytes per record
}

// reserve sizes bc's vectors for n records: what n records took last
// time plus an eighth.
func (h *sizeHint) reserve(bc *batchCols, n int) {
	h.mu.Lock()
	per := h.per
	h.mu.Unlock()
	i := 0
	for _, c := range bc.cols {
		c.walk(func(b *colBuf) {
			if i+1 >= len(per) {
				return
			}
			vals, text := int(per[i]*float64(n))*9/8+1, int(per[i+1]*float64(n))*9/8
			i += 2
			switch b.t.kind {
			case kBool:
				b.b8.reserve(vals)
			case kBigint, kTimestamp, kDouble, kOther:
				b.u64.reserve(vals)
			case kDate:
				b.i32.reserve(vals)
			case kHugeint, kKeyDecimal:
				b.dec.reserve(vals)
			case kStruct:
			case kList:
				b.offs.reserve(vals)
			default:
				b.offs.reserve(vals)
				b.data.reserve(text)
			}
		})
	}
}

// learn records what n records took in bc's columns.
func (h *sizeHint) learn(bc *batchCols, n int) {
	if n == 0 {
		return
	}
	var per []float64
	for _, c := range bc.cols {
		c.walk(func(b *colBuf) {
			per = append(per, float64(b.n)/float64(n), float64(len(b.data.s))/float64(n))
		})
	}
	h.mu.Lock()
	h.per = per
	h.mu.Unlock()
}
