package transform

import (
	"math"
	"math/big"
	"slices"
	"strings"
)

// typer derives column types from schema documents.
type typer struct {
	docs  *schemaDocs
	stack map[*jnode]bool // $ref targets being expanded on the current path (recursion → JSON)
	depth int
}

func newTyper(docs *schemaDocs) *typer { return &typer{docs: docs, stack: map[*jnode]bool{}} }

// facts are the keywords of a schema and its allOf members that decide
// its type.
type facts struct {
	types    map[string]bool // nil: unconstrained
	props    []prop
	items    *jnode
	itemsDoc string
	format   string
	enum     []*jnode
	unions   [][]prop // anyOf / oneOf branches (name unused)
	min, max *big.Float
	refs     []*jnode // $ref targets followed
}

type prop struct {
	name string
	doc  string
	node *jnode
}

const maxDepth = 64

// typeOf returns the column type for the schema n of document doc.
// object says the value is known to be an object (the record root).
func (ty *typer) typeOf(doc string, n *jnode, object bool) *colType {
	if ty.depth > maxDepth {
		return tJSON
	}
	var f facts
	ok := ty.collect(doc, n, &f, 0)
	// The refs stay marked while the properties and items below are
	// typed: a schema that contains itself becomes JSON where it recurs.
	for _, r := range f.refs {
		ty.stack[r] = true
	}
	defer func() {
		for _, r := range f.refs {
			delete(ty.stack, r)
		}
	}()
	if !ok {
		return tJSON
	}
	if object {
		f.types = intersect(f.types, map[string]bool{"object": true})
	}
	ty.depth++
	defer func() { ty.depth-- }()
	return ty.fromFacts(&f)
}

// collect gathers n's type facts into f; false if n cannot be followed.
func (ty *typer) collect(doc string, n *jnode, f *facts, depth int) bool {
	if depth > maxDepth {
		return false
	}
	switch n.kind {
	case 'b':
		if !n.b {
			f.types = map[string]bool{} // false: nothing is valid
		}
		return true
	case 'o':
	default:
		return false
	}
	if ref := n.get("$ref"); ref != nil && ref.kind == 's' {
		d2, target := ty.docs.resolve(doc, ref.str)
		if target == nil || ty.stack[target] || slices.Contains(f.refs, target) {
			return false
		}
		f.refs = append(f.refs, target)
		return ty.collect(d2, target, f, depth+1) // draft-07: $ref siblings are ignored
	}
	if t := n.get("type"); t != nil {
		set := map[string]bool{}
		switch t.kind {
		case 's':
			set[t.str] = true
		case 'a':
			for _, e := range t.arr {
				if e.kind == 's' {
					set[e.str] = true
				}
			}
		}
		if set["integer"] && set["number"] {
			delete(set, "integer")
		}
		f.types = intersect(f.types, set)
	}
	if p := n.get("properties"); p != nil && p.kind == 'o' {
	next:
		for _, k := range p.keys {
			for _, have := range f.props {
				if have.name == k {
					continue next
				}
			}
			f.props = append(f.props, prop{name: k, doc: doc, node: p.vals[k]})
		}
	}
	if it := n.get("items"); it != nil && f.items == nil {
		f.items, f.itemsDoc = it, doc
	}
	if fm := n.get("format"); fm != nil && fm.kind == 's' && f.format == "" {
		f.format = fm.str
	}
	if e := n.get("enum"); e != nil && e.kind == 'a' && f.enum == nil {
		f.enum = e.arr
	}
	if c := n.get("const"); c != nil && f.enum == nil {
		f.enum = []*jnode{c}
	}
	for _, kw := range []string{"anyOf", "oneOf"} {
		if u := n.get(kw); u != nil && u.kind == 'a' {
			var br []prop
			for _, b := range u.arr {
				br = append(br, prop{doc: doc, node: b})
			}
			f.unions = append(f.unions, br)
		}
	}
	bound := func(kw string, set func(*big.Float)) {
		if v := n.get(kw); v != nil && v.kind == 'n' {
			if x, ok := new(big.Float).SetString(v.num.String()); ok {
				set(x)
			}
		}
	}
	bound("minimum", func(x *big.Float) { f.min = x })
	bound("exclusiveMinimum", func(x *big.Float) { f.min = x })
	bound("maximum", func(x *big.Float) { f.max = x })
	bound("exclusiveMaximum", func(x *big.Float) { f.max = x })
	if all := n.get("allOf"); all != nil && all.kind == 'a' {
		for _, m := range all.arr {
			if !ty.collect(doc, m, f, depth+1) {
				// an allOf member we cannot follow only restricts values;
				// the facts gathered so far still describe a superset.
				continue
			}
		}
	}
	return true
}

