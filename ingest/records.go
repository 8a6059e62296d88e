package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/rawland/rawland/config"
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

// pathSteps splits a dot path into its keys (config.SplitPath: a dot
// separates keys unless a backslash escapes it).
func pathSteps(path string) []string { return config.SplitPath(path) }

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
	if path == config.RecordsWhole {
		return wholeRecord(doc)
	}
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

// wholeRecord is the body as one record (records: "."): a JSON object;
// null is no record.
func wholeRecord(doc *jsonDoc) ([]json.RawMessage, error) {
	v, _, err := doc.lookup("")
	if err != nil {
		return nil, fmt.Errorf("body is not valid JSON: %w", err)
	}
	t := bytes.TrimSpace(v)
	if isNull(t) {
		return nil, nil
	}
	if t[0] != '{' {
		return nil, fmt.Errorf(`records: "." lands the whole response as one record, but the body is not a JSON object (it starts with %.20q); for an array of records use records: ""`, t)
	}
	return []json.RawMessage{json.RawMessage(t)}, nil
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

// parseFlag reads a has_more or end_flag value: a JSON boolean, the
// strings "true"/"false" (any case), or 1/0 (number or string).
func parseFlag(v json.RawMessage) (bool, error) {
	t := strings.TrimSpace(string(v))
	if len(t) >= 2 && t[0] == '"' {
		var s string
		if json.Unmarshal(v, &s) != nil {
			return false, fmt.Errorf("not a flag: %.60s", v)
		}
		t = strings.ToLower(strings.TrimSpace(s))
	}
	switch t {
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	}
	return false, fmt.Errorf("want true/false (a boolean, a string, or 1/0), got %.60s", v)
}

// parseCount reads a non-negative count: a JSON integer or a numeric
// string.
func parseCount(v json.RawMessage) (int64, error) {
	s := strings.Trim(strings.TrimSpace(string(v)), `"`)
	c, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || c < 0 {
		return 0, fmt.Errorf("not a count: %.60s", v)
	}
	return c, nil
}
