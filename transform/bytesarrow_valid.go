package transform

import (
	"encoding/binary"
	"math"
	"unicode/utf8"
)

// The one-pass path: validate and convert a record in one walk of its
// bytes (vrow), for the records that are valid, which are nearly all.
//
// The two-pass path reads every record twice: the fast validator walks it
// (recording its objects' members), then the converter reads every value
// again to type it, in the order of the members' names, which the
// content hash's canonical encoding needs. That second reading of every
// string, number and timestamp was about a third of the transform's CPU.
// vrow reads each member once, in the record's order: it checks the value
// against the member's schema with the validator's own checks (the same
// functions: fastState.stringOK, number, val) and converts it onto the
// tape right away, writing its canonical encoding to a segment of cbuf;
// when the object ends, the segments are put in name order (one copy of
// the object's encoding). The tape does not care about the order: each
// struct's table in fcell says where each field's cells start.
//
// vrow only ever accepts: any doubt (a record the validator would reject
// or be unsure of, a value the converter would refuse, a duplicate or
// escaped key, an applicator it does not walk itself) makes it return
// false, and the record takes the two-pass path (fastVerdict, then row or
// check()), which decides and explains. A value whose schema uses what
// vrow does not walk itself (allOf, anyOf, oneOf, not, if, pattern
// properties, dependencies, property names, tuples, contains,
// uniqueItems) is checked by the validator's val on its bytes and
// converted by value, as row converts it. TestOnePassDifferential holds
// vrow to the two-pass path on every record it accepts: same verdict,
// same tape (emitted into Arrow), same drift; FuzzBytesArrow does the same on
// fuzzed records.

// vrow validates raw against the schema and converts it onto the tape,
// in one walk; false: the record must take the two-pass path. st is the
// worker's validator state.
func (bc *bytesConv) vrow(raw []byte, seq int64, st *fastState) bool {
	if bc.s.fast == nil || len(raw) >= math.MaxInt32 || !utf8.Valid(raw) {
		return false
	}
	rec := st.rec
	st.rec = false // nothing walked here is recorded
	defer func() { st.rec = rec }()
	st.b, st.pos, st.depth, st.abort = raw, 0, 0, false
	st.seen, st.keys, st.spans = st.seen[:0], st.keys[:0], st.spans[:0]
	bc.raw, bc.rec = raw, nil
	bc.cells, bc.sbuf, bc.fpos, bc.fend, bc.segs = bc.cells[:0], bc.sbuf[:0], bc.fpos[:0], bc.fend[:0], bc.segs[:0]
	bc.extras, bc.pbuf, bc.decs, bc.curPos = bc.extras[:0], bc.pbuf[:0], bc.decs[:0], -1
	bc.cbuf, bc.xmem, bc.hbuf, bc.fcell = bc.cbuf[:0], bc.xmem[:0], bc.hbuf[:0], bc.fcell[:0]
	bc.vspan = bc.vspan[:0]
	st.ws()
	if st.pos >= len(raw) || raw[st.pos] != '{' {
		return false
	}
	n, ok := st.deref(bc.s.fast.root)
	if !ok || !objectWalkable(n) {
		return false
	}
	saved := bc.cbuf
	bc.cbuf = bc.hbuf
	ok = bc.vobject(bc.s.root, n, true, st)
	bc.hbuf, bc.cbuf = bc.cbuf, saved
	if !ok || st.abort {
		return false
	}
	st.ws()
	if st.pos != len(raw) {
		return false
	}
	if !bc.extraCell() || !bc.cursorCell() {
		return false
	}
	bc.cells = append(bc.cells, cell{n: int64(bc.s.sum(bc.hbuf))}, cell{n: seq})
	return len(bc.sbuf) < math.MaxInt32
}

