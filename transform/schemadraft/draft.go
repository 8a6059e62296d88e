// Package schemadraft infers a draft-07 JSON Schema from sample records, so
// that a new stream can be transformed without hand-writing its schema
// (`rawland schema draft STREAM`).
//
// A Drafter observes records one at a time and keeps per-path statistics,
// never the records, so memory grows with the number of distinct field
// paths and at most MaxEnum distinct values per string field, not with the
// number of records. Schema then returns the draft:
//   - types, with "null" added when a field was null somewhere;
//   - "integer" when every number seen was integral, "number" otherwise;
//   - "required" for the fields present in every object seen at that place;
//   - "format" (date-time, date, email, uri, uuid) when every string value
//     has it, judged by gojsonschema's own format checkers so that transform
//     agrees;
//   - "enum" for string fields with few distinct values seen often;
//   - nested objects and arrays ("items" merges every element).
//
// Every record observed validates against the draft: each keyword is only
// emitted when all observed values satisfy it.
package schemadraft

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/xeipuuv/gojsonschema"
)

// Defaults of Drafter.
const (
	// MaxEnum is the most distinct values a string field may have to be
	// drafted as an enum.
	MaxEnum = 12
	// MinEnumSamples is how many values a field needs before a small set
	// of distinct ones is taken for an enum rather than a coincidence.
	MinEnumSamples = 20
)

// formats are tried in this order; the first that every value matches wins
// ("date" before "date-time": gojsonschema takes a plain date for a
// date-time too).
var formats = []string{"date", "date-time", "uuid", "email", "uri"}

// node is what was seen at one place in the records.
type node struct {
	seen  int64 // values observed here (null included)
	types map[string]int64

	// strings
	strs      int64
	distinct  map[string]struct{} // nil once it overflowed MaxEnum
	formatsOK map[string]bool     // candidate formats still matched by every string

	// objects
	objects int64
	props   map[string]*node
	present map[string]int64 // per property: objects that had it

	// arrays
	items *node
}

func newNode() *node {
	return &node{types: map[string]int64{}}
}

// Drafter accumulates statistics over records. The zero value is not
// usable; call New.
type Drafter struct {
	root    *node
	records int64
}

// New returns an empty Drafter.
func New() *Drafter { return &Drafter{root: newNode()} }

// Records is the number of records observed.
func (d *Drafter) Records() int64 { return d.records }

// Observe adds one record (a JSON value, usually an object).
func (d *Drafter) Observe(rec []byte) error {
	dec := json.NewDecoder(bytes.NewReader(rec))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return fmt.Errorf("record is not valid JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("record holds more than one JSON value")
	}
	d.root.observe(v)
	d.records++
	return nil
}

func (n *node) observe(v any) {
	n.seen++
	switch x := v.(type) {
	case nil:
		n.types["null"]++
	case bool:
		n.types["boolean"]++
	case json.Number:
		s := x.String()
		if strings.ContainsAny(s, ".eE") {
			n.types["number"]++
		} else {
			n.types["integer"]++
		}
	case string:
		n.types["string"]++
		n.observeString(x)
	case []any:
		n.types["array"]++
		if n.items == nil {
			n.items = newNode()
		}
		for _, e := range x {
			n.items.observe(e)
		}
	case map[string]any:
		n.types["object"]++
		n.objects++
		if n.props == nil {
			n.props, n.present = map[string]*node{}, map[string]int64{}
		}
		for k, e := range x {
			c := n.props[k]
			if c == nil {
				c = newNode()
				n.props[k] = c
			}
			c.observe(e)
			n.present[k]++
		}
	}
}

func (n *node) observeString(s string) {
	if n.strs == 0 {
		n.distinct = map[string]struct{}{}
		n.formatsOK = map[string]bool{}
		for _, f := range formats {
			n.formatsOK[f] = true
		}
	}
	n.strs++
	if n.distinct != nil {
		n.distinct[s] = struct{}{}
		if len(n.distinct) > MaxEnum {
			n.distinct = nil
		}
	}
	for f, ok := range n.formatsOK {
		if ok && !gojsonschema.FormatCheckers.IsFormat(f, s) {
			n.formatsOK[f] = false
		}
	}
}

