package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/tidwall/gjson"
)

// jsonDoc is one JSON document (a page body, a record) that lookups read
// in place with gjson: a dot path is found by scanning to it, without
// decoding the rest of the document (encoding/json would decode a whole page
// or record into maps for every field looked up). The document is validated
// once, on the first lookup, unless it is already known valid (a record cut
// out of a validated page).
type jsonDoc struct {
	raw     []byte
	checked bool
	valid   bool
}

func newDoc(b []byte) *jsonDoc { return &jsonDoc{raw: b} }

// validDoc is a document known to be valid JSON.
func validDoc(b []byte) *jsonDoc { return &jsonDoc{raw: b, checked: true, valid: true} }

// errNotJSON: the document is not valid JSON.
var errNotJSON = errors.New("not valid JSON")

// errRecordsAbsent: the records path is not in a page body (null is an
// empty page, absent is a page whose records were not found).
var errRecordsAbsent = errors.New("records path absent")

// lookup follows a dot path ("data.items") through JSON objects and returns
// the raw bytes of the value there; ok is false if a step is missing. The
// empty path is the document itself. Path steps are plain keys: gjson's
// wildcards and modifiers are escaped; a backslash escapes a literal dot
// ("@odata\.nextLink") or backslash.
func (d *jsonDoc) lookup(path string) (json.RawMessage, bool, error) {
	if !d.checked {
		d.checked, d.valid = true, gjson.ValidBytes(d.raw)
	}
	if !d.valid {
		return nil, false, errNotJSON
	}
	if path == "" {
		return d.raw, true, nil
	}
	r := gjson.GetBytes(d.raw, gjsonPath(pathSteps(path)))
	if !r.Exists() {
		return nil, false, nil
	}
	return json.RawMessage(r.Raw), true, nil
}

// pathSteps splits a dot path into its keys: a dot separates keys unless a
// backslash escapes it; "\\" is a literal backslash.
func pathSteps(path string) []string {
	var steps []string
	var cur strings.Builder
	for i := 0; i < len(path); i++ {
		c := path[i]
		switch {
		case c == '\\' && i+1 < len(path) && (path[i+1] == '.' || path[i+1] == '\\'):
			i++
			cur.WriteByte(path[i])
		case c == '.':
			steps = append(steps, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	return append(steps, cur.String())
}

// gjsonPath joins keys into a gjson path that matches them literally.
func gjsonPath(steps []string) string {
	esc := make([]string, len(steps))
	for i, st := range steps {
		esc[i] = gjson.Escape(st)
	}
	return strings.Join(esc, ".")
}

// keysAlong says which keys a body has where a dot path stops matching:
// the keys of the deepest object on the path ("keys at paging: prev" or
// "top-level keys: data, total"), for messages about a path that is absent.
func keysAlong(doc *jsonDoc, path string) string {
	steps := pathSteps(path)
	at, where := doc.raw, "top-level keys"
	for i := 0; i < len(steps)-1; i++ {
		r := gjson.GetBytes(at, gjson.Escape(steps[i]))
		if !r.Exists() || !r.IsObject() {
			break
		}
		at, where = []byte(r.Raw), "keys at "+strings.Join(steps[:i+1], ".")
	}
	return where + ": " + topKeys(at)
}

// isNull reports whether a raw JSON value is null (or absent).
func isNull(v json.RawMessage) bool {
	t := bytes.TrimSpace(v)
	return len(t) == 0 || bytes.Equal(t, []byte("null"))
}

// extractRecords returns the records of a page body: the array at the dot
// path, each element's bytes exactly as sent.
func extractRecords(doc *jsonDoc, path string) ([]json.RawMessage, error) {
	body := doc.raw
	v, ok, err := doc.lookup(path)
	if err != nil {
		return nil, fmt.Errorf("body is not valid JSON: %w", err)
	}
	if ok && isNull(v) {
		return nil, nil // an explicit null: no records on this page
	}
	if !ok {
		return nil, fmt.Errorf("no %q in the response body (%s): %w; set records: to the dot path of the record array (a backslash escapes a dot inside a key: a\\.b)", path, keysAlong(doc, path), errRecordsAbsent)
	}
	t := bytes.TrimSpace(v)
	if len(t) == 0 || t[0] != '[' {
		if path == "" {
			return nil, fmt.Errorf("the response body is not an array (top-level keys: %s): set records: to the dot path of the record array", topKeys(body))
		}
		return nil, fmt.Errorf("records path %q is not an array", path)
	}
	// each element's bytes exactly as sent, cut out without decoding
	var recs []json.RawMessage
	gjson.ParseBytes(t).ForEach(func(_, v gjson.Result) bool {
		recs = append(recs, json.RawMessage(v.Raw))
		return true
	})
	return recs, nil
}

func topKeys(body []byte) string {
	var obj map[string]json.RawMessage
	if json.Unmarshal(body, &obj) != nil {
		return "none: not an object"
	}
	ks := make([]string, 0, len(obj))
	for k := range obj {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	if len(ks) > 12 {
		ks = append(ks[:12], "…")
	}
	return strings.Join(ks, ", ")
}

// stringAt returns the string or number at a dot path as text ("" when it is
// missing, null or empty).
func stringAt(doc *jsonDoc, path string) (string, error) {
	v, ok, err := doc.lookup(path)
	if err != nil || !ok || isNull(v) {
		return "", err
	}
	var s string
	if err := json.Unmarshal(v, &s); err == nil {
		return s, nil
	}
	var n json.Number
	if err := json.Unmarshal(v, &n); err == nil {
		return n.String(), nil
	}
	return "", fmt.Errorf("%s is neither a string nor a number: %.60s", path, v)
}

// boolAt returns the boolean at a dot path; ok is false when it is missing.
func boolAt(doc *jsonDoc, path string) (val, ok bool, err error) {
	v, found, err := doc.lookup(path)
	if err != nil || !found || isNull(v) {
		return false, false, err
	}
	if err := json.Unmarshal(v, &val); err != nil {
		return false, false, fmt.Errorf("%s is not a boolean: %.60s", path, v)
	}
	return val, true, nil
}
