package transform

import (
	"fmt"
	"slices"
	"strings"
)

// kind is a DuckDB column type family.
type kind uint8

const (
	kJSON kind = iota // open or mixed values, kept as JSON text
	kNull             // a schema that only allows null; stored as JSON
	kVarchar
	kBool
	kBigint
	kHugeint
	kDouble
	kTimestamp // TIMESTAMPTZ, from format: date-time
	kDate
	kKeyDecimal // DECIMAL(38,10): number primary keys (pkdecimal.go)
	kStruct
	kList
	kOther // a type rawland does not create (read back from a table)
)

// colType is the DuckDB type derived from a (sub)schema.
//
// The mapping (issue 4, item 2): string → VARCHAR; format date-time →
// TIMESTAMPTZ; format date → DATE; integer → BIGINT, or HUGEINT when the
// schema's minimum/maximum exceed BIGINT (JSON beyond HUGEINT); number (or
// integer|number) → DOUBLE; boolean → BOOLEAN; ["T","null"] → the type of T
// (every column is nullable); an object with properties → STRUCT of them;
// an object without properties (open) → JSON; an array whose items have one
// typed schema → LIST of it; open, tuple or mixed items → JSON; anything
// else (no type, several types, oneOf/anyOf of different types) → JSON.
// A primary-key column that would be DOUBLE is DECIMAL(38,10) (issue 8).
type colType struct {
	kind   kind
	fields []field        // kStruct, in schema order
	index  map[string]int // kStruct: field name → position
	byName []int          // kStruct: field positions in name order (the content hash's order)
	ckeys  [][]byte       // kStruct: each field's name in the content hash's encoding (appendCanonStr 'k')
	elem   *colType       // kList
	other  string         // kOther: DuckDB's name for it
}

type field struct {
	name string
	t    *colType
}

var (
	tJSON      = &colType{kind: kJSON}
	tNull      = &colType{kind: kNull}
	tVarchar   = &colType{kind: kVarchar}
	tBool      = &colType{kind: kBool}
	tBigint    = &colType{kind: kBigint}
	tHugeint   = &colType{kind: kHugeint}
	tDouble    = &colType{kind: kDouble}
	tTimestamp = &colType{kind: kTimestamp}
	tDate      = &colType{kind: kDate}
	// tKeyDecimal is a number primary key's type.
	tKeyDecimal = &colType{kind: kKeyDecimal}
)

func newStruct(fields []field) *colType {
	t := &colType{kind: kStruct, fields: fields, index: make(map[string]int, len(fields))}
	for i, f := range fields {
		t.index[f.name] = i
		t.byName = append(t.byName, i)
		t.ckeys = append(t.ckeys, appendCanonStr(nil, 'k', f.name))
	}
	slices.SortFunc(t.byName, func(a, b int) int { return strings.Compare(fields[a].name, fields[b].name) })
	return t
}

// DDL is the DuckDB type as written in CREATE TABLE.
func (t *colType) DDL() string {
	switch t.kind {
	case kVarchar:
		return "VARCHAR"
	case kBool:
		return "BOOLEAN"
	case kBigint:
		return "BIGINT"
	case kHugeint:
		return "HUGEINT"
	case kDouble:
		return "DOUBLE"
	case kTimestamp:
		return "TIMESTAMPTZ"
	case kDate:
		return "DATE"
	case kKeyDecimal:
		return fmt.Sprintf("DECIMAL(%d,%d)", keyDecimalWidth, keyDecimalScale)
	case kStruct:
		var b strings.Builder
		b.WriteString("STRUCT(")
		for i, f := range t.fields {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(quoteIdent(f.name))
			b.WriteByte(' ')
			b.WriteString(f.t.DDL())
		}
		b.WriteByte(')')
		return b.String()
	case kList:
		return t.elem.DDL() + "[]"
	case kOther:
		return t.other
	}
	return "JSON"
}

func (t *colType) equal(o *colType) bool { return t.DDL() == o.DDL() }

// quoteIdent quotes a DuckDB identifier.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// quoteString quotes a DuckDB string literal.
func quoteString(s string) string { return `'` + strings.ReplaceAll(s, `'`, `''`) + `'` }

// ReadJSONColumns is the columns argument of DuckDB's read_json that
// types a stream's landed records as the stream's table types them (its
// schema's fields, without rawland's own columns): the bench's durable
// baseline, DuckDB typing and storing the same values itself.
func (s *Schema) ReadJSONColumns() string {
	defs := make([]string, len(s.root.fields))
	for i, f := range s.root.fields {
		defs[i] = quoteString(f.name) + ": " + quoteString(f.t.DDL())
	}
	return "{" + strings.Join(defs, ", ") + "}"
}
