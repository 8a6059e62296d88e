package transform

import (
	"fmt"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
)

// The fast validator (issue 11) decides valid/invalid for a landed record
// straight from its bytes, with no per-record allocation, for the keywords
// real API schemas use. gojsonschema stays the reference: a record the fast
// validator rejects or is unsure about goes through gojsonschema, which
// decides again and explains why (the quarantine reasons); a schema that
// uses a keyword the fast validator does not implement (or a $ref it cannot
// follow the way gojsonschema does) gets no fast validator at all. The
// differential tests (fastval_test.go) hold the two to the same verdicts on
// the JSON-Schema-Test-Suite and on fuzzed records and schemas.
//
// Semantics are gojsonschema v1.2.0's, quirks included: enum and const
// compare numbers as float64 (1.0 equals 1, -0 differs from 0), formats
// apply to strings only (format.go), $ref's siblings are ignored.

// JSON types as bits of fnode.types.
const (
	jtNull uint8 = 1 << iota
	jtBool
	jtObject
	jtArray
	jtNumber
	jtInteger
	jtString
)

var jsonTypeBits = map[string]uint8{
	"null": jtNull, "boolean": jtBool, "object": jtObject, "array": jtArray,
	"number": jtNumber, "integer": jtInteger, "string": jtString,
}

// fnode is one compiled (sub)schema.
type fnode struct {
	always, never bool   // the schemas true and false
	ref           *fnode // $ref: only the target applies (draft-07)
	types         uint8  // allowed types; 0: any
	// objects
	names     []string       // properties, then other names required or named by dependencies
	nameIdx   map[string]int // name → position in names
	props     []*fnode       // schemas of names[:len(props)]
	required  []int          // positions in names
	patProps  []fpattern
	addl      *fnode // additionalProperties; nil: anything
	minProps  int
	maxProps  int // -1: none
	deps      []fdep
	propNames *fnode
	// arrays
	items            *fnode   // one schema for every item
	tuple            []*fnode // items as an array
	addItems         *fnode   // additionalItems (with tuple only)
	minItems         int
	maxItems         int // -1: none
	unique           bool
	contains         *fnode
	minLen, maxLen   int // -1: none
	pattern          *strPattern
	format           string
	min, max         *fbound
	exMin, exMax     *fbound
	multipleOf       *big.Rat
	enum             []fconst
	hasEnum          bool
	allOf, anyOf     []*fnode
	oneOf            []*fnode
	not              *fnode
	ifS, thenS, elsS *fnode
}

type fpattern struct {
	re   *regexp.Regexp
	node *fnode
}

// fdep is a dependency: when name is present, names must be too, or the
// object must validate against node.
type fdep struct {
	name  int
	names []int
	node  *fnode
}

// fbound is a numeric bound: the float64 decides unless it ties, then the
// exact value does.
type fbound struct {
	f     float64
	r     *big.Rat
	exact bool // r is exactly f
}

// fconst is a scalar enum or const member, as gojsonschema compares them
// (numbers as float64).
type fconst struct {
	kind byte // 'z' null, 'b' bool, 'n' number, 's' string
	b    bool
	f    float64
	s    string
}

// fastValidator is a schema compiled for the fast path.
type fastValidator struct {
	root *fnode
}

// errUnsupported says the fast validator cannot take a schema; the schema
// is then validated by gojsonschema alone.
type errUnsupported struct{ why string }

func (e *errUnsupported) Error() string { return "fast validator: " + e.why }

func unsupported(format string, args ...any) error {
	return &errUnsupported{why: fmt.Sprintf(format, args...)}
}

// compileFast compiles the schema root of document doc (an absolute path)
// for the fast path, or says why it cannot.
func compileFast(docs *schemaDocs, doc string, root *jnode) (*fastValidator, error) {
	c := &fcompiler{docs: docs, memo: map[*jnode]*fnode{}, root: root}
	if s := root.get("$schema"); s != nil {
		if s.kind != 's' || strings.TrimSuffix(s.str, "#") != "http://json-schema.org/draft-07/schema" {
			return nil, unsupported("$schema %s is not draft-07", s.str)
		}
	}
	if id := root.get("$id"); id != nil {
		c.rootID = true
	}
	n, err := c.compile(doc, root)
	if err != nil {
		return nil, err
	}
	return &fastValidator{root: n}, nil
}

type fcompiler struct {
	docs   *schemaDocs
	memo   map[*jnode]*fnode
	root   *jnode
	rootID bool // the root has a $id: only fragment refs ("#/...") are followed
}

