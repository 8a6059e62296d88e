package transform

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strings"

	"github.com/rawland/rawland/config"
)

// tableName is the stream's table, quoted.
func tableName(stream string) string { return "main." + quoteIdent(stream) }

// tableColumns are the stream table's columns as the schema wants them:
// data columns, then lineage.
func (s *Schema) tableColumns() []field {
	out := append([]field(nil), s.root.fields...)
	return append(out,
		field{ColExtra, tJSON}, field{ColRunID, tVarchar}, field{ColLandedAt, tTimestamp},
		field{ColDeletedAt, tTimestamp}, field{ColCursor, s.cursor}, field{ColHash, &colType{kind: kOther, other: "UBIGINT"}})
}

// ensureTable creates the stream's table or evolves it to the schema:
// properties new to the schema become new columns; a column whose type the
// schema widened (struct fields added, BIGINT → HUGEINT or DOUBLE,
// anything → JSON) is altered in place. Any other type change is a
// *config.Error and nothing is altered. Columns the schema no longer has
// stay (NULL in new rows; their values land in _rawland_extra).
func ensureTable(ctx context.Context, tx *sql.Tx, s *Schema, warehousePath string, log *slog.Logger) error {
	existing, err := tableColumnTypes(ctx, tx, s.Stream)
	if err != nil {
		return err
	}
	want := s.tableColumns()
	if existing == nil {
		defs := make([]string, len(want))
		for i, f := range want {
			defs[i] = quoteIdent(f.name) + " " + f.t.DDL()
		}
		q := "CREATE TABLE " + tableName(s.Stream) + " (\n  " + strings.Join(defs, ",\n  ") + "\n)"
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("create table %s: %w", s.Stream, err)
		}
		return useTableHash(ctx, tx, s, true)
	}
	if err := useTableHash(ctx, tx, s, false); err != nil {
		return err
	}
	var alters, problems []string
	for _, f := range want {
		old, ok := existing[strings.ToLower(f.name)]
		if !ok {
			alters = append(alters, fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s %s", tableName(s.Stream), quoteIdent(f.name), f.t.DDL()))
			continue
		}
		if old.equal(f.t) {
			continue
		}
		if old.kind == kDouble && f.t.kind == kKeyDecimal {
			problems = append(problems, fmt.Sprintf("primary key column %s is DOUBLE in the warehouse, which merges distinct keys beyond 2^53 into one row; "+
				"rawland now types number keys %s: rebuild the table (`rawland transform --rebuild %s`) to load every key exactly", quoteIdent(f.name), f.t.DDL(), s.Stream))
			continue
		}
		if !widens(old, f.t, true) {
			problems = append(problems, fmt.Sprintf("column %s is %s in the warehouse but the schema now makes it %s", quoteIdent(f.name), old.DDL(), f.t.DDL()))
			continue
		}
		using := ""
		if f.t.kind == kJSON {
			using = " USING to_json(" + quoteIdent(f.name) + ")"
		}
		alters = append(alters, fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s SET DATA TYPE %s%s", tableName(s.Stream), quoteIdent(f.name), f.t.DDL(), using))
	}
	if len(problems) > 0 {
		return &config.Error{File: s.Path, Msg: fmt.Sprintf(
			"stream %s: %s. rawland only widens columns in place (new properties, new struct fields, BIGINT → HUGEINT/DOUBLE, anything → JSON); "+
				"nothing was changed. Either rename the old column in the working database while no rawland runs (duckdb %s \"ALTER TABLE %s RENAME COLUMN … TO …_old\") so that the next transform adds it anew, "+
				"or rebuild the table from the raw landing with `rawland transform --rebuild %s`",
			s.Stream, strings.Join(problems, "; "), warehousePath, s.Stream, s.Stream)}
	}
	for _, q := range alters {
		if log != nil {
			log.Info("evolve table", KeyStream, s.Stream, "ddl", q)
		}
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("evolve table %s: %s: %w", s.Stream, q, err)
		}
	}
	return nil
}

