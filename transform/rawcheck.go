package transform

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"

	gojson "github.com/goccy/go-json"
)

// maxNesting is the deepest nesting of objects and arrays a record may
// have; deeper records are quarantined (every later step recurses).
const maxNesting = 1000

// rawShape is what one pass over a landed line finds before it is decoded.
type rawShape struct {
	depth   int // deepest nesting of objects and arrays
	members int // object members (a colon outside strings each)
}

// scanRaw measures a JSON text's nesting and counts its object members
// without decoding it. It does not validate the text (the decoder does).
func scanRaw(raw []byte) rawShape {
	var sh rawShape
	depth := 0
	for i := 0; i < len(raw); i++ {
		switch raw[i] {
		case '"':
			// skip the string: find its closing quote, stepping over escapes
			for i++; i < len(raw); i++ {
				j := bytes.IndexAny(raw[i:], `"\`)
				if j < 0 {
					i = len(raw)
					break
				}
				i += j
				if raw[i] == '\\' {
					i++
					continue
				}
				break
			}
		case '{', '[':
			depth++
			sh.depth = max(sh.depth, depth)
		case '}', ']':
			depth--
		case ':':
			sh.members++
		}
	}
	return sh
}

// members counts the object members of a decoded value.
func members(v any) int {
	switch x := v.(type) {
	case map[string]any:
		n := len(x)
		for _, e := range x {
			n += members(e)
		}
		return n
	case []any:
		n := 0
		for _, e := range x {
			n += members(e)
		}
		return n
	}
	return 0
}

// decodeChecked decodes one landed record, or says in one FieldError why
// it cannot be loaded as it was landed: not UTF-8, nested deeper than
// maxNesting, not JSON, or an object with a duplicate key (decoding would
// silently keep only the last value).
func decodeChecked(raw []byte) (any, *FieldError) {
	if !utf8.Valid(raw) {
		at := invalidUTF8At(raw)
		return nil, &FieldError{Reason: fmt.Sprintf("not valid UTF-8 at byte %d (%s): JSON text must be UTF-8; the raw bytes are kept in rawland.quarantine.record_bytes", at, around(raw, at))}
	}
	if at := bytes.IndexByte(raw, 0); at >= 0 {
		// never valid JSON (inside a string it must be escaped); goccy
		// would take it for the end of the input and drop what follows
		return nil, &FieldError{Reason: fmt.Sprintf("not valid JSON: a NUL byte at byte %d (%s)", at, around(raw, at))}
	}
	sh := scanRaw(raw)
	if sh.depth > maxNesting {
		return nil, &FieldError{Reason: fmt.Sprintf("nested %d levels deep: rawland loads records nested at most %d levels (objects and arrays)", sh.depth, maxNesting)}
	}
	v, err := decodeRecord(raw)
	if err == nil && !json.Valid(raw) {
		// goccy's stream decoder stops after the first value: text after
		// it ({"id":1} junk) must not pass unnoticed
		err = json.Unmarshal(raw, new(any))
	}
	if err != nil {
		return nil, &FieldError{Reason: "not valid JSON: " + err.Error()}
	}
	if members(v) != sh.members {
		if path, key, ok := duplicateKey(raw); ok {
			return nil, &FieldError{Path: path, Reason: fmt.Sprintf("duplicate key %q in one object: which value is meant is undefined, so the record is not loaded", key)}
		}
	}
	return v, nil
}

// decodeRecord decodes one landed record the way gojsonschema expects
// (numbers as json.Number).
func decodeRecord(raw []byte) (any, error) {
	// goccy/go-json decodes into the same Go values as encoding/json
	// (json.Number is an alias) at about twice the speed; decoding was a
	// sixth of transform's profile
	dec := gojson.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		// goccy parses numbers even with UseNumber and refuses valid JSON
		// such as 1e400; encoding/json keeps them as written
		std := json.NewDecoder(bytes.NewReader(raw))
		std.UseNumber()
		v = nil
		if serr := std.Decode(&v); serr != nil {
			return nil, serr
		}
		if _, serr := std.Token(); serr != io.EOF {
			return nil, err
		}
	}
	return v, nil
}

// duplicateKey finds the first object key that repeats in its object:
// the path of the object ("" for the record) and the key.
func duplicateKey(raw []byte) (string, string, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var walk func(path string) (string, string, bool, error)
	walk = func(path string) (string, string, bool, error) {
		tok, err := dec.Token()
		if err != nil {
			return "", "", false, err
		}
		d, ok := tok.(json.Delim)
		if !ok {
			return "", "", false, nil
		}
		switch d {
		case '{':
			seen := map[string]bool{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return "", "", false, err
				}
				k, _ := kt.(string)
				if seen[k] {
					return path, k, true, nil
				}
				seen[k] = true
				if p, k, ok, err := walk(join(path, k)); ok || err != nil {
					return p, k, ok, err
				}
			}
		case '[':
			for i := 0; dec.More(); i++ {
				if p, k, ok, err := walk(path + "[" + strconv.Itoa(i) + "]"); ok || err != nil {
					return p, k, ok, err
				}
			}
		}
		_, err = dec.Token()
		return "", "", false, err
	}
	p, k, ok, err := walk("")
	if err != nil && !errors.Is(err, io.EOF) {
		return "", "", false
	}
	return p, k, ok
}

// invalidUTF8At is the offset of the first byte that is not UTF-8.
func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// around quotes a few bytes around offset at, for error messages.
func around(b []byte, at int) string {
	lo, hi := max(at-20, 0), min(at+20, len(b))
	return strconv.Quote(string(b[lo:hi]))
}
