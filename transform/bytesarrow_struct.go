package transform

import "encoding/binary"

// The converter's objects and arrays (bytesarrow.go): an object's members
// are converted in the order of their names, each after its key, so that
// the content hash's canonical encoding is written as the values are read.

// object converts the object at pos as the struct t: one cell (not for
// the root), then its fields in name order. Members t does not describe
// become extras. It appends the object's canonical encoding to cbuf.
func (bc *bytesConv) object(pos int, t *colType, root bool) bool {
	b, st := bc.raw, &bc.st
	mark, xmark := len(bc.fpos), len(bc.xmem)
	for range t.fields {
		bc.fpos = append(bc.fpos, -1)
		bc.fend = append(bc.fend, -1)
	}
	guess := 0
	var members []memberSpan
	recorded := false
	if bc.rec != nil {
		members, recorded = bc.rec.membersAt(pos)
	}
	if recorded {
		for _, m := range members {
			if !m.plainKey {
				return false // an escaped key: left to the decoded path
			}
			guess = bc.takeMember(t, root, mark, guess, unsafeString(b[m.key0:m.key1]), int(m.val0), int(m.val1))
		}
	} else {
		st.b, st.pos = b, pos+1
		st.ws()
		for b[st.pos] != '}' {
			st.ws()
			kstart := st.pos + 1
			key, ok := st.str()
			if !ok || len(key) != st.pos-1-kstart {
				return false // an escaped key: left to the decoded path
			}
			st.ws()
			st.pos++ // ':'
			st.ws()
			vpos := st.pos
			skipValue(st)
			guess = bc.takeMember(t, root, mark, guess, key, vpos, st.pos)
			st.ws()
			if b[st.pos] != ',' {
				break
			}
			st.pos++
		}
	}
	count := len(bc.xmem) - xmark
	for i := range t.fields {
		switch {
		case bc.fpos[mark+i] >= 0:
			count++
		case root && bc.isPK[i]:
			return false // check() names the missing key
		}
	}
	base := len(bc.fcell)
	for range len(t.fields) + 1 {
		bc.fcell = append(bc.fcell, -1)
	}
	if !root {
		bc.cells = append(bc.cells, cell{n: int64(base)})
	}
	bc.cbuf = append(bc.cbuf, 'o')
	bc.cbuf = binary.AppendUvarint(bc.cbuf, uint64(count))
	// the fields in name order, the extra members (rare) merged in
	x := bc.xmem[xmark:]
	if len(x) > 1 {
		sortMembers(x)
	}
	xi := 0
	for _, i := range t.byName {
		p := bc.fpos[mark+i]
		if p < 0 {
			continue
		}
		f := t.fields[i]
		for ; xi < len(x) && x[xi].key < f.name; xi++ {
			if !bc.canonExtra(x[xi]) {
				return false
			}
		}
		bc.cbuf = append(bc.cbuf, t.ckeys[i]...)
		at := len(bc.cells)
		bc.fcell[base+i] = int32(at)
		bc.segs = append(bc.segs, pathSeg{name: f.name, idx: -1})
		ok := bc.value(p, bc.fend[mark+i], f.t)
		bc.segs = bc.segs[:len(bc.segs)-1]
		if !ok || root && bc.isPK[i] && bc.cells[at].null {
			return false
		}
	}
	for ; xi < len(x); xi++ {
		if !bc.canonExtra(x[xi]) {
			return false
		}
	}
	bc.fcell[base+len(t.fields)] = int32(len(bc.cells))
	bc.fpos, bc.fend, bc.xmem = bc.fpos[:mark], bc.fend[:mark], bc.xmem[:xmark]
	return true
}

// canonExtra appends the canonical encoding of a member the schema does
// not describe, key and value, read from the record.
func (bc *bytesConv) canonExtra(m rawMember) bool {
	bc.cbuf = appendCanonStr(bc.cbuf, 'k', m.key)
	var ok bool
	bc.cbuf, ok = bc.js.appendCanonical(bc.cbuf, bc.raw, m.val)
	return ok
}

// takeMember takes one member of an object being converted as t (fields
// at fpos[mark:]): its key and where its value starts and ends. guess is
// the field expected next; takeMember returns the next guess.
func (bc *bytesConv) takeMember(t *colType, root bool, mark, guess int, key string, vpos, vend int) int {
	// members usually come in the schema's order: try the next field first
	i, known := guess, guess < len(t.fields) && t.fields[guess].name == key
	if !known {
		i, known = t.index[key]
	}
	if known {
		bc.fpos[mark+i], bc.fend[mark+i] = vpos, vend
		if root && i == bc.curField {
			bc.curPos = vpos
		}
		return i + 1
	}
	bc.addExtra(key, vpos)
	bc.xmem = append(bc.xmem, rawMember{key: key, val: vpos})
	if root && bc.curField < 0 && bc.s.cursorPath != nil && key == bc.s.cursorPath[0] {
		bc.curPos = vpos
	}
	return guess
}

// list converts the array at pos as the list t: its length, then its
// items.
func (bc *bytesConv) list(pos int, t *colType) bool {
	at := len(bc.cells)
	bc.cells = append(bc.cells, cell{})
	bc.cbuf = append(bc.cbuf, 'a')
	cmark := len(bc.cbuf)
	if bc.rec != nil {
		if items, ok := bc.rec.membersAt(pos); ok {
			for n, m := range items {
				bc.segs = append(bc.segs, pathSeg{idx: n})
				ok := bc.value(int(m.val0), int(m.val1), t.elem)
				bc.segs = bc.segs[:len(bc.segs)-1]
				if !ok {
					return false
				}
			}
			bc.cells[at].n = int64(len(items))
			bc.cbuf = insertUvarint(bc.cbuf, cmark, uint64(len(items)))
			return true
		}
	}
	st := &bc.st
	st.b, st.pos = bc.raw, pos+1
	st.ws()
	if bc.raw[st.pos] == ']' {
		bc.cbuf = insertUvarint(bc.cbuf, cmark, 0)
		return true
	}
	n := 0
	for {
		st.ws()
		p := st.pos
		bc.segs = append(bc.segs, pathSeg{idx: n})
		ok := bc.value(p, -1, t.elem)
		bc.segs = bc.segs[:len(bc.segs)-1]
		if !ok {
			return false
		}
		n++
		// value moved st only for some types: skip the item from its start
		st.b, st.pos = bc.raw, p
		skipValue(st)
		st.ws()
		if bc.raw[st.pos] != ',' {
			break
		}
		st.pos++
	}
	bc.cells[at].n = int64(n)
	bc.cbuf = insertUvarint(bc.cbuf, cmark, uint64(n))
	return true
}