func (c *fcompiler) compile(doc string, j *jnode) (*fnode, error) {
	if n, ok := c.memo[j]; ok {
		return n, nil
	}
	n := &fnode{minProps: 0, maxProps: -1, maxItems: -1, minLen: -1, maxLen: -1}
	c.memo[j] = n
	switch j.kind {
	case 'b':
		n.always, n.never = j.b, !j.b
		return n, nil
	case 'o':
	default:
		return nil, unsupported("a schema must be an object or a boolean")
	}
	if r := j.get("$ref"); r != nil {
		if r.kind != 's' {
			return nil, unsupported("$ref is not a string")
		}
		if !strings.HasPrefix(r.str, "#") && (c.rootID || strings.Contains(r.str, ":") || strings.HasPrefix(r.str, "/")) {
			return nil, unsupported("$ref %q is not local", r.str)
		}
		d2, t := c.docs.resolve(doc, r.str)
		if t == nil {
			return nil, unsupported("$ref %q cannot be followed", r.str)
		}
		if _, frag, _ := strings.Cut(r.str, "#"); frag != "" && !strings.HasPrefix(frag, "/") {
			return nil, unsupported("$ref %q names an anchor", r.str)
		}
		if d2 != doc {
			if s := t.get("$schema"); s != nil {
				return nil, unsupported("$schema in a referenced document")
			}
		}
		ref, err := c.compile(d2, t)
		if err != nil {
			return nil, err
		}
		n.ref = ref
		return n, nil
	}
	sub := func(k string) (*fnode, error) {
		v := j.get(k)
		if v == nil {
			return nil, nil
		}
		return c.compile(doc, v)
	}
	subs := func(k string) ([]*fnode, error) {
		v := j.get(k)
		if v == nil {
			return nil, nil
		}
		if v.kind != 'a' || len(v.arr) == 0 {
			return nil, unsupported("%s must be a non-empty array", k)
		}
		out := make([]*fnode, len(v.arr))
		for i, e := range v.arr {
			var err error
			if out[i], err = c.compile(doc, e); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	var err error
	for _, k := range j.keys {
		v := j.vals[k]
		switch k {
		case "$schema":
			if v.kind != 's' || strings.TrimSuffix(v.str, "#") != "http://json-schema.org/draft-07/schema" {
				return nil, unsupported("$schema in a subschema")
			}
		case "$id", "id":
			if j == c.root && k == "$id" && v.kind == 's' && !strings.Contains(v.str, "#") {
				continue // names the document; fragment refs still resolve in it
			}
			if k == "$id" || v.kind == 's' {
				return nil, unsupported("%s changes the base URI", k)
			}
		case "type":
			if n.types, err = typeBits(v); err != nil {
				return nil, err
			}
		case "properties":
			if v.kind != 'o' {
				return nil, unsupported("properties must be an object")
			}
			for _, name := range v.keys {
				p, err := c.compile(doc, v.vals[name])
				if err != nil {
					return nil, err
				}
				n.name(name)
				n.props = append(n.props, p)
			}
		case "required":
			if v.kind != 'a' {
				return nil, unsupported("required must be an array")
			}
			// names are added after properties (below)
		case "patternProperties":
			if v.kind != 'o' {
				return nil, unsupported("patternProperties must be an object")
			}
			for _, pat := range v.keys {
				re, err := regexp.Compile(pat)
				if err != nil {
					return nil, unsupported("patternProperties %q: %v", pat, err)
				}
				p, err := c.compile(doc, v.vals[pat])
				if err != nil {
					return nil, err
				}
				n.patProps = append(n.patProps, fpattern{re: re, node: p})
			}
		case "additionalProperties":
			if n.addl, err = sub(k); err != nil {
				return nil, err
			}
		case "dependencies", "propertyNames", "items", "additionalItems", "contains",
			"allOf", "anyOf", "oneOf", "not", "if", "then", "else":
			// compiled below, once the names are known
		case "minProperties", "maxProperties", "minItems", "maxItems", "minLength", "maxLength":
			if v.kind != 'n' {
				return nil, unsupported("%s must be a number", k)
			}
			i, err := strconv.Atoi(v.num.String())
			if err != nil || i < 0 {
				return nil, unsupported("%s must be a non-negative integer", k)
			}
			*map[string]*int{"minProperties": &n.minProps, "maxProperties": &n.maxProps, "minItems": &n.minItems,
				"maxItems": &n.maxItems, "minLength": &n.minLen, "maxLength": &n.maxLen}[k] = i
		case "uniqueItems":
			if v.kind != 'b' {
				return nil, unsupported("uniqueItems must be a boolean")
			}
			n.unique = v.b
		case "pattern":
			if v.kind != 's' {
				return nil, unsupported("pattern must be a string")
			}
			if n.pattern, err = compilePattern(v.str); err != nil {
				return nil, unsupported("pattern %q: %v", v.str, err)
			}
		case "format":
			if v.kind != 's' {
				return nil, unsupported("format must be a string")
			}
			n.format = v.str
		case "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum":
			b, err := boundOf(v)
			if err != nil {
				return nil, unsupported("%s: %v", k, err)
			}
			*map[string]**fbound{"minimum": &n.min, "maximum": &n.max, "exclusiveMinimum": &n.exMin, "exclusiveMaximum": &n.exMax}[k] = b
		case "multipleOf":
			r, ok := ratOf(v)
			if !ok || r.Sign() <= 0 {
				return nil, unsupported("multipleOf must be a positive number")
			}
			n.multipleOf = r
		case "enum":
			if v.kind != 'a' || len(v.arr) == 0 {
				return nil, unsupported("enum must be a non-empty array")
			}
			for _, e := range v.arr {
				fc, err := constOf(e)
				if err != nil {
					return nil, err
				}
				n.enum = append(n.enum, fc)
			}
			n.hasEnum = true
		case "const":
			// after enum: both must hold
		default:
			// annotations and unknown keywords: gojsonschema ignores them
			// too (subschemas under them count only when a $ref names them)
		}
	}
	if v := j.get("const"); v != nil {
		fc, err := constOf(v)
		if err != nil {
			return nil, err
		}
		if n.hasEnum {
			return nil, unsupported("enum and const together")
		}
		n.enum, n.hasEnum = []fconst{fc}, true
	}
	if v := j.get("required"); v != nil {
		for _, e := range v.arr {
			if e.kind != 's' {
				return nil, unsupported("required must list strings")
			}
			n.required = append(n.required, n.name(e.str))
		}
	}
	if v := j.get("dependencies"); v != nil {
		if v.kind != 'o' {
			return nil, unsupported("dependencies must be an object")
		}
		for _, k := range v.keys {
			d := fdep{name: n.name(k)}
			switch dv := v.vals[k]; dv.kind {
			case 'a':
				for _, e := range dv.arr {
					if e.kind != 's' {
						return nil, unsupported("dependencies must list strings")
					}
					d.names = append(d.names, n.name(e.str))
				}
			default:
				if d.node, err = c.compile(doc, dv); err != nil {
					return nil, err
				}
			}
			n.deps = append(n.deps, d)
		}
	}
	if it := j.get("items"); it != nil {
		if it.kind == 'a' {
			n.tuple = make([]*fnode, len(it.arr))
			for i, e := range it.arr {
				if n.tuple[i], err = c.compile(doc, e); err != nil {
					return nil, err
				}
			}
			if n.addItems, err = sub("additionalItems"); err != nil {
				return nil, err
			}
		} else if n.items, err = sub("items"); err != nil {
			return nil, err
		}
	}
	for _, s := range []struct {
		k   string
		dst **fnode
	}{{"propertyNames", &n.propNames}, {"contains", &n.contains}, {"not", &n.not}, {"if", &n.ifS}, {"then", &n.thenS}, {"else", &n.elsS}} {
		if *s.dst, err = sub(s.k); err != nil {
			return nil, err
		}
	}
	for _, s := range []struct {
		k   string
		dst *[]*fnode
	}{{"allOf", &n.allOf}, {"anyOf", &n.anyOf}, {"oneOf", &n.oneOf}} {
		if *s.dst, err = subs(s.k); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// name returns the position of an object member name, adding it.
func (n *fnode) name(s string) int {
	if i, ok := n.nameIdx[s]; ok {
		return i
	}
	if n.nameIdx == nil {
		n.nameIdx = map[string]int{}
	}
	n.nameIdx[s] = len(n.names)
	n.names = append(n.names, s)
	return len(n.names) - 1
}

func typeBits(v *jnode) (uint8, error) {
	var out uint8
	add := func(e *jnode) error {
		b, ok := jsonTypeBits[e.str]
		if e.kind != 's' || !ok {
			return unsupported("type %q", e.str)
		}
		out |= b
		return nil
	}
	switch v.kind {
	case 's':
		if err := add(v); err != nil {
			return 0, err
		}
	case 'a':
		if len(v.arr) == 0 {
			return 0, unsupported("empty type array")
		}
		for _, e := range v.arr {
			if err := add(e); err != nil {
				return 0, err
			}
		}
	default:
		return 0, unsupported("type must be a string or an array")
	}
	return out, nil
}

func ratOf(v *jnode) (*big.Rat, bool) {
	if v.kind != 'n' {
		return nil, false
	}
	return new(big.Rat).SetString(v.num.String())
}

func boundOf(v *jnode) (*fbound, error) {
	r, ok := ratOf(v)
	if !ok {
		return nil, fmt.Errorf("not a number")
	}
	f, exact := r.Float64()
	return &fbound{f: f, r: r, exact: exact}, nil
}

// constOf is an enum member as gojsonschema compares it.
func constOf(v *jnode) (fconst, error) {
	switch v.kind {
	case 'z':
		return fconst{kind: 'z'}, nil
	case 'b':
		return fconst{kind: 'b', b: v.b}, nil
	case 's':
		return fconst{kind: 's', s: v.str}, nil
	case 'n':
		f, err := strconv.ParseFloat(v.num.String(), 64)
		if err != nil || math.IsInf(f, 0) {
			return fconst{}, unsupported("enum number %s is outside float64", v.num)
		}
		return fconst{kind: 'n', f: f}, nil
	}
	return fconst{}, unsupported("enum or const with an object or array")
}

// FastValidator reports whether the schema has a fast validator: its
// records are decided from their bytes and only those it rejects go
// through gojsonschema. Without one (a keyword or $ref it does not take)
// every record goes through gojsonschema.
func (s *Schema) FastValidator() bool { return s != nil && s.fast != nil }
