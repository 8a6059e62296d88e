package transform

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"time"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// The bytes → Arrow converter: a record the fast validator accepted is
// typed straight from its landed bytes, with no map[string]any, no boxing
// and (once the scratch buffers have grown) no allocation. It produces
// exactly the row check() would: the same column values, _rawland_extra,
// _rawland_cursor, _rawland_hash and drift. Whatever it is not sure to
// convert exactly (a value that does not convert, an escaped object key,
// a missing primary key, two extra fields with one path, ...) it refuses,
// and the record takes the check() path, whose row goes through
// colBuf.any into the same batch. TestBytesArrowDifferential and
// FuzzBytesArrow hold the two paths to equal Arrow records.
//
// It works in two passes: row walks the bytes and writes one cell per
// value onto a tape, and emit replays the tape into the batch's builders.
// A record refused half-way leaves the builders untouched.
//
// The content hash's canonical encoding (canonical in check.go) is built
// in the same walk, so the record is not read a second time: each value
// the converter reads appends its canonical encoding to cbuf, and an
// object's members are converted in the order of their names (the
// canonical order: colType.byName, merged with the object's extra
// members), each after its key. So a struct's fields are on the tape in
// name order; the struct's cell (the root has none) points at a table in
// fcell of where each field's cells start, which emit follows to append
// them in schema order. List lengths come before their items.
// canon_test.go holds the encoding to appendCanonical and to canonical.

// cell is one converted value on the tape.
type cell struct {
	null  bool
	inRaw bool  // the text is record[s0:s1], else sbuf[s0:s1]
	n     int64 // BIGINT, BOOLEAN (0/1), TIMESTAMP µs, DATE days, UBIGINT, list length, decimal index, struct table (fcell); DOUBLE bits
	s0    int32
	s1    int32
}

// pathSeg is one step of the path to the value being converted: a field
// name, or an array position (idx ≥ 0).
type pathSeg struct {
	name string
	idx  int
}

// extraRef is a field the schema does not describe: its path and drift
// path (spans of pbuf) and where its value starts in the record.
type extraRef struct {
	p0, p1, n0, n1 int32
	val            int
}

// bytesConv is one worker's converter and scratch space.
type bytesConv struct {
	s      *Schema
	isPK   []bool // by root field
	raw    []byte
	st     fastState // string reading
	js     jsonScratch
	cells  []cell
	sbuf   []byte
	fpos   []int // per open struct: where each field's value starts (-1: absent)
	fend   []int // per open struct: where each field's value ends
	segs   []pathSeg
	extras []extraRef
	pbuf   []byte
	npaths []string
	decs   []decimal128.Num
	hbuf   []byte
	curPos int // the cursor's first path segment in the record (-1: absent)
	// curField is the root field the cursor's path starts with, -1 when
	// none does (then takeMember looks for it among the extras)
	curField int
	// rec, when set, is the record's objects as the fast validator
	// recorded them (fastval_rec.go): their keys are not read again and
	// their values need not be skipped to find the next
	rec *recording
	// the content hash (canon.go)
	cbuf []byte      // canonical encodings of the values converted so far
	xmem []rawMember // per open struct: its members the schema does not describe
	// fcell holds, per converted struct, where each field's cells start
	// (-1: absent, NULL) and then where the struct's cells end; the root's
	// table comes first
	fcell []int32
	// the one-pass path (bytesarrow_valid.go): per open struct, where each
	// field's canonical encoding is in cbuf; an object's encoding in name
	// order while it is put together
	vspan []valSpan
	tbuf  []byte
}

func newBytesConv(s *Schema) *bytesConv {
	bc := &bytesConv{s: s, isPK: make([]bool, len(s.root.fields)), curField: -1}
	if len(s.cursorPath) > 0 {
		if i, ok := s.root.index[s.cursorPath[0]]; ok {
			bc.curField = i
		}
	}
	for _, p := range s.pk {
		bc.isPK[p] = true
	}
	return bc
}

// row converts one record onto the tape; seq is its _rawland_seq. false:
// the record must take the check() path. rec is the record's structure as
// the fast validator recorded it when it accepted raw, or nil: then row
// reads it itself.
func (bc *bytesConv) row(raw []byte, seq int64, rec *recording) bool {
	if len(raw) >= math.MaxInt32 {
		return false
	}
	bc.raw, bc.rec = raw, rec
	bc.cells, bc.sbuf, bc.fpos, bc.fend, bc.segs = bc.cells[:0], bc.sbuf[:0], bc.fpos[:0], bc.fend[:0], bc.segs[:0]
	bc.extras, bc.pbuf, bc.decs, bc.curPos = bc.extras[:0], bc.pbuf[:0], bc.decs[:0], -1
	bc.cbuf, bc.xmem, bc.hbuf, bc.fcell = bc.cbuf[:0], bc.xmem[:0], bc.hbuf[:0], bc.fcell[:0]
	pos := bc.ws(0)
	if pos >= len(raw) || raw[pos] != '{' {
		return false
	}
	// the root's canonical encoding is the record's: it goes to hbuf, and
	// cbuf gets its buffer back also when the record is refused
	saved := bc.cbuf
	bc.cbuf = bc.hbuf
	ok := bc.object(pos, bc.s.root, true)
	bc.hbuf, bc.cbuf = bc.cbuf, saved
	if !ok || !bc.extraCell() || !bc.cursorCell() {
		return false
	}
	bc.cells = append(bc.cells, cell{n: int64(bc.s.sum(bc.hbuf))}, cell{n: seq})
	return len(bc.sbuf) < math.MaxInt32
}

