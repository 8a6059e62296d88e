package transform

import (
	"encoding/binary"
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/xeipuuv/gojsonschema"

	"github.com/rawland/rawland/internal/cursorval"
)

// Drift kinds recorded in rawland.drift.
const (
	DriftNewField        = "new_field"        // a field the schema does not describe
	DriftMissingRequired = "missing_required" // a required field is absent
	DriftTypeChanged     = "type_changed"     // a value of another JSON type than the schema's
	DriftEnumValue       = "enum_value"       // a value outside the schema's enum/const
	DriftFormat          = "format"           // a string that breaks its format (date-time, ...)
)

const maxExample = 200 // bytes of an example value kept in rawland.drift

// driftObs is one shape change seen in one record.
type driftObs struct{ path, kind, example string }

// verdict is the outcome of checking one record.
type verdict struct {
	row   []any // data columns, then _rawland_extra, _rawland_cursor, _rawland_hash; nil if invalid
	errs  []FieldError
	keys  []any // primary-key values, when they could be read (quarantined records too)
	drift []driftObs
}

// checkValue is rawland's accept/quarantine decision for a value, before
// the record-level rules: it must validate against the schema and convert
// to the derived column type. It returns the validation errors, then any
// conversion errors (only looked at when validation passed).
func (s *Schema) checkValue(v any, c *converter) (any, []FieldError, []driftObs) {
	return s.checkValueAs(v, c, false)
}

// checkValueAs is checkValue; valid says the fast validator already
// accepted the value, so gojsonschema is not asked.
func (s *Schema) checkValueAs(v any, c *converter, valid bool) (any, []FieldError, []driftObs) {
	var errs []FieldError
	var obs []driftObs
	var res *gojsonschema.Result
	if !valid {
		var err error
		if res, err = s.validator.Validate(gojsonschema.NewRawLoader(v)); err != nil {
			return nil, []FieldError{{Reason: "validate: " + err.Error()}}, nil
		}
	}
	for _, e := range resultErrors(res) {
		path, npath := errorPath(v, e.Context())
		det := e.Details()
		kind, example := "", ""
		switch e.Type() {
		case "required", "additional_property_not_allowed":
			p, _ := det["property"].(string)
			path, npath = join(path, p), join(npath, p)
			kind = DriftMissingRequired
			if e.Type() != "required" {
				kind, example = DriftNewField, exampleOf(valueAt(v, path))
			}
		case "invalid_type":
			kind, example = DriftTypeChanged, exampleOf(e.Value())
		case "enum", "const":
			kind, example = DriftEnumValue, exampleOf(e.Value())
		case "format":
			kind, example = DriftFormat, exampleOf(e.Value())
		}
		errs = append(errs, FieldError{Path: path, Reason: e.Description()})
		if kind != "" {
			obs = append(obs, driftObs{path: npath, kind: kind, example: example})
		}
	}
	c.reset()
	out := c.convert(v, s.root, "", "")
	for i, p := range c.newFields {
		obs = append(obs, driftObs{path: p, kind: DriftNewField, example: exampleOf(c.extras[c.newPaths[i]])})
	}
	return out, errs, obs
}

func resultErrors(res *gojsonschema.Result) []gojsonschema.ResultError {
	if res == nil {
		return nil
	}
	return res.Errors()
}

// check decides one landed record: the schema's verdict, then the record
// rules (a JSON object with its primary key). A record the fast validator
// accepts skips gojsonschema and the raw pre-checks (it checked UTF-8,
// syntax, nesting and duplicate keys itself); any other goes the full way.
func (s *Schema) check(raw []byte, c *converter) verdict {
	return s.checkAs(raw, c, s.fastVerdict(raw, c))
}

// fastVerdict is the fast validator's verdict on raw (fastUnsure when the
// schema has none).
func (s *Schema) fastVerdict(raw []byte, c *converter) fastVerdict {
	if s.fast == nil {
		return fastUnsure
	}
	return s.fast.validate(raw, &c.fast)
}

// checkAs is check with the fast validator's verdict already known.
func (s *Schema) checkAs(raw []byte, c *converter, fv fastVerdict) verdict {
	var vd verdict
	fast := fv == fastValid
	var v any
	if fast {
		var err error
		if v, err = decodeRecord(raw); err != nil {
			fast = false // not expected: decide the slow way
		}
	}
	if !fast {
		var ferr *FieldError
		if v, ferr = decodeChecked(raw); ferr != nil {
			vd.errs = []FieldError{*ferr}
			return vd
		}
	}
	if _, ok := v.(map[string]any); !ok {
		vd.errs = []FieldError{{Reason: "a record must be a JSON object, got " + jsonKind(v)}}
		return vd
	}
	out, errs, obs := s.checkValueAs(v, c, fast)
	vd.drift = dedupeObs(obs)
	sv, _ := out.(structVal)
	if len(errs) == 0 {
		errs = append(errs, c.errs...)
	}
	vd.keys = make([]any, len(s.pk))
	for i, p := range s.pk {
		if sv != nil {
			vd.keys[i] = sv[p]
		}
		if vd.keys[i] == nil {
			name := s.root.fields[p].name
			errs = append(errs, FieldError{Path: name, Reason: "primary key field " + name + " is missing, null or invalid"})
		}
	}
	if len(errs) > 0 {
		vd.errs = errs
		return vd
	}
	var extra any
	if len(c.extras) > 0 {
		extra, _ = jsonText(c.extras)
	}
	var h uint64
	h, c.hashBuf = s.contentHash(v, c.hashBuf)
	vd.row = append([]any(sv), extra, s.cursorValue(v), h)
	return vd
}