// Schema returns the draft for everything observed, with title set.
func (d *Drafter) Schema(title string) map[string]any {
	s := d.root.schema()
	out := map[string]any{"$schema": "http://json-schema.org/draft-07/schema#"}
	if title != "" {
		out["title"] = title
	}
	out["description"] = fmt.Sprintf("Drafted by rawland from %d landed records; review it before relying on it.", d.records)
	for k, v := range s {
		out[k] = v
	}
	return out
}

// schema is the draft of one node.
func (n *node) schema() map[string]any {
	s := map[string]any{}
	types := n.typeList()
	switch len(types) {
	case 0:
		return s // never saw a value (an empty array's items): anything goes
	case 1:
		if types[0] == "null" {
			// only nulls: a type guessed now would quarantine the first value
			return map[string]any{"description": "only null values were seen: give it a type"}
		}
		s["type"] = types[0]
	default:
		s["type"] = types
	}
	if n.types["string"] > 0 && n.types["string"]+n.types["null"] == n.seen {
		if f := n.format(); f != "" {
			s["format"] = f
		} else if n.distinct != nil && n.strs >= MinEnumSamples && len(n.distinct) <= MaxEnum {
			vals := make([]any, 0, len(n.distinct)+1)
			keys := make([]string, 0, len(n.distinct))
			for k := range n.distinct {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				vals = append(vals, k)
			}
			if n.types["null"] > 0 {
				vals = append(vals, nil) // enum applies to null too
			}
			s["enum"] = vals
		}
	}
	if n.types["object"] > 0 {
		props := map[string]any{}
		var req []string
		for k, c := range n.props {
			props[k] = c.schema()
			if n.present[k] == n.objects {
				req = append(req, k)
			}
		}
		s["properties"] = props
		if len(req) > 0 {
			slices.Sort(req)
			s["required"] = req
		}
	}
	if n.types["array"] > 0 && n.items != nil && n.items.seen > 0 {
		s["items"] = n.items.schema()
	}
	return s
}

// typeList returns the JSON Schema types seen, "integer" folded into
// "number" when both occur, in a stable order.
func (n *node) typeList() []string {
	var out []string
	for _, t := range []string{"object", "array", "string", "integer", "number", "boolean", "null"} {
		if n.types[t] == 0 {
			continue
		}
		if t == "integer" && n.types["number"] > 0 {
			continue
		}
		out = append(out, t)
	}
	return out
}

// format returns the first format every string value had, or "".
func (n *node) format() string {
	if n.strs == 0 {
		return ""
	}
	for _, f := range formats {
		if n.formatsOK[f] {
			return f
		}
	}
	return ""
}

// Marshal returns the draft as indented JSON with a trailing newline, keys
// in a readable order ($schema, title, description, type first).
func Marshal(s map[string]any) ([]byte, error) {
	var buf bytes.Buffer
	if err := writeOrdered(&buf, s, "", true); err != nil {
		return nil, err
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

var keyOrder = []string{"$schema", "title", "description", "type", "format", "enum", "required", "properties", "items"}

// writeOrdered writes v as indented JSON. Keys of a schema object come in
// keyOrder; keys of a properties map (field names, which may well be
// "type" or "format") come alphabetically.
func writeOrdered(buf *bytes.Buffer, v any, indent string, schema bool) error {
	m, ok := v.(map[string]any)
	if !ok {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		buf.Write(b)
		return nil
	}
	if len(m) == 0 {
		buf.WriteString("{}")
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	rank := func(k string) int {
		if !schema {
			return 0
		}
		if i := slices.Index(keyOrder, k); i >= 0 {
			return i
		}
		return len(keyOrder)
	}
	sort.Slice(keys, func(i, j int) bool {
		ri, rj := rank(keys[i]), rank(keys[j])
		if ri != rj {
			return ri < rj
		}
		return keys[i] < keys[j]
	})
	inner := indent + "  "
	buf.WriteString("{\n")
	for i, k := range keys {
		kb, _ := json.Marshal(k)
		buf.WriteString(inner)
		buf.Write(kb)
		buf.WriteString(": ")
		if err := writeOrdered(buf, m[k], inner, !schema || k != "properties"); err != nil {
			return err
		}
		if i < len(keys)-1 {
			buf.WriteByte(',')
		}
		buf.WriteByte('\n')
	}
	buf.WriteString(indent + "}")
	return nil
}
