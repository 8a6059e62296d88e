package transform

import (
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"github.com/xeipuuv/gojsonschema"
)

// fastVerdict is the fast validator's decision on one record.
type fastVerdict int8

const (
	fastUnsure  fastVerdict = iota // not decided here (bad JSON, duplicate keys, too deep, an edge): ask gojsonschema
	fastValid                      // gojsonschema would accept it
	fastInvalid                    // gojsonschema would reject it
)

// fastState is one worker's scratch space; reused across records, so that
// a record costs no allocation once the buffers have grown.
type fastState struct {
	b     []byte
	pos   int
	depth int
	abort bool     // unsure: stop and let gojsonschema decide
	sbuf  []byte   // unescaped string
	seen  []bool   // per open object: which names were present
	keys  []uint64 // per open object: hashes of the keys it does not name (duplicates; named ones are in seen)
	spans []int    // per open array with uniqueItems: item offsets
	// rec asks for the record's objects and their members (fastval_rec.go)
	rec bool
	recording
}

// validate decides raw (one landed record) against the schema. A record
// that is not valid UTF-8, not JSON, nested deeper than maxNesting or has
// a duplicate key is fastUnsure: decodeChecked explains those.
func (fv *fastValidator) validate(raw []byte, st *fastState) fastVerdict {
	if !utf8.Valid(raw) {
		return fastUnsure
	}
	st.b, st.pos, st.depth, st.abort = raw, 0, 0, false
	st.seen, st.keys, st.spans = st.seen[:0], st.keys[:0], st.spans[:0]
	st.recording.reset()
	ok := st.val(fv.root)
	st.ws()
	if st.abort || st.pos != len(raw) {
		return fastUnsure
	}
	if ok {
		return fastValid
	}
	return fastInvalid
}

func (st *fastState) ws() {
	b, i := st.b, st.pos
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
			continue
		}
		break
	}
	st.pos = i
}

// fail marks the record undecidable here and returns false.
func (st *fastState) fail() bool {
	st.abort = true
	st.pos = len(st.b)
	return false
}

// val validates the value at pos against n (nil: anything) and moves past
// it, also when it is invalid.
func (st *fastState) val(n *fnode) bool {
	for hops := 0; n != nil && n.ref != nil; hops++ {
		if hops > maxDepth {
			return st.fail()
		}
		n = n.ref
	}
	st.ws()
	if st.abort || st.pos >= len(st.b) {
		return st.fail()
	}
	switch {
	case n == nil || n.always:
		n = fnodeAny
	case n.never:
		st.val(fnodeAny)
		return false
	}
	ok := true
	if n.allOf != nil || n.anyOf != nil || n.oneOf != nil || n.not != nil || n.ifS != nil {
		start := st.pos
		ok = st.applicators(n, start)
		st.pos = start
		if st.abort {
			return false
		}
	}
	switch c := st.b[st.pos]; {
	case c == '{':
		return st.object(n) && ok
	case c == '[':
		return st.array(n) && ok
	case c == '"':
		return st.stringVal(n) && ok
	case c == 't' || c == 'f':
		b := c == 't'
		if !st.literal() {
			return false
		}
		if n.types != 0 && n.types&jtBool == 0 {
			return false
		}
		return ok && (!n.hasEnum || st.enumHas(n, fconst{kind: 'b', b: b}))
	case c == 'n':
		if !st.literal() {
			return false
		}
		if n.types != 0 && n.types&jtNull == 0 {
			return false
		}
		return ok && (!n.hasEnum || st.enumHas(n, fconst{kind: 'z'}))
	case c == '-' || c >= '0' && c <= '9':
		return st.number(n) && ok
	}
	return st.fail()
}

// applicators checks allOf, anyOf, oneOf, not and if/then/else, each
// against the value at start.
func (st *fastState) applicators(n *fnode, start int) bool {
	try := func(s *fnode) bool {
		st.pos = start
		return st.val(s)
	}
	ok := true
	for _, s := range n.allOf {
		ok = try(s) && ok
	}
	if n.anyOf != nil {
		any := false
		for _, s := range n.anyOf {
			if try(s) {
				any = true
				break
			}
		}
		ok = ok && any
	}
	if n.oneOf != nil {
		k := 0
		for _, s := range n.oneOf {
			if try(s) {
				k++
			}
		}
		ok = ok && k == 1
	}
	if n.not != nil && try(n.not) {
		ok = false
	}
	if n.ifS != nil {
		if try(n.ifS) {
			if n.thenS != nil && !try(n.thenS) {
				ok = false
			}
		} else if n.elsS != nil && !try(n.elsS) {
			ok = false
		}
	}
	return ok && !st.abort
}