// cursorValue reads the record's cursor field as _rawland_cursor's type
// (NULL when absent or unreadable: such a version loses to any dated one).
func (s *Schema) cursorValue(v any) any {
	if s.cursorPath == nil {
		return nil
	}
	for _, seg := range s.cursorPath {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[seg]
	}
	if v == nil {
		return nil
	}
	var c converter
	if s.cursor.kind == kVarchar {
		if str, ok := v.(string); ok {
			// a time in any form orders by instant (cursorval.SortKey)
			return cursorval.SortKey(str)
		}
		txt, _ := jsonText(v)
		return txt
	}
	out := c.convert(v, s.cursor, "", "")
	if len(c.errs) > 0 {
		return nil
	}
	return out
}

func dedupeObs(obs []driftObs) []driftObs {
	if len(obs) < 2 {
		return obs
	}
	slices.SortStableFunc(obs, func(a, b driftObs) int {
		return strings.Compare(a.kind+"\x00"+a.path, b.kind+"\x00"+b.path)
	})
	return slices.CompactFunc(obs, func(a, b driftObs) bool { return a.kind == b.kind && a.path == b.path })
}

// errorPath turns a gojsonschema context ("(root).labels.0.name") into
// rawland's path ("labels[0].name") and drift path ("labels[].name"),
// telling array positions from keys by walking the record.
func errorPath(v any, ctx *gojsonschema.JsonContext) (string, string) {
	s := strings.TrimPrefix(ctx.String(), "(root)")
	s = strings.TrimPrefix(s, ".")
	if s == "" {
		return "", ""
	}
	var path, npath string
	for _, seg := range strings.Split(s, ".") {
		if a, ok := v.([]any); ok {
			if i, err := strconv.Atoi(seg); err == nil && i >= 0 && i < len(a) {
				path, npath, v = path+"["+seg+"]", npath+"[]", a[i]
				continue
			}
		}
		path, npath = join(path, seg), join(npath, seg)
		if m, ok := v.(map[string]any); ok {
			v = m[seg]
		} else {
			v = nil
		}
	}
	return path, npath
}

// valueAt returns the value at a path made by errorPath (nil if absent).
func valueAt(v any, path string) any {
	for path != "" {
		if path[0] == '[' {
			end := strings.IndexByte(path, ']')
			i, _ := strconv.Atoi(path[1:end])
			a, ok := v.([]any)
			if !ok || i >= len(a) {
				return nil
			}
			v, path = a[i], strings.TrimPrefix(path[end+1:], ".")
			continue
		}
		end := strings.IndexAny(path, ".[")
		key := path
		if end >= 0 {
			key, path = path[:end], strings.TrimPrefix(path[end:], ".")
		} else {
			path = ""
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[key]
	}
	return v
}

func exampleOf(v any) string {
	s, err := jsonText(v)
	if err != nil {
		return ""
	}
	if len(s) > maxExample {
		s = s[:maxExample] + "…"
	}
	return s
}

// contentHash is a hash of the record's content independent of key order
// and insignificant whitespace: equal hashes mean an unchanged record. It
// hashes a canonical encoding (type tags, lengths, keys sorted).
func (s *Schema) contentHash(v any, buf []byte) (uint64, []byte) {
	buf = canonical(buf[:0], v)
	return s.sum(buf), buf
}

func canonical(b []byte, v any) []byte {
	str := func(b []byte, tag byte, s string) []byte {
		b = append(b, tag)
		b = binary.AppendUvarint(b, uint64(len(s)))
		return append(b, s...)
	}
	switch x := v.(type) {
	case nil:
		return append(b, 'z')
	case bool:
		if x {
			return append(b, 't')
		}
		return append(b, 'f')
	case json.Number:
		return str(b, 'n', string(x))
	case string:
		return str(b, 's', x)
	case []any:
		b = append(b, 'a')
		b = binary.AppendUvarint(b, uint64(len(x)))
		for _, e := range x {
			b = canonical(b, e)
		}
		return b
	case map[string]any:
		var arr [32]string
		keys := arr[:0]
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, 'o')
		b = binary.AppendUvarint(b, uint64(len(keys)))
		for _, k := range keys {
			b = str(b, 'k', k)
			b = canonical(b, x[k])
		}
		return b
	}
	return b
}
