package ingest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// lookup follows a dot path ("data.items") through JSON objects and returns
// the raw value there; ok is false if a step is missing or not an object.
// The empty path is the document itself.
func lookup(doc []byte, path string) (json.RawMessage, bool, error) {
	cur := json.RawMessage(doc)
	if path == "" {
		return cur, true, nil
	}
	for _, step := range strings.Split(path, ".") {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(cur, &obj); err != nil {
			if isJSONObjectOrNull(cur) {
				return nil, false, err
			}
			return nil, false, nil
		}
		v, ok := obj[step]
		if !ok {
			return nil, false, nil
		}
		cur = v
	}
	return cur, true, nil
}

func isJSONObjectOrNull(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 0 && b[0] == '{'
}

// jsonDoc is one JSON document (a page body, a record) whose top-level
// object is decoded once and shared by every lookup on it: the records
// path, the next-page token, has_more. encoding/json scans its whole input
// on every Unmarshal, so looking each field up in the raw bytes would scan
// a page once per field.
type jsonDoc struct {
	raw  []byte
	top  map[string]json.RawMessage
	err  error
	done bool
}

func newDoc(b []byte) *jsonDoc { return &jsonDoc{raw: b} }

// lookup is the package lookup with the top level decoded once.
func (d *jsonDoc) lookup(path string) (json.RawMessage, bool, error) {
	if path == "" {
		return d.raw, true, nil
	}
	if !d.done {
		d.done = true
		if isJSONObjectOrNull(d.raw) {
			d.err = json.Unmarshal(d.raw, &d.top)
		}
	}
	if d.err != nil {
		return nil, false, d.err
	}
	first, rest, _ := strings.Cut(path, ".")
	v, ok := d.top[first]
	if !ok {
		return nil, false, nil
	}
	if rest == "" {
		return v, true, nil
	}
	return lookup(v, rest)
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
		return nil, fmt.Errorf("no %q in the response body (top-level keys: %s): set records: to the dot path of the record array", path, topKeys(body))
	}
	t := bytes.TrimSpace(v)
	if len(t) == 0 || t[0] != '[' {
		if path == "" {
			return nil, fmt.Errorf("the response body is not an array (top-level keys: %s): set records: to the dot path of the record array", topKeys(body))
		}
		return nil, fmt.Errorf("records path %q is not an array", path)
	}
	var recs []json.RawMessage
	if err := json.Unmarshal(t, &recs); err != nil {
		return nil, fmt.Errorf("records at %q: %w", path, err)
	}
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