func intersect(a, b map[string]bool) map[string]bool {
	if a == nil {
		return b
	}
	out := map[string]bool{}
	for k := range a {
		if b[k] || (k == "integer" && b["number"]) {
			out[k] = true
		} else if k == "number" && b["integer"] {
			out["integer"] = true
		}
	}
	return out
}

func (ty *typer) fromFacts(f *facts) *colType {
	if f.types == nil {
		switch {
		case len(f.unions) > 0:
			return ty.union(f.unions[0])
		case f.enum != nil:
			return enumType(f.enum)
		}
		return tJSON // no type: any JSON value is valid
	}
	var types []string
	null := false
	for t := range f.types {
		if t == "null" {
			null = true
			continue
		}
		types = append(types, t)
	}
	switch {
	case len(types) == 0 && null:
		return tNull
	case len(types) != 1:
		return tJSON
	}
	switch types[0] {
	case "string":
		switch f.format {
		case "date-time":
			return tTimestamp
		case "date":
			return tDate
		}
		return tVarchar
	case "integer":
		return integerType(f.min, f.max)
	case "number":
		return tDouble
	case "boolean":
		return tBool
	case "object":
		return ty.object(f.props)
	case "array":
		if f.items == nil || f.items.kind == 'a' {
			return tJSON // open or tuple items
		}
		e := ty.typeOf(f.itemsDoc, f.items, false)
		if e.kind == kJSON || e.kind == kNull {
			return tJSON
		}
		return &colType{kind: kList, elem: e}
	}
	return tJSON
}

// object maps properties to a STRUCT; names DuckDB cannot keep apart
// (empty, or equal ignoring case) are left out and land in _rawland_extra.
func (ty *typer) object(props []prop) *colType {
	var fields []field
	seen := map[string]bool{}
	for _, p := range props {
		low := strings.ToLower(p.name)
		if p.name == "" || seen[low] {
			continue
		}
		seen[low] = true
		t := ty.typeOf(p.doc, p.node, false)
		if t.kind == kNull {
			t = tJSON
		}
		fields = append(fields, field{name: p.name, t: t})
	}
	if len(fields) == 0 {
		return tJSON
	}
	return newStruct(fields)
}

// union is the type of anyOf/oneOf branches: their common type, else JSON.
func (ty *typer) union(branches []prop) *colType {
	var out *colType
	for _, b := range branches {
		t := ty.typeOf(b.doc, b.node, false)
		switch {
		case t.kind == kNull:
			continue
		case t.kind == kJSON:
			return tJSON
		case out == nil:
			out = t
		case !out.equal(t):
			if (out.kind == kBigint || out.kind == kHugeint) && t.kind == kDouble ||
				out.kind == kDouble && (t.kind == kBigint || t.kind == kHugeint) {
				out = tDouble
				continue
			}
			return tJSON
		}
	}
	if out == nil {
		return tNull
	}
	return out
}

func enumType(vals []*jnode) *colType {
	var out *colType
	for _, v := range vals {
		var t *colType
		switch v.kind {
		case 'z':
			continue
		case 's':
			t = tVarchar
		case 'b':
			t = tBool
		case 'n':
			x, ok := new(big.Float).SetString(v.num.String())
			switch {
			case !ok:
				return tJSON
			case x.IsInt():
				t = integerType(x, x)
			default:
				t = tDouble
			}
		default:
			return tJSON
		}
		switch {
		case out == nil:
			out = t
		case out.kind == t.kind:
		case isNumeric(out) && isNumeric(t):
			out = tDouble
		default:
			return tJSON
		}
	}
	if out == nil {
		return tNull
	}
	return out
}

func isNumeric(t *colType) bool {
	return t.kind == kBigint || t.kind == kHugeint || t.kind == kDouble
}

var (
	minInt64 = new(big.Float).SetInt64(math.MinInt64)
	maxInt64 = new(big.Float).SetInt64(math.MaxInt64)
	// DuckDB reads HUGEINT through Arrow's decimal128(38, 0).
	maxHuge, _ = new(big.Float).SetString("99999999999999999999999999999999999999")
	minHuge    = new(big.Float).Neg(maxHuge)
)

func integerType(min, max *big.Float) *colType {
	if (min == nil || min.Cmp(minInt64) >= 0) && (max == nil || max.Cmp(maxInt64) <= 0) {
		return tBigint
	}
	if (min == nil || min.Cmp(minHuge) >= 0) && (max == nil || max.Cmp(maxHuge) <= 0) {
		return tHugeint
	}
	return tJSON
}