func (st *fastState) literal() bool {
	lit := "null"
	switch st.b[st.pos] {
	case 't':
		lit = "true"
	case 'f':
		lit = "false"
	}
	if len(st.b)-st.pos >= len(lit) && string(st.b[st.pos:st.pos+len(lit)]) == lit {
		st.pos += len(lit)
		return true
	}
	return st.fail()
}

// fnodeAny accepts any value: validating against it checks the syntax
// (and duplicate keys) only.
var fnodeAny = &fnode{maxProps: -1, maxItems: -1, minLen: -1, maxLen: -1}

// skip moves past one value, checking its syntax (and duplicate keys).
func (st *fastState) skip() { st.val(fnodeAny) }

func (st *fastState) enter() bool {
	st.depth++
	if st.depth > maxNesting {
		return st.fail()
	}
	return true
}

func (st *fastState) object(n *fnode) bool {
	typeOK := n.types == 0 || n.types&jtObject != 0
	if !st.enter() {
		return false
	}
	objStart := st.pos
	st.pos++
	mark, kmark := len(st.seen), len(st.keys)
	rec := st.rec && st.recording.begin(objStart)
	slot, mmark := len(st.objs)-1, len(st.mstack)
	for range n.names {
		st.seen = append(st.seen, false)
	}
	ok, count, guess := typeOK, 0, 0
	st.ws()
	if st.pos < len(st.b) && st.b[st.pos] == '}' {
		st.pos++
	} else {
		for !st.abort {
			st.ws()
			if st.pos >= len(st.b) || st.b[st.pos] != '"' {
				return st.fail()
			}
			keyStart := st.pos
			key, kok := st.str()
			if !kok {
				return false
			}
			keyEnd := st.pos - 1
			plainKey := len(key) == keyEnd-keyStart-1 // escapes always take more bytes than what they decode to
			count++
			idx, named, fresh := st.takeKey(n, key, mark, kmark, &guess)
			if !fresh {
				return st.fail() // a duplicate (or a hash collision): decodeChecked decides
			}
			prop := named && idx < len(n.props)
			var pats uint64
			for i, pp := range n.patProps {
				if i < 64 && pp.re.MatchString(key) {
					pats |= 1 << i
				} else if i >= 64 {
					return st.fail()
				}
			}
			if n.propNames != nil {
				end := st.pos
				st.pos = keyStart
				if !st.val(n.propNames) {
					ok = false
				}
				st.pos = end
			}
			if !st.colon() {
				return st.fail()
			}
			vstart := st.pos
			if typeOK {
				switch {
				case prop || pats != 0:
					if prop {
						ok = st.val(n.props[idx]) && ok
					}
					for i, pp := range n.patProps {
						if pats&(1<<i) != 0 {
							st.pos = vstart
							ok = st.val(pp.node) && ok
						}
					}
				default:
					ok = st.val(n.addl) && ok
				}
			} else {
				st.skip()
			}
			if rec {
				st.mstack = append(st.mstack, memberSpan{key0: int32(keyStart + 1), key1: int32(keyEnd),
					val0: int32(vstart), val1: int32(st.pos), plainKey: plainKey})
			}
			more, bad := st.next('}')
			if bad {
				return st.fail()
			}
			if more {
				continue
			}
			break
		}
	}
	end := st.pos
	if rec {
		st.recording.end(slot, mmark)
	}
	if typeOK {
		for _, r := range n.required {
			ok = ok && st.seen[mark+r]
		}
		ok = ok && count >= n.minProps && (n.maxProps < 0 || count <= n.maxProps)
		for _, d := range n.deps {
			if !st.seen[mark+d.name] {
				continue
			}
			for _, r := range d.names {
				ok = ok && st.seen[mark+r]
			}
			if d.node != nil {
				st.pos = objStart
				st.depth--
				ok = st.val(d.node) && ok
				st.depth++
				st.pos = end
			}
		}
		if n.hasEnum {
			ok = false // enum members are scalars (compileFast)
		}
	}
	st.seen, st.keys = st.seen[:mark], st.keys[:kmark]
	st.depth--
	return ok && !st.abort
}

// colon moves past the ':' after an object's key and the whitespace around
// it; false: there is none.
func (st *fastState) colon() bool {
	st.ws()
	if st.pos >= len(st.b) || st.b[st.pos] != ':' {
		return false
	}
	st.pos++
	st.ws()
	return true
}

