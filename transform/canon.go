package transform

import (
	"encoding/binary"
	"slices"
	"strings"
)

// Pieces of the content hash's canonical encoding (canonical in check.go:
// type tags, lengths, object keys sorted), shared by the converter, which
// builds it while it converts the record (bytesarrow.go), and
// appendCanonical, which builds it from the bytes alone (bytesjson.go).

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

func sortMembers(m []rawMember) {
	slices.SortFunc(m, func(a, b rawMember) int { return strings.Compare(a.key, b.key) })
}
