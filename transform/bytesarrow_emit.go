package transform

import (
	"slices"
	"strconv"
	"strings"

	"github.com/rawland/rawland/internal/cursorval"
)

// addExtra records a member the schema does not describe, under the path
// converter.object would give it.
func (bc *bytesConv) addExtra(key string, val int) {
	p0 := len(bc.pbuf)
	bc.pbuf = bc.appendPath(bc.pbuf, key, false)
	n0 := len(bc.pbuf)
	bc.pbuf = bc.appendPath(bc.pbuf, key, true)
	bc.extras = append(bc.extras, extraRef{p0: int32(p0), p1: int32(n0), n0: int32(n0), n1: int32(len(bc.pbuf)), val: val})
}

// appendPath appends the path of key in the current object as join and
// converter.convert build it ("a.b[0].c"); drift writes [] for positions.
func (bc *bytesConv) appendPath(dst []byte, key string, drift bool) []byte {
	start := len(dst)
	for _, sg := range bc.segs {
		if sg.idx >= 0 {
			if drift {
				dst = append(dst, "[]"...)
			} else {
				dst = append(dst, '[')
				dst = strconv.AppendInt(dst, int64(sg.idx), 10)
				dst = append(dst, ']')
			}
			continue
		}
		if len(dst) > start {
			dst = append(dst, '.')
		}
		dst = append(dst, sg.name...)
	}
	if len(dst) > start {
		dst = append(dst, '.')
	}
	return append(dst, key...)
}

func (bc *bytesConv) span(p0, p1 int32) string { return bytesString(bc.pbuf[p0:p1]) }

// extraCell writes _rawland_extra: the extras as one JSON object keyed by
// path, as jsonText encodes the converter's extras map.
func (bc *bytesConv) extraCell() bool {
	if len(bc.extras) == 0 {
		bc.cells = append(bc.cells, cell{null: true})
		return true
	}
	slices.SortFunc(bc.extras, func(a, b extraRef) int {
		return strings.Compare(bc.span(a.p0, a.p1), bc.span(b.p0, b.p1))
	})
	start := len(bc.sbuf)
	bc.sbuf = append(bc.sbuf, '{')
	for i, e := range bc.extras {
		if i > 0 {
			if bc.span(e.p0, e.p1) == bc.span(bc.extras[i-1].p0, bc.extras[i-1].p1) {
				return false // two fields with one path: the map keeps one of them
			}
			bc.sbuf = append(bc.sbuf, ',')
		}
		bc.sbuf = appendJSONString(bc.sbuf, bc.span(e.p0, e.p1))
		bc.sbuf = append(bc.sbuf, ':')
		var ok bool
		if bc.sbuf, ok = bc.js.appendJSONText(bc.sbuf, bc.raw, e.val); !ok {
			return false
		}
	}
	bc.sbuf = append(bc.sbuf, '}')
	bc.cells = append(bc.cells, cell{s0: int32(start), s1: int32(len(bc.sbuf))})
	return true
}

// cursorCell writes _rawland_cursor as Schema.cursorValue reads it.
func (bc *bytesConv) cursorCell() bool {
	if bc.curField >= 0 && len(bc.s.cursorPath) == 1 && sameScalarType(bc.s.root.fields[bc.curField].t, bc.s.cursor) {
		// the cursor is a root field of its own type: its column's cell
		// is the value (or NULL) converting it again would give
		k := bc.fcell[bc.curField]
		if k < 0 {
			bc.cells = append(bc.cells, cell{null: true})
		} else {
			bc.cells = append(bc.cells, bc.cells[k])
		}
		return true
	}
	pos := bc.curPos
	for _, seg := range bc.s.cursorPath[min(1, len(bc.s.cursorPath)):] {
		if pos < 0 {
			break
		}
		var ok bool
		if pos, ok = bc.member(pos, seg); !ok {
			return false
		}
	}
	if pos < 0 || bc.raw[pos] == 'n' {
		bc.cells = append(bc.cells, cell{null: true})
		return true
	}
	if bc.s.cursor.kind == kVarchar {
		if bc.raw[pos] != '"' {
			start := len(bc.sbuf)
			var ok bool
			bc.sbuf, ok = bc.js.appendJSONText(bc.sbuf, bc.raw, pos)
			bc.cells = append(bc.cells, cell{s0: int32(start), s1: int32(len(bc.sbuf))})
			return ok
		}
		bc.st.b, bc.st.pos = bc.raw, pos
		s, ok := bc.st.str()
		if !ok {
			return false
		}
		bc.cells = append(bc.cells, bc.text(cursorval.SortKey(s)))
		return true
	}
	at, segs, cmark := len(bc.cells), len(bc.segs), len(bc.cbuf)
	if !bc.value(pos, -1, bc.s.cursor) {
		// not a value of the cursor's type: NULL, as cursorValue has it
		bc.cells, bc.segs = append(bc.cells[:at], cell{null: true}), bc.segs[:segs]
	}
	bc.cbuf = bc.cbuf[:cmark] // value encoded it for the content hash, which is done
	return true
}