// takeKey matches an object's key to n's names and marks it seen in the
// object, whose flags start at seen[mark] and the hashes of whose keys n
// does not name at keys[kmark]: the name's position and whether n names
// it; fresh is false for a key the object had already (or, among the
// names n does not know, which are compared by hash, a collision).
// Members usually come in the schema's order: guess, the name expected
// next, is tried first and moved on.
func (st *fastState) takeKey(n *fnode, key string, mark, kmark int, guess *int) (idx int, named, fresh bool) {
	idx, named = *guess, *guess < len(n.names) && n.names[*guess] == key
	if !named {
		idx, named = n.nameIdx[key]
	}
	if named {
		if st.seen[mark+idx] {
			return idx, true, false
		}
		*guess = idx + 1
		st.seen[mark+idx] = true
		return idx, true, true
	}
	h := keyHash(key)
	for _, k := range st.keys[kmark:] {
		if k == h {
			return idx, false, false
		}
	}
	st.keys = append(st.keys, h)
	return idx, false, true
}

func (st *fastState) array(n *fnode) bool {
	typeOK := n.types == 0 || n.types&jtArray != 0
	if !st.enter() {
		return false
	}
	rec := st.rec && st.recording.begin(st.pos)
	slot, mmark := len(st.objs)-1, len(st.mstack)
	st.pos++
	smark := len(st.spans)
	ok, count, found := typeOK, 0, false
	st.ws()
	if st.pos < len(st.b) && st.b[st.pos] == ']' {
		st.pos++
	} else {
		for !st.abort {
			st.ws()
			start := st.pos
			if !typeOK {
				st.skip()
			} else {
				var item *fnode
				switch {
				case n.items != nil:
					item = n.items
				case count < len(n.tuple):
					item = n.tuple[count]
				case len(n.tuple) > 0:
					item = n.addItems
				}
				if n.contains != nil && !found {
					found = st.val(n.contains)
					st.pos = start
				}
				ok = st.val(item) && ok
				if n.unique {
					st.spans = append(st.spans, start)
				}
			}
			if rec {
				st.mstack = append(st.mstack, memberSpan{val0: int32(start), val1: int32(st.pos)})
			}
			count++
			more, bad := st.next(']')
			if bad {
				return st.fail()
			}
			if more {
				continue
			}
			break
		}
	}
	if rec {
		st.recording.end(slot, mmark)
	}
	if typeOK {
		ok = ok && count >= n.minItems && (n.maxItems < 0 || count <= n.maxItems)
		if n.contains != nil && !found {
			ok = false
		}
		if n.unique && ok {
			ok = st.uniqueItems(smark)
		}
		if n.hasEnum {
			ok = false
		}
	}
	st.spans = st.spans[:smark]
	st.depth--
	return ok && !st.abort
}

// uniqueItems compares the scalar items whose offsets are in spans[mark:]
// as gojsonschema does; an object or array item makes the record unsure.
func (st *fastState) uniqueItems(mark int) bool {
	items := st.spans[mark:]
	if len(items) > 256 {
		return st.fail()
	}
	for i := range items {
		a, ok := st.constAt(items[i])
		if !ok {
			return st.fail()
		}
		a.s = strings.Clone(a.s) // constAt's strings share sbuf
		for j := i + 1; j < len(items); j++ {
			b, ok := st.constAt(items[j])
			if !ok {
				return st.fail()
			}
			if constEqual(a, b) {
				return false
			}
		}
	}
	return true
}

// constAt reads the scalar at off as an enum member.
func (st *fastState) constAt(off int) (fconst, bool) {
	save := st.pos
	defer func() { st.pos = save }()
	st.pos = off
	switch c := st.b[off]; {
	case c == '"':
		s, ok := st.str()
		return fconst{kind: 's', s: s}, ok
	case c == 't', c == 'f':
		return fconst{kind: 'b', b: c == 't'}, true
	case c == 'n':
		return fconst{kind: 'z'}, true
	case c == '-' || c >= '0' && c <= '9':
		start := st.pos
		if !st.numSyntax() {
			return fconst{}, false
		}
		f, err := strconv.ParseFloat(unsafeString(st.b[start:st.pos]), 64)
		if err != nil {
			return fconst{}, false
		}
		return fconst{kind: 'n', f: f}, true
	}
	return fconst{}, false
}

func constEqual(a, b fconst) bool {
	if a.kind != b.kind {
		return false
	}
	switch a.kind {
	case 'b':
		return a.b == b.b
	case 'n':
		return a.f == b.f && math.Signbit(a.f) == math.Signbit(b.f)
	case 's':
		return a.s == b.s
	}
	return true
}