// deref follows n's $refs as val does; nil (or true) is fnodeAny. false:
// a false schema, or a chain of refs too long.
func (st *fastState) deref(n *fnode) (*fnode, bool) {
	for hops := 0; n != nil && n.ref != nil; hops++ {
		if hops > maxDepth {
			return nil, false
		}
		n = n.ref
	}
	switch {
	case n == nil || n.always:
		return fnodeAny, true
	case n.never:
		return nil, false
	}
	return n, true
}

// applies says whether n has applicators (allOf, anyOf, oneOf, not, if).
func (n *fnode) applies() bool {
	return n.allOf != nil || n.anyOf != nil || n.oneOf != nil || n.not != nil || n.ifS != nil
}

// objectWalkable says whether vobject checks an object against n itself.
func objectWalkable(n *fnode) bool {
	return !n.applies() && len(n.patProps) == 0 && len(n.deps) == 0 && n.propNames == nil &&
		!n.hasEnum && (n.types == 0 || n.types&jtObject != 0)
}

// listWalkable says whether vlist checks an array against n itself.
func listWalkable(n *fnode) bool {
	return !n.applies() && n.tuple == nil && n.contains == nil && !n.unique && !n.hasEnum &&
		(n.types == 0 || n.types&jtArray != 0)
}

// vvalue validates the value at st.pos against n and converts it as t;
// st.pos moves past it.
func (bc *bytesConv) vvalue(t *colType, n *fnode, st *fastState) bool {
	st.ws()
	if st.abort || st.pos >= len(st.b) {
		return false
	}
	start := st.pos
	if d, ok := st.deref(n); ok && !d.applies() {
		switch c := st.b[start]; {
		case c == '{' && t.kind == kStruct && objectWalkable(d):
			return bc.vobject(t, d, false, st)
		case c == '[' && t.kind == kList && listWalkable(d):
			return bc.vlist(t, d, st)
		case c == '"' && (t.kind == kVarchar || t.kind == kTimestamp):
			return bc.vstring(t, d, st)
		case (c == '-' || c >= '0' && c <= '9') && t.kind == kBigint && d.multipleOf == nil && !d.hasEnum:
			if bc.vint(d, st) {
				return true
			}
		}
	}
	// anything else: the validator checks it, the converter converts it
	if !st.val(n) || st.abort {
		return false
	}
	return bc.value(start, st.pos, t)
}

// vstring checks and converts a string as VARCHAR or TIMESTAMP, read once.
func (bc *bytesConv) vstring(t *colType, n *fnode, st *fastState) bool {
	start := st.pos
	s, ok := st.str()
	if !ok {
		return false
	}
	if t.kind == kTimestamp {
		us, err := parseTimestamp(s)
		if err != nil || !st.stringOK(n, s, true) {
			return false
		}
		bc.cbuf = appendCanonStr(bc.cbuf, 's', s)
		bc.cells = append(bc.cells, cell{n: us})
		return true
	}
	if !st.stringOK(n, s, false) {
		return false
	}
	bc.cbuf = appendCanonStr(bc.cbuf, 's', s)
	if len(s) == st.pos-start-2 { // no escapes: the record's own bytes
		bc.cells = append(bc.cells, cell{inRaw: true, s0: int32(start + 1), s1: int32(st.pos - 1)})
	} else {
		bc.cells = append(bc.cells, bc.text(s))
	}
	return true
}

