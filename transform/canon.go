package transform

import (
	"encoding/binary"
	"slices"
	"strings"
)

// The content hash's canonical encoding (canonical in check.go: type tags,
// lengths, object keys sorted), built by the bytes → Arrow converter while
// it converts the record (bytesarrow.go), from the encodings of the values
// it has read.

// canonSpan is where one value's canonical encoding is in bytesConv.cbuf.
type canonSpan struct{ s, e int32 }

// appendCanonStr appends a string-like value as canonical does: its tag,
// its length, its bytes.
func appendCanonStr(dst []byte, tag byte, s string) []byte {
	dst = append(dst, tag)
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// insertUvarint inserts n as a uvarint at dst[at:] (an array's item count,
// known only after its items were encoded).
func insertUvarint(dst []byte, at int, n uint64) []byte {
	var vb [binary.MaxVarintLen64]byte
	k := binary.PutUvarint(vb[:], n)
	dst = append(dst, vb[:k]...)
	copy(dst[at+k:], dst[at:len(dst)-k])
	copy(dst[at:], vb[:k])
	return dst
}

// canonObject appends the canonical encoding of the object whose fields
// (of t) were converted at fpos[mark:] / fcan[mark:] and whose other
// members are xmem[xmark:]: its members in the order of their names. The
// fields' names are in t.byName's order already; the other members
// (rare) are sorted here and merged in, each encoded from the record.
// false: an extra member cannot be encoded (appendCanonical refuses it).
func (bc *bytesConv) canonObject(dst []byte, t *colType, mark, xmark int) ([]byte, bool) {
	x := bc.xmem[xmark:]
	if len(x) > 1 {
		sortMembers(x)
	}
	count := len(x)
	for _, p := range bc.fpos[mark : mark+len(t.fields)] {
		if p >= 0 {
			count++
		}
	}
	dst = append(dst, 'o')
	dst = binary.AppendUvarint(dst, uint64(count))
	xi := 0
	var ok bool
	for _, i := range t.byName {
		if bc.fpos[mark+i] < 0 {
			continue
		}
		name := t.fields[i].name
		for ; xi < len(x) && x[xi].key < name; xi++ {
			dst = appendCanonStr(dst, 'k', x[xi].key)
			if dst, ok = bc.js.appendCanonical(dst, bc.raw, x[xi].val); !ok {
				return dst, false
			}
		}
		dst = appendCanonStr(dst, 'k', name)
		sp := bc.fcan[mark+i]
		dst = append(dst, bc.cbuf[sp.s:sp.e]...)
	}
	for ; xi < len(x); xi++ {
		dst = appendCanonStr(dst, 'k', x[xi].key)
		if dst, ok = bc.js.appendCanonical(dst, bc.raw, x[xi].val); !ok {
			return dst, false
		}
	}
	return dst, true
}

func sortMembers(m []rawMember) {
	slices.SortFunc(m, func(a, b rawMember) int { return strings.Compare(a.key, b.key) })
}