func (st *fastState) enumHas(n *fnode, v fconst) bool {
	for _, c := range n.enum {
		if constEqual(c, v) {
			return true
		}
	}
	return false
}

func (st *fastState) stringVal(n *fnode) bool {
	s, ok := st.str()
	if !ok {
		return false
	}
	return st.stringOK(n, s, false)
}

// stringOK checks the string s against n; with dateTimeKnown the caller
// has checked a "date-time" format itself (it parsed s as a timestamp).
func (st *fastState) stringOK(n *fnode, s string, dateTimeKnown bool) bool {
	if n.types != 0 && n.types&jtString == 0 {
		return false
	}
	if n.minLen >= 0 || n.maxLen >= 0 {
		k := utf8.RuneCountInString(s)
		if k < n.minLen || n.maxLen >= 0 && k > n.maxLen {
			return false
		}
	}
	if n.pattern != nil && !n.pattern.MatchString(s) {
		return false
	}
	if n.format != "" && !(dateTimeKnown && n.format == "date-time") && !formatOK(n.format, s) {
		return false
	}
	return !n.hasEnum || st.enumHas(n, fconst{kind: 's', s: s})
}

// formatOK applies a format to a string as gojsonschema's checkers do
// (format.go), without boxing the common ones.
func formatOK(format, s string) bool {
	switch format {
	case "date-time":
		return isRFC3339(s)
	case "date":
		_, err := time.Parse(time.DateOnly, s)
		return err == nil
	case "email", "idn-email":
		if plainEmail(s) {
			return true // net/mail accepts it (TestPlainEmail); others ask it
		}
	}
	return gojsonschema.FormatCheckers.IsFormat(format, string([]byte(s)))
}

// plainEmail says whether s is a plain addr-spec: dot-separated atoms of
// letters, digits, _ + - before the @, of letters, digits and - after it.
// net/mail.ParseAddress (gojsonschema's email checker) accepts all of them.
func plainEmail(s string) bool {
	at := strings.IndexByte(s, '@')
	if at < 0 {
		return false
	}
	return dotAtoms(s[:at], true) && dotAtoms(s[at+1:], false)
}

func dotAtoms(s string, local bool) bool {
	prevDot := true // no leading dot
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			if prevDot {
				return false
			}
			prevDot = true
			continue
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-':
		case local && (c == '_' || c == '+'):
		default:
			return false
		}
		prevDot = false
	}
	return !prevDot // not empty, no trailing dot
}

func isRFC3339(s string) bool {
	_, err := parseTimestamp(s)
	return err == nil
}

// str reads the string at pos. The result aliases the record or sbuf:
// it is valid until the next call.
func (st *fastState) str() (string, bool) {
	b, i := st.b, st.pos+1 // locals: the loop is the hottest of the scan
	start := i
	esc := false
	for {
		i = strStopAt(b, i)
		if i >= len(b) {
			return "", st.fail()
		}
		switch c := b[i]; {
		case c == '"':
			st.pos = i + 1
			if !esc {
				return unsafeString(b[start:i]), true
			}
			return st.unescape(b[start:i])
		case c == '\\':
			esc = true
			i += 2
		default: // a control character
			return "", st.fail()
		}
	}
}

// unescape decodes a string's escapes as encoding/json does (a lone
// surrogate becomes U+FFFD).
func (st *fastState) unescape(raw []byte) (string, bool) {
	out := st.sbuf[:0]
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			out = append(out, c)
			i++
			continue
		}
		if i+1 >= len(raw) {
			return "", st.fail()
		}
		switch raw[i+1] {
		case '"', '\\', '/':
			out = append(out, raw[i+1])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r := hex4(raw[i+2:])
			if r < 0 {
				return "", st.fail()
			}
			i += 6
			if utf16.IsSurrogate(r) {
				if len(raw)-i >= 6 && raw[i] == '\\' && raw[i+1] == 'u' {
					if d := utf16.DecodeRune(r, hex4(raw[i+2:])); d != utf8.RuneError {
						out = utf8.AppendRune(out, d)
						i += 6
						continue
					}
				}
				r = utf8.RuneError
			}
			out = utf8.AppendRune(out, r)
			continue
		default:
			return "", st.fail()
		}
		i += 2
	}
	st.sbuf = out
	return unsafeString(out), true
}