// vint takes a plain integer (no fraction or exponent, at most 15 digits)
// that n accepts as BIGINT, read once: the validator (number) would scan
// its syntax, decide it is an integer and parse it as a float for its
// bounds, and the converter parse it again. false: not such a number, or
// not plainly valid; nothing was read, and the general path decides.
func (bc *bytesConv) vint(n *fnode, st *fastState) bool {
	b, start := st.b, st.pos
	i := start
	if b[i] == '-' {
		i++
	}
	j := i
	var v int64
	for j < len(b) && b[j] >= '0' && b[j] <= '9' && j-i <= 15 {
		v = v*10 + int64(b[j]-'0')
		j++
	}
	digits := j - i
	if digits == 0 || digits > 15 || b[i] == '0' && digits > 1 ||
		j < len(b) && (b[j] == '.' || b[j] == 'e' || b[j] == 'E') {
		return false
	}
	if b[start] == '-' {
		v = -v
	}
	if n.types != 0 && n.types&(jtInteger|jtNumber) == 0 {
		return false
	}
	// v is exactly a float64 (15 digits): a bound decides as number()'s
	// comparison does, and a tie with an inexact bound is left to it
	f := float64(v)
	for _, bd := range [...]struct {
		b        *fbound
		min, dir bool // a minimum; exclusive
	}{{n.min, true, false}, {n.max, false, false}, {n.exMin, true, true}, {n.exMax, false, true}} {
		if bd.b == nil {
			continue
		}
		if f == bd.b.f && (!bd.b.exact || bd.dir) || bd.min && f < bd.b.f || !bd.min && f > bd.b.f {
			return false
		}
	}
	st.pos = j
	bc.cbuf = appendCanonStr(bc.cbuf, 'n', unsafeString(b[start:j]))
	bc.cells = append(bc.cells, cell{n: v})
	return true
}

// valSpan is where a converted field's canonical encoding is in cbuf.
type valSpan struct{ c0, c1 int32 }

// vobject checks the object at st.pos against n (objectWalkable) and
// converts it as the struct t: one cell (not for the root), its members'
// cells in the record's order, then its canonical encoding in name order.
func (bc *bytesConv) vobject(t *colType, n *fnode, root bool, st *fastState) bool {
	if !st.enter() {
		return false
	}
	st.pos++ // '{'
	base := len(bc.fcell)
	for range len(t.fields) + 1 {
		bc.fcell = append(bc.fcell, -1)
	}
	if !root {
		bc.cells = append(bc.cells, cell{n: int64(base)})
	}
	cmark, xmark, smark := len(bc.cbuf), len(bc.xmem), len(bc.vspan)
	for range t.fields {
		bc.vspan = append(bc.vspan, valSpan{-1, -1})
	}
	seen, kmark := len(st.seen), len(st.keys)
	for range n.names {
		st.seen = append(st.seen, false)
	}
	count, vguess, fguess := 0, 0, 0
	st.ws()
	if st.pos < len(st.b) && st.b[st.pos] == '}' {
		st.pos++
	} else {
		for {
			st.ws()
			if st.pos >= len(st.b) || st.b[st.pos] != '"' {
				return st.fail()
			}
			keyStart := st.pos
			key, ok := st.str()
			if !ok || len(key) != st.pos-keyStart-2 {
				return false // an escaped key: left to the two-pass path
			}
			count++
			vi, named, fresh := st.takeKey(n, key, seen, kmark, &vguess)
			if !fresh {
				return false // a duplicate (or a hash collision)
			}
			var vn *fnode = n.addl
			if named && vi < len(n.props) {
				vn = n.props[vi]
			}
			if !st.colon() {
				return st.fail()
			}
			vstart := st.pos
			fi, known := fguess, fguess < len(t.fields) && t.fields[fguess].name == key
			if !known {
				fi, known = t.index[key]
			}
			if known {
				fguess = fi + 1
				bc.fcell[base+fi] = int32(len(bc.cells))
				if root && fi == bc.curField {
					bc.curPos = vstart
				}
				c0 := len(bc.cbuf)
				bc.segs = append(bc.segs, pathSeg{name: t.fields[fi].name, idx: -1})
				ok := bc.vvalue(t.fields[fi].t, vn, st)
				bc.segs = bc.segs[:len(bc.segs)-1]
				if !ok || st.abort || root && bc.isPK[fi] && bc.cells[bc.fcell[base+fi]].null {
					return false
				}
				bc.vspan[smark+fi] = valSpan{int32(c0), int32(len(bc.cbuf))}
			} else {
				if !st.val(vn) || st.abort {
					return false
				}
				bc.addExtra(key, vstart)
				bc.xmem = append(bc.xmem, rawMember{key: key, val: vstart})
				if root && bc.curField < 0 && bc.s.cursorPath != nil && key == bc.s.cursorPath[0] {
					bc.curPos = vstart
				}
			}
			more, bad := st.next('}')
			if bad {
				return st.fail()
			}
			if !more {
				break
			}
		}
	}
	for _, r := range n.required {
		if !st.seen[seen+r] {
			return false
		}
	}
	if count < n.minProps || n.maxProps >= 0 && count > n.maxProps {
		return false
	}
	st.seen, st.keys = st.seen[:seen], st.keys[:kmark]
	st.depth--
	present := len(bc.xmem) - xmark
	for i := range t.fields {
		switch {
		case bc.vspan[smark+i].c0 >= 0:
			present++
		case root && bc.isPK[i]:
			return false // check() names the missing key
		}
	}
	bc.fcell[base+len(t.fields)] = int32(len(bc.cells))
	// the canonical encoding: the fields in name order, the extra members
	// (rare) merged in, each value's encoding from its segment
	out := append(bc.tbuf[:0], 'o')
	out = binary.AppendUvarint(out, uint64(present))
	x := bc.xmem[xmark:]
	if len(x) > 1 {
		sortMembers(x)
	}
	xi := 0
	for _, i := range t.byName {
		sp := bc.vspan[smark+i]
		if sp.c0 < 0 {
			continue
		}
		name := t.fields[i].name
		for ; xi < len(x) && x[xi].key < name; xi++ {
			var ok bool
			if out, ok = bc.canonMember(out, x[xi]); !ok {
				return false
			}
		}
		out = append(out, t.ckeys[i]...)
		out = append(out, bc.cbuf[sp.c0:sp.c1]...)
	}
	for ; xi < len(x); xi++ {
		var ok bool
		if out, ok = bc.canonMember(out, x[xi]); !ok {
			return false
		}
	}
	if cmark == 0 { // nothing before it (the root, a first member): swap, no copy
		bc.cbuf, bc.tbuf = out, bc.cbuf[:0]
	} else {
		bc.cbuf = append(bc.cbuf[:cmark], out...)
		bc.tbuf = out[:0]
	}
	bc.vspan, bc.xmem = bc.vspan[:smark], bc.xmem[:xmark]
	return true
}

