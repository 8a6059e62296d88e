package transform

import (
	"bytes"
	"encoding/binary"
	"slices"
	"strings"
	"unicode/utf8"
)

// Byte-level twins of jsonText and canonical (check.go), for records the
// fast validator accepted: they read the landed bytes (valid JSON, no
// duplicate keys) and produce exactly what the decoded-value versions
// produce, so that a record gets the same _rawland_hash and JSON columns
// whichever path it took. The differential tests in bytesjson_test.go
// holds them to that.

// rawMember is one member of an object: its key (unescaped) and where its
// value starts.
type rawMember struct {
	key string
	val int
}

// jsonScratch holds the buffers the byte encoders reuse.
type jsonScratch struct {
	st      fastState
	members []rawMember
	keyBuf  []byte
	// the outermost object's key order last time and its sorting
	// permutation: records of a stream mostly repeat their key order
	lastKeys []string
	lastPerm []int
	tmp      []rawMember
}

// members reads the object at pos (after whitespace) into sc.members[from:],
// keys sorted; keys are copied into keyBuf only when they had escapes.
// ok is false when a key cannot be read (then the caller falls back).
func (sc *jsonScratch) objectMembers(b []byte, pos int) (from int, ok bool) {
	st := &sc.st
	st.b, st.pos, st.abort = b, pos+1, false
	from = len(sc.members)
	st.ws()
	if b[st.pos] == '}' {
		return from, true
	}
	for {
		st.ws()
		start := st.pos + 1
		key, kok := st.str()
		if !kok {
			return from, false
		}
		if bytes.IndexByte(b[start:st.pos-1], '\\') >= 0 {
			return from, false // escaped keys: rare, left to the decoded path
		}
		st.ws()
		st.pos++ // ':'
		st.ws()
		sc.members = append(sc.members, rawMember{key: key, val: st.pos})
		skipValue(st)
		st.ws()
		if b[st.pos] == ',' {
			st.pos++
			continue
		}
		break
	}
	m := sc.members[from:]
	if from == 0 {
		sc.sortOutermost(m)
		return from, true
	}
	sortMembers(m)
	return from, true
}

// sortOutermost sorts the outermost object's members, reusing the last
// permutation when the keys came in the same order as last time.
func (sc *jsonScratch) sortOutermost(m []rawMember) {
	same := len(m) == len(sc.lastKeys)
	for i := 0; same && i < len(m); i++ {
		same = m[i].key == sc.lastKeys[i]
	}
	sc.tmp = append(sc.tmp[:0], m...)
	if same {
		for i, p := range sc.lastPerm {
			m[i] = sc.tmp[p]
		}
		return
	}
	sortMembers(m)
	// members start at increasing offsets: find each one's old place by it
	sc.lastKeys, sc.lastPerm = sc.lastKeys[:0], sc.lastPerm[:0]
	for _, e := range sc.tmp {
		sc.lastKeys = append(sc.lastKeys, strings.Clone(e.key))
	}
	for _, e := range m {
		p, _ := slices.BinarySearchFunc(sc.tmp, e.val, func(a rawMember, v int) int { return a.val - v })
		sc.lastPerm = append(sc.lastPerm, p)
	}
}

// skipValue moves past one value of JSON already known to be valid.
func skipValue(st *fastState) {
	st.ws()
	b := st.b
	switch b[st.pos] {
	case '"':
		st.pos = strEnd(b, st.pos+1) + 1
	case '{', '[':
		depth := 0
		for i := st.pos; ; i++ {
			switch b[i] {
			case '"':
				i = strEnd(b, i+1)
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					st.pos = i + 1
					return
				}
			}
		}
	default:
		for st.pos < len(b) {
			switch b[st.pos] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return
			}
			st.pos++
		}
	}
}

// strEnd is the position of the quote that closes the string whose text
// starts at i, in JSON known to be valid: the next quote that is not
// escaped.
func strEnd(b []byte, i int) int {
	for {
		i = quoteOrBackslashAt(b, i)
		switch {
		case i >= len(b):
			return len(b) - 1 // not reached on valid JSON
		case b[i] == '"':
			return i
		}
		i += 2 // a backslash and the byte it escapes
	}
}