func hex4(b []byte) rune {
	if len(b) < 4 {
		return -1
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

// numSyntax moves past a JSON number, checking its syntax.
func (st *fastState) numSyntax() bool {
	b, i := st.b, st.pos
	if i < len(b) && b[i] == '-' {
		i++
	}
	digits := func() int {
		j := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i - j
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case digits() == 0:
		return st.fail()
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			return st.fail()
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return st.fail()
		}
	}
	st.pos = i
	return true
}

func (st *fastState) number(n *fnode) bool {
	start := st.pos
	if !st.numSyntax() {
		return false
	}
	text := st.b[start:st.pos]
	isInt, sure := numIsInt(text)
	if !sure {
		return st.fail()
	}
	if n.types != 0 && n.types&jtNumber == 0 && !(isInt && n.types&jtInteger != 0) {
		return false
	}
	if n.min == nil && n.max == nil && n.exMin == nil && n.exMax == nil && n.multipleOf == nil && !n.hasEnum {
		return true
	}
	s := unsafeString(text)
	f, err := numFloat(text)
	if n.hasEnum {
		if err != nil {
			return st.fail() // gojsonschema cannot compare it either
		}
		if !st.enumHas(n, fconst{kind: 'n', f: f}) {
			return false
		}
	}
	cmp := func(b *fbound) int {
		switch {
		case f < b.f:
			return -1
		case f > b.f:
			return 1
		}
		if b.exact && smallInt(text) {
			return 0 // both are exactly f (qty 1 against minimum 1)
		}
		r, ok := new(big.Rat).SetString(s)
		if !ok {
			st.fail()
			return 0
		}
		return r.Cmp(b.r)
	}
	ok := true
	if n.max != nil && cmp(n.max) > 0 || n.exMax != nil && cmp(n.exMax) >= 0 ||
		n.min != nil && cmp(n.min) < 0 || n.exMin != nil && cmp(n.exMin) <= 0 {
		ok = false
	}
	if n.multipleOf != nil && ok {
		r, rok := new(big.Rat).SetString(s)
		if !rok {
			return st.fail()
		}
		ok = new(big.Rat).Quo(r, n.multipleOf).IsInt()
	}
	return ok && !st.abort
}

// numFloat is strconv.ParseFloat(text, 64), without its general parser for
// the integers records mostly hold (ids, versions, counts).
func numFloat(text []byte) (float64, error) {
	if !smallInt(text) {
		return strconv.ParseFloat(unsafeString(text), 64)
	}
	digits := text
	if text[0] == '-' {
		digits = text[1:]
	}
	var u uint64
	for _, c := range digits {
		u = u*10 + uint64(c-'0')
	}
	f := float64(u) // at most 15 digits: exact
	if text[0] == '-' {
		f = -f // -0 stays negative zero, as ParseFloat has it
	}
	return f, nil
}

// smallInt says whether a JSON number is an integer written without
// fraction or exponent in at most 15 digits: exactly a float64.
func smallInt(text []byte) bool {
	if len(text) > 0 && text[0] == '-' {
		text = text[1:]
	}
	if len(text) == 0 || len(text) > 15 {
		return false
	}
	for _, c := range text {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// numIsInt says whether a JSON number's value is an integer (as big.Rat's
// IsInt would), from its digits alone. sure is false for exponents too
// large to reason about cheaply.
func numIsInt(text []byte) (isInt, sure bool) {
	i := 0
	if text[0] == '-' {
		i++
	}
	nonzero, lastNonzero, digits, frac := false, 0, 0, 0 // lastNonzero: digits after the last nonzero one
	inFrac := false
	for ; i < len(text); i++ {
		c := text[i]
		if c == '.' {
			inFrac = true
			continue
		}
		if c == 'e' || c == 'E' {
			break
		}
		digits++
		if inFrac {
			frac++
		}
		if c != '0' {
			nonzero, lastNonzero = true, 0
		} else {
			lastNonzero++
		}
	}
	if !nonzero {
		return true, true
	}
	exp := 0
	if i < len(text) {
		e, err := strconv.Atoi(string(text[i+1:]))
		if err != nil || e > 100000 || e < -100000 {
			return false, false
		}
		exp = e
	}
	return exp-frac+lastNonzero >= 0, true
}

func keyHash(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// next reads what follows a member or an item: a comma (more follows) or
// the closing byte (the object or array ends); anything else is bad.
func (st *fastState) next(close byte) (more, bad bool) {
	st.ws()
	if st.pos >= len(st.b) {
		return false, true
	}
	switch st.b[st.pos] {
	case ',':
		st.pos++
		return true, false
	case close:
		st.pos++
		return false, false
	}
	return false, true
}
