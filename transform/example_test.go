package transform_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/rawland/rawland/config"
	"github.com/rawland/rawland/transform"
)

// A stream's schema decides its table's columns.
func ExampleCompileSchemas() {
	dir, _ := os.MkdirTemp("", "rawland-example")
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "issues.json"), []byte(`{
	  "type": "object",
	  "properties": {
	    "id":         {"type": "integer"},
	    "title":      {"type": "string"},
	    "closed_at":  {"type": ["string", "null"], "format": "date-time"},
	    "due_on":     {"type": "string", "format": "date"},
	    "score":      {"type": "number"},
	    "user":       {"type": "object", "properties": {"login": {"type": "string"}}},
	    "labels":     {"type": "array", "items": {"type": "string"}},
	    "meta":       {"type": "object"}
	  }
	}`), 0o644)
	cfg, err := config.Parse(filepath.Join(dir, "rawland.yaml"), []byte(`
sources: {github: {base_url: "https://api.github.com"}}
streams:
  issues: {source: github, path: /issues, primary_key: [id], cursor: {field: closed_at, param: since}, schema: issues.json}
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	schemas, err := transform.CompileSchemas(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	s := schemas["issues"]
	for _, c := range append(s.Columns(), s.LineageColumns()...) {
		fmt.Printf("%-20s %s\n", c.Name, c.Type)
	}
	// Output:
	// id                   BIGINT
	// title                VARCHAR
	// closed_at            TIMESTAMPTZ
	// due_on               DATE
	// score                DOUBLE
	// user                 STRUCT("login" VARCHAR)
	// labels               VARCHAR[]
	// meta                 JSON
	// _rawland_extra       JSON
	// _rawland_run_id      VARCHAR
	// _rawland_landed_at   TIMESTAMPTZ
	// _rawland_deleted_at  TIMESTAMPTZ
	// _rawland_cursor      TIMESTAMPTZ
	// _rawland_hash        UBIGINT
}
