package transform

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/xeipuuv/gojsonschema"

	"github.com/rawland/rawland/config"
)

// Schema is a stream's compiled JSON Schema and the table it maps to. It
// is immutable and safe for concurrent use.
type Schema struct {
	// Stream is the stream the schema belongs to.
	Stream string
	// Path is the schema file.
	Path string

	validator  *gojsonschema.Schema
	fast       *fastValidator // nil: every record goes through gojsonschema (fastWhy says why)
	fastWhy    error
	root       *colType // the record; for streams a STRUCT whose fields are the columns
	pk         []int    // positions of the primary-key columns in root.fields
	cursor     *colType // type of _rawland_cursor
	cursorPath []string // the cursor field (dotted); nil without a cursor
	// shaHash: the stream's table holds SHA-256 content hashes (a table
	// rawland created before it hashed with xxHash; see hash.go)
	shaHash bool
}

// Column is one column of a stream's table.
type Column struct {
	Name string `json:"name"`
	Type string `json:"type"` // DuckDB type, e.g. TIMESTAMPTZ, STRUCT("login" VARCHAR, ...)
}

// Columns returns the table's data columns in schema order; the lineage
// columns (LineageColumns) follow them in the table.
func (s *Schema) Columns() []Column {
	out := make([]Column, len(s.root.fields))
	for i, f := range s.root.fields {
		out[i] = Column{Name: f.name, Type: f.t.DDL()}
	}
	return out
}

// Lineage and bookkeeping columns every stream table has after its data
// columns.
const (
	ColExtra     = "_rawland_extra"      // JSON: fields the schema does not describe, by path
	ColRunID     = "_rawland_run_id"     // the run that landed this version
	ColLandedAt  = "_rawland_landed_at"  // when that run committed
	ColDeletedAt = "_rawland_deleted_at" // set by reconcile when the record is gone upstream
	ColCursor    = "_rawland_cursor"     // the version's cursor field value, typed
	ColHash      = "_rawland_hash"       // hash of the record's content (change detection)
)

// LineageColumns are the columns rawland adds to every stream table.
func (s *Schema) LineageColumns() []Column {
	return []Column{
		{ColExtra, "JSON"}, {ColRunID, "VARCHAR"}, {ColLandedAt, "TIMESTAMPTZ"},
		{ColDeletedAt, "TIMESTAMPTZ"}, {ColCursor, s.cursor.DDL()}, {ColHash, "UBIGINT"},
	}
}

// PrimaryKey returns the primary-key column names.
func (s *Schema) PrimaryKey() []string {
	out := make([]string, len(s.pk))
	for i, p := range s.pk {
		out[i] = s.root.fields[p].name
	}
	return out
}

// CompileSchemas compiles every configured stream's schema once. A schema
// that does not compile, or that cannot hold the stream's primary key, is
// a *config.Error (errors.Is config.ErrInvalid: exit 2) naming the file.
// Streams without a schema (config.Stream.HasSchema false) are left out:
// Run and ReplayQuarantine report them as needing one (ErrNoSchema).
func CompileSchemas(cfg *config.Config) (map[string]*Schema, error) {
	out := map[string]*Schema{}
	var errs []error
	for _, name := range cfg.StreamNames() {
		if !cfg.Streams[name].HasSchema() {
			continue // ingested but not transformed until a schema exists
		}
		s, err := compileStream(cfg, cfg.Streams[name])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out[name] = s
	}
	return out, errors.Join(errs...)
}

func compileStream(cfg *config.Config, st *config.Stream) (*Schema, error) {
	path := st.SchemaPath
	if path == "" {
		path = st.Schema
		if !filepath.IsAbs(path) {
			path = filepath.Join(cfg.Dir, path)
		}
	}
	s, err := loadSchema(path, true, newRefPolicy(cfg))
	if err != nil {
		// name the config key and line too, on one line
		return nil, &config.Error{File: cfg.Path, Line: st.SchemaLine, Key: "streams." + st.Name + ".schema",
			Msg: strings.Join(strings.Fields(err.Error()), " ")}
	}
	s.Stream = st.Name
	keyErr := func(key, format string, args ...any) error {
		return &config.Error{File: cfg.Path, Line: st.Line, Key: "streams." + st.Name + "." + key, Msg: fmt.Sprintf(format, args...)}
	}
	// Columns may not shadow rawland's own; such properties land in _rawland_extra.
	var fields []field
	for _, f := range s.root.fields {
		if !strings.HasPrefix(strings.ToLower(f.name), "_rawland_") {
			fields = append(fields, f)
		}
	}
	s.root = newStruct(fields)
	for _, k := range st.PrimaryKey {
		i, ok := s.root.index[k]
		if !ok {
			return nil, keyErr("primary_key", "primary key field %q is not a property of %s: add it to the schema's properties", k, path)
		}
		switch s.root.fields[i].t.kind {
		case kStruct, kList, kJSON, kNull:
			return nil, keyErr("primary_key", "primary key field %q maps to %s in %s: a key must be a string, integer, number, boolean or date", k, s.root.fields[i].t.DDL(), path)
		}
		s.root.fields[i].t = keyType(s.root.fields[i].t)
		s.pk = append(s.pk, i)
	}
	if st.Cursor != nil && st.Cursor.Field != "" {
		s.cursorPath = config.SplitPath(st.Cursor.Field) // a backslash escapes a dot, as in ingest
		s.cursor = tVarchar
		t := s.root
		for _, seg := range s.cursorPath {
			i, ok := t.index[seg]
			if t.kind != kStruct || !ok {
				t = nil
				break
			}
			t = t.fields[i].t
		}
		if t != nil {
			switch t.kind {
			case kTimestamp, kDate, kBigint, kHugeint, kDouble, kKeyDecimal, kVarchar:
				s.cursor = t
			}
		}
	}
	return s, nil
}

// loadSchema compiles the schema file at path for validation and derives
// its type. record says the root must be an object (a stream's record).
// Its $refs may name only files policy allows (schema_ref.go).
func loadSchema(path string, record bool, policy refPolicy) (*Schema, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, &config.Error{File: path, Msg: err.Error()}
	}
	docs := newSchemaDocs()
	root, err := docs.load(abs)
	if err != nil {
		return nil, &config.Error{File: path, Msg: fmt.Sprintf("read schema: %v", err)}
	}
	policy.files = map[string]bool{realPath(abs): true} // the schema itself, wherever the config puts it
	if err := policy.checkRefs(docs, abs, map[string]bool{}); err != nil {
		return nil, &config.Error{File: path, Msg: err.Error()}
	}
	sl := gojsonschema.NewSchemaLoader()
	sl.Draft = gojsonschema.Draft7
	sl.Validate = false // validateMeta does it: see there
	if err := validateMeta(root); err != nil {
		return nil, &config.Error{File: path, Msg: fmt.Sprintf("schema does not compile (JSON Schema draft-07): %v: fix the schema file", err)}
	}
	v, err := sl.Compile(refLoader{source: "file://" + filepath.ToSlash(abs), p: &policy})
	if err != nil {
		return nil, &config.Error{File: path, Msg: fmt.Sprintf("schema does not compile (JSON Schema draft-07): %v: fix the schema file", err)}
	}
	s := &Schema{Path: path, validator: v, cursor: tVarchar}
	s.fast, s.fastWhy = compileFast(docs, abs, root)
	s.root = newTyper(docs).typeOf(abs, root, record)
	if record && s.root.kind != kStruct {
		return nil, &config.Error{File: path, Msg: `the schema must describe the record as an object with properties ("type": "object", "properties": {...}); rawland makes one column per property`}
	}
	return s, nil
}