// sameScalarType reports whether a and b are one scalar column type whose
// cell is its whole value (not text: a VARCHAR cursor is a sort key).
func sameScalarType(a, b *colType) bool {
	switch a.kind {
	case kBool, kBigint, kHugeint, kDouble, kTimestamp, kDate, kKeyDecimal:
		return a.kind == b.kind
	}
	return false
}

// member finds key in the object at pos: where its value starts, or -1
// when pos is not an object or has no such key. false: an escaped key.
func (bc *bytesConv) member(pos int, key string) (int, bool) {
	b, st := bc.raw, &bc.st
	if b[pos] != '{' {
		return -1, true
	}
	st.b, st.pos = b, pos+1
	st.ws()
	if b[st.pos] == '}' {
		return -1, true
	}
	for {
		st.ws()
		kstart := st.pos + 1
		k, ok := st.str()
		if !ok || len(k) != st.pos-1-kstart {
			return -1, false
		}
		match := k == key
		st.ws()
		st.pos++
		st.ws()
		if match {
			return st.pos, true
		}
		skipValue(st)
		st.ws()
		if b[st.pos] != ',' {
			return -1, true
		}
		st.pos++
	}
}

// drift counts the record's new fields in d, as check()'s drift
// observations would (one per drift path per record).
func (bc *bytesConv) drift(d driftSet) {
	if len(bc.extras) == 0 {
		return
	}
	bc.npaths = bc.npaths[:0]
	for _, e := range bc.extras {
		bc.npaths = append(bc.npaths, bc.span(e.n0, e.n1))
	}
	slices.Sort(bc.npaths)
	for i, p := range bc.npaths {
		if i > 0 && p == bc.npaths[i-1] {
			continue
		}
		if a := d[driftKey{p, DriftNewField}]; a != nil {
			a.count++
			continue
		}
		var ex []byte
		for _, e := range bc.extras { // the first value with this drift path
			if bc.span(e.n0, e.n1) == p {
				ex, _ = bc.js.appendJSONText(nil, bc.raw, e.val)
				break
			}
		}
		example := string(ex)
		if len(example) > maxExample {
			example = example[:maxExample] + "…"
		}
		d[driftKey{strings.Clone(p), DriftNewField}] = &driftAgg{count: 1, example: example}
	}
}

// emit replays the tape into the batch's columns, one per staging
// column, with the values colBuf.any would append: the root's fields
// through its table in fcell (fcell[:n+1]), then the columns after them.
func (bc *bytesConv) emit(bs []*colBuf, cols []field) {
	n := len(bc.s.root.fields)
	for i, c := range cols[:n] {
		bc.putField(bs[i], c.t, bc.fcell[i])
	}
	k := int(bc.fcell[n])
	for i, c := range cols[n:] {
		k = bc.put(bs[n+i], c.t, k)
	}
}

// putField appends a struct field whose cells start at k (-1: absent).
func (bc *bytesConv) putField(b *colBuf, t *colType, k int32) {
	if k < 0 {
		b.null()
		return
	}
	bc.put(b, t, int(k))
}

func (bc *bytesConv) put(b *colBuf, t *colType, k int) int {
	c := &bc.cells[k]
	k++
	if c.null {
		b.null()
		return k
	}
	switch t.kind {
	case kBool:
		b.bool(c.n == 1)
	case kBigint, kDouble, kTimestamp, kOther:
		b.word(uint64(c.n)) // a DOUBLE's cell holds its bits
	case kHugeint, kKeyDecimal:
		b.decimal(bc.decs[c.n])
	case kDate:
		b.date(int32(c.n))
	case kStruct:
		base := int(c.n) // the struct's table in fcell
		for i, f := range t.fields {
			bc.putField(b.kids[i], f.t, bc.fcell[base+i])
		}
		b.structValid()
		k = int(bc.fcell[base+len(t.fields)])
	case kList:
		for j := int64(0); j < c.n; j++ {
			k = bc.put(b.kids[0], t.elem, k)
		}
		b.listEnd()
	default:
		b.text(bc.textOf(c))
	}
	return k
}