// appendJSONText appends the value at pos as jsonText would encode its
// decoded form: compact, object keys sorted, strings re-escaped the way
// encoding/json does without HTML escaping, numbers as written. ok is
// false when it cannot (escaped object keys).
func (sc *jsonScratch) appendJSONText(dst, b []byte, pos int) ([]byte, bool) {
	st := &sc.st
	st.b, st.pos = b, pos
	st.ws()
	pos = st.pos
	switch c := b[pos]; {
	case c == '"':
		s, ok := st.str()
		if !ok {
			return dst, false
		}
		return appendJSONString(dst, s), true
	case c == '{':
		from, ok := sc.objectMembers(b, pos)
		end := st.pos
		if !ok {
			sc.members = sc.members[:from]
			return dst, false
		}
		dst = append(dst, '{')
		for i := from; i < len(sc.members); i++ {
			m := sc.members[i]
			if i > from {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, m.key)
			dst = append(dst, ':')
			if dst, ok = sc.appendJSONText(dst, b, m.val); !ok {
				sc.members = sc.members[:from]
				return dst, false
			}
		}
		sc.members = sc.members[:from]
		st.pos = end + 1
		return append(dst, '}'), true
	case c == '[':
		dst = append(dst, '[')
		st.pos = pos + 1
		st.ws()
		if b[st.pos] == ']' {
			st.pos++
			return append(dst, ']'), true
		}
		for first := true; ; first = false {
			if !first {
				dst = append(dst, ',')
			}
			var ok bool
			if dst, ok = sc.appendJSONText(dst, b, st.pos); !ok {
				return dst, false
			}
			st.ws()
			if b[st.pos] == ']' {
				st.pos++
				return append(dst, ']'), true
			}
			st.pos++ // ','
			st.ws()
		}
	}
	// a number or a literal, as written
	start := st.pos
	skipValue(st)
	return append(dst, b[start:st.pos]...), true
}

// appendJSONString is encoding/json's string encoding with HTML escaping
// off.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '\\', '"':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendCanonical appends the value at pos as canonical (check.go) encodes
// its decoded form: type tags, lengths, object keys sorted.
func (sc *jsonScratch) appendCanonical(dst, b []byte, pos int) ([]byte, bool) {
	st := &sc.st
	st.b, st.pos = b, pos
	st.ws()
	pos = st.pos
	str := appendCanonStr
	switch c := b[pos]; {
	case c == '"':
		s, ok := st.str()
		return str(dst, 's', s), ok
	case c == 'n':
		st.pos += 4
		return append(dst, 'z'), true
	case c == 't':
		st.pos += 4
		return append(dst, 't'), true
	case c == 'f':
		st.pos += 5
		return append(dst, 'f'), true
	case c == '{':
		from, ok := sc.objectMembers(b, pos)
		end := st.pos
		if !ok {
			sc.members = sc.members[:from]
			return dst, false
		}
		dst = append(dst, 'o')
		dst = binary.AppendUvarint(dst, uint64(len(sc.members)-from))
		for i := from; i < len(sc.members); i++ {
			m := sc.members[i]
			dst = str(dst, 'k', m.key)
			if dst, ok = sc.appendCanonical(dst, b, m.val); !ok {
				sc.members = sc.members[:from]
				return dst, false
			}
		}
		sc.members = sc.members[:from]
		st.pos = end + 1
		return dst, true
	case c == '[':
		// the items, then their count moved in before them
		dst = append(dst, 'a')
		mark, n := len(dst), 0
		st.pos = pos + 1
		st.ws()
		if b[st.pos] == ']' {
			st.pos++
		} else {
			for {
				var ok bool
				if dst, ok = sc.appendCanonical(dst, b, st.pos); !ok {
					return dst, false
				}
				n++
				st.ws()
				if b[st.pos] == ']' {
					st.pos++
					break
				}
				st.pos++ // ','
				st.ws()
			}
		}
		return insertUvarint(dst, mark, uint64(n)), true
	}
	start := st.pos
	skipValue(st)
	return str(dst, 'n', unsafeString(b[start:st.pos])), true
}