func (bc *bytesConv) ws(pos int) int {
	for pos < len(bc.raw) {
		switch bc.raw[pos] {
		case ' ', '\t', '\n', '\r':
			pos++
		default:
			return pos
		}
	}
	return pos
}

// value converts the value at pos (no whitespace before it) as t, as
// converter.convert does; false where convert would fail. end is where
// the value ends, or -1 when the caller does not know.
func (bc *bytesConv) value(pos, end int, t *colType) bool {
	b := bc.raw
	c := b[pos]
	if c == 'n' {
		bc.cells = append(bc.cells, cell{null: true})
		bc.cbuf = append(bc.cbuf, 'z')
		return true
	}
	switch t.kind {
	case kJSON, kNull:
		start := len(bc.sbuf)
		out, ok := bc.js.appendJSONText(bc.sbuf, b, pos)
		bc.sbuf = out
		bc.cells = append(bc.cells, cell{s0: int32(start), s1: int32(len(out))})
		var cok bool
		bc.cbuf, cok = bc.js.appendCanonical(bc.cbuf, b, pos)
		return ok && cok
	case kVarchar:
		return c == '"' && bc.str(pos, end)
	case kBool:
		if c != 't' && c != 'f' {
			return false
		}
		var n int64
		if c == 't' {
			n = 1
		}
		bc.cells = append(bc.cells, cell{n: n})
		bc.cbuf = append(bc.cbuf, c) // 't' or 'f', as canonical tags them
		return true
	case kStruct:
		return c == '{' && bc.object(pos, t, false)
	case kList:
		return c == '[' && bc.list(pos, t)
	case kTimestamp, kDate:
		if c != '"' {
			return false
		}
		s, ok := bc.plainStr(pos, end)
		if !ok {
			bc.st.b, bc.st.pos = b, pos
			if s, ok = bc.st.str(); !ok {
				return false
			}
		}
		bc.cbuf = appendCanonStr(bc.cbuf, 's', s)
		if t.kind == kDate {
			d, err := time.Parse(time.DateOnly, s)
			bc.cells = append(bc.cells, cell{n: int64(arrow.Date32FromTime(d))})
			return err == nil
		}
		us, err := parseTimestamp(s)
		bc.cells = append(bc.cells, cell{n: us})
		return err == nil
	}
	if c != '-' && (c < '0' || c > '9') {
		return false
	}
	if end < 0 {
		end = pos + 1
		for end < len(b) && numByte(b[end]) {
			end++
		}
	}
	text := unsafeString(b[pos:end])
	bc.cbuf = appendCanonStr(bc.cbuf, 'n', text)
	switch t.kind {
	case kBigint:
		i, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			if i, err = parseInt64(json.Number(text)); err != nil { // 1.0, 1e3: rare
				return false
			}
		}
		bc.cells = append(bc.cells, cell{n: i})
		return true
	case kDouble:
		f, err := strconv.ParseFloat(text, 64)
		if err != nil || math.IsInf(f, 0) {
			return false
		}
		bc.cells = append(bc.cells, cell{n: int64(math.Float64bits(f))})
		return true
	case kHugeint:
		i, err := parseBigInt(json.Number(text))
		if err != nil {
			return false
		}
		bc.decs = append(bc.decs, decimal128.FromBigInt(i))
	case kKeyDecimal:
		d, err := parseKeyDecimal(json.Number(text))
		if err != nil {
			return false
		}
		bc.decs = append(bc.decs, decimal128.FromBigInt(d.Value))
	default:
		return false
	}
	bc.cells = append(bc.cells, cell{n: int64(len(bc.decs) - 1)})
	return true
}

func numByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}

// plainStr is the text of the string at pos..end (end -1: not known) when
// it has no escapes; ok is false when it does or end is not known.
func (bc *bytesConv) plainStr(pos, end int) (string, bool) {
	if end < 0 {
		return "", false
	}
	text := bc.raw[pos+1 : end-1]
	if bytes.IndexByte(text, '\\') >= 0 {
		return "", false
	}
	return unsafeString(text), true
}

// str converts the string at pos (ending at end, or -1: not known) as
// VARCHAR: a span of the record when it has no escapes, else its
// unescaped text copied to sbuf.
func (bc *bytesConv) str(pos, end int) bool {
	if s, ok := bc.plainStr(pos, end); ok {
		bc.cbuf = appendCanonStr(bc.cbuf, 's', s)
		bc.cells = append(bc.cells, cell{inRaw: true, s0: int32(pos + 1), s1: int32(end - 1)})
		return true
	}
	bc.st.b, bc.st.pos = bc.raw, pos
	s, ok := bc.st.str()
	if !ok {
		return false
	}
	bc.cbuf = appendCanonStr(bc.cbuf, 's', s)
	start := pos + 1
	if len(s) == bc.st.pos-1-start {
		bc.cells = append(bc.cells, cell{inRaw: true, s0: int32(start), s1: int32(bc.st.pos - 1)})
		return true
	}
	bc.cells = append(bc.cells, bc.text(s))
	return true
}

// text copies s to sbuf and returns its cell.
func (bc *bytesConv) text(s string) cell {
	start := len(bc.sbuf)
	bc.sbuf = append(bc.sbuf, s...)
	return cell{s0: int32(start), s1: int32(len(bc.sbuf))}
}

// textOf is a text cell's bytes.
func (bc *bytesConv) textOf(c *cell) []byte {
	if c.inRaw {
		return bc.raw[c.s0:c.s1]
	}
	return bc.sbuf[c.s0:c.s1]
}

func bytesString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