// tableColumnTypes returns the stream table's columns by lower-case name,
// or nil if the table does not exist.
func tableColumnTypes(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, stream string) (map[string]*colType, error) {
	rows, err := q.QueryContext(ctx, `SELECT column_name, data_type FROM duckdb_columns()
		WHERE database_name = current_database() AND schema_name = 'main' AND lower(table_name) = lower(?)`, stream)
	if err != nil {
		return nil, fmt.Errorf("read columns of %s: %w", stream, err)
	}
	defer rows.Close()
	var out map[string]*colType
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			return nil, err
		}
		if out == nil {
			out = map[string]*colType{}
		}
		t, rest := parseDuckType(typ)
		if rest != "" {
			t = &colType{kind: kOther, other: typ}
		}
		out[strings.ToLower(name)] = t
	}
	return out, rows.Err()
}

// widens reports whether every value of type old can be cast to type
// new without loss. top says a whole column (cast to JSON with to_json).
func widens(old, new *colType, top bool) bool {
	if old.equal(new) {
		return true
	}
	switch new.kind {
	case kJSON:
		// a nested VARCHAR → JSON cast would parse the string as JSON
		return top || old.kind == kStruct || old.kind == kList || isNumeric(old) || old.kind == kBool
	case kHugeint:
		return old.kind == kBigint
	case kKeyDecimal:
		return old.kind == kBigint // 19 digits fit 28
	case kDouble:
		return old.kind == kBigint || old.kind == kHugeint
	case kList:
		return old.kind == kList && widens(old.elem, new.elem, false)
	case kStruct:
		if old.kind != kStruct {
			return false
		}
		for _, f := range old.fields {
			i, ok := new.index[f.name]
			if !ok || !widens(f.t, new.fields[i].t, false) {
				return false
			}
		}
		return true
	}
	return false
}

// parseDuckType parses a type as duckdb_columns() prints it (VARCHAR,
// STRUCT(a BIGINT, "b c" VARCHAR[]), TIMESTAMP WITH TIME ZONE, …) and
// returns what is left unparsed.
func parseDuckType(s string) (*colType, string) {
	var t *colType
	if rest, ok := strings.CutPrefix(s, "STRUCT("); ok {
		var fields []field
		for {
			var name string
			name, rest = parseIdent(rest)
			rest = strings.TrimPrefix(rest, " ")
			var ft *colType
			ft, rest = parseDuckType(rest)
			fields = append(fields, field{name: name, t: ft})
			if r, ok := strings.CutPrefix(rest, ", "); ok {
				rest = r
				continue
			}
			if r, ok := strings.CutPrefix(rest, ")"); ok {
				rest = r
				break
			}
			return &colType{kind: kOther, other: s}, "?"
		}
		t, s = newStruct(fields), rest
	} else {
		end := len(s)
		depth := 0
	scan:
		for i, r := range s {
			switch r {
			case '(':
				depth++
			case ')':
				if depth == 0 {
					end = i
					break scan
				}
				depth--
			case ',', '[':
				if depth == 0 {
					end = i
					break scan
				}
			}
		}
		name := s[:end]
		s = s[end:]
		switch name {
		case "VARCHAR":
			t = tVarchar
		case "BOOLEAN":
			t = tBool
		case "BIGINT":
			t = tBigint
		case "HUGEINT":
			t = tHugeint
		case "DOUBLE":
			t = tDouble
		case tKeyDecimal.DDL():
			t = tKeyDecimal
		case "TIMESTAMP WITH TIME ZONE":
			t = tTimestamp
		case "DATE":
			t = tDate
		case "JSON":
			t = tJSON
		default:
			t = &colType{kind: kOther, other: name}
		}
	}
	for strings.HasPrefix(s, "[]") {
		t, s = &colType{kind: kList, elem: t}, s[2:]
	}
	return t, s
}

// parseIdent reads a struct field name, bare or double-quoted.
func parseIdent(s string) (string, string) {
	if !strings.HasPrefix(s, `"`) {
		i := strings.IndexByte(s, ' ')
		if i < 0 {
			return s, ""
		}
		return s[:i], s[i:]
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		if s[i] == '"' {
			if i+1 < len(s) && s[i+1] == '"' {
				b.WriteByte('"')
				i++
				continue
			}
			return b.String(), s[i+1:]
		}
		b.WriteByte(s[i])
	}
	return b.String(), ""
}