// canonMember appends to out the canonical encoding of a member the
// schema does not describe, key and value, read from the record.
func (bc *bytesConv) canonMember(out []byte, m rawMember) ([]byte, bool) {
	out = appendCanonStr(out, 'k', m.key)
	return bc.js.appendCanonical(out, bc.raw, m.val)
}

// vlist checks the array at st.pos against n (listWalkable) and converts
// it as the list t: its length, then its items.
func (bc *bytesConv) vlist(t *colType, n *fnode, st *fastState) bool {
	if !st.enter() {
		return false
	}
	at := len(bc.cells)
	bc.cells = append(bc.cells, cell{})
	bc.cbuf = append(bc.cbuf, 'a')
	cmark := len(bc.cbuf)
	st.pos++ // '['
	count := 0
	st.ws()
	if st.pos < len(st.b) && st.b[st.pos] == ']' {
		st.pos++
	} else {
		for {
			bc.segs = append(bc.segs, pathSeg{idx: count})
			ok := bc.vvalue(t.elem, n.items, st)
			bc.segs = bc.segs[:len(bc.segs)-1]
			if !ok || st.abort {
				return false
			}
			count++
			more, bad := st.next(']')
			if bad {
				return st.fail()
			}
			if !more {
				break
			}
		}
	}
	if count < n.minItems || n.maxItems >= 0 && count > n.maxItems {
		return false
	}
	st.depth--
	bc.cells[at].n = int64(count)
	bc.cbuf = insertUvarint(bc.cbuf, cmark, uint64(count))
	return true
}
