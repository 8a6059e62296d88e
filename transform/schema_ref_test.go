package transform

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/rawland/rawland/config"
)

// TestSchemaRefs: a $ref may name files inside the config's directory tree
// (or transform.schema_ref_dirs), never the network and never a file
// elsewhere; a refused $ref is a config error naming the schema file and
// the $ref, and no request reaches the server it names.
func TestSchemaRefs(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte(`{"type": "integer"}`))
	}))
	defer srv.Close()
	obj := func(ref string) string {
		return `{"type": "object", "properties": {"id": {"type": "integer"}, "v": {"$ref": "` + ref + `"}}}`
	}
	cases := []struct {
		name    string
		schema  string
		refDirs string // transform.schema_ref_dirs (YAML list)
		want    string // "" = compiles; else the error mentions it
	}{
		{"relative file inside the tree", obj("defs/int.json"), "", ""},
		{"relative file with a fragment", obj("defs/int.json#/definitions/x"), "", ""},
		{"fragment in the same file", `{"type": "object", "definitions": {"x": {"type": "string"}}, "properties": {"id": {"type": "integer"}, "v": {"$ref": "#/definitions/x"}}}`, "", ""},
		{"a file in the tree that refers outside", obj("defs/leak.json"), "", "outside the config's directory tree"},
		{"../../outside.json", obj("../../outside.json"), "", "outside the config's directory tree"},
		{"../../outside.json in schema_ref_dirs", obj("../../outside.json"), "[..]", ""},
		{"file:///etc/passwd", obj("file:///etc/passwd"), "", "outside the config's directory tree"},
		{"absolute path /etc/passwd", obj("/etc/passwd"), "", "outside the config's directory tree"},
		{"symlink inside pointing outside", obj("defs/link.json"), "", "outside the config's directory tree"},
		{"http on loopback", obj(srv.URL + "/s.json"), "", "never fetches schemas over the network"},
		{"https", obj("https://example.com/s.json"), "", "never fetches schemas over the network"},
		{"ftp", obj("ftp://example.com/s.json"), "", "never fetches schemas over the network"},
		{"file URL on another host", obj("file://example.com/etc/passwd"), "", "another host"},
		{"relative ref under an http $id", `{"$id": "` + srv.URL + `/root.json", "type": "object", "properties": {"id": {"type": "integer"}, "v": {"$ref": "s.json"}}}`, "", "never fetches schemas over the network"},
		{"a ref to the schema's own http $id", `{"$id": "` + srv.URL + `/root.json", "type": "object", "definitions": {"x": {"type": "string"}}, "properties": {"id": {"type": "integer"}, "v": {"$ref": "` + srv.URL + `/root.json#/definitions/x"}}}`, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			top := t.TempDir()
			dir := filepath.Join(top, "cfg")
			writeFile(t, filepath.Join(top, "outside.json"), `{"type": "integer"}`)
			writeFile(t, filepath.Join(dir, "schemas", "defs", "int.json"), `{"type": "integer", "definitions": {"x": {"type": "string"}}}`)
			writeFile(t, filepath.Join(dir, "schemas", "defs", "leak.json"), `{"$ref": "../../../outside.json"}`)
			if err := os.Symlink(filepath.Join(top, "outside.json"), filepath.Join(dir, "schemas", "defs", "link.json")); err != nil {
				t.Fatal(err)
			}
			schemaPath := filepath.Join(dir, "schemas", "s.json")
			writeFile(t, schemaPath, c.schema)
			y := "data_dir: data\nsources:\n  up: {base_url: \"http://127.0.0.1:1\"}\nstreams:\n  s:\n    source: up\n    path: /s\n    primary_key: [id]\n    schema: schemas/s.json\n"
			if c.refDirs != "" {
				y += "transform:\n  schema_ref_dirs: " + c.refDirs + "\n"
			}
			writeFile(t, filepath.Join(dir, "rawland.yaml"), y)
			cfg, err := config.Load(filepath.Join(dir, "rawland.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			_, err = CompileSchemas(cfg)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.want != "":
				if err == nil {
					t.Fatal("compiled; want it refused")
				}
				msg := err.Error()
				if !errors.Is(err, config.ErrInvalid) || !strings.Contains(msg, c.want) || !strings.Contains(msg, "s.json") || !strings.Contains(msg, "$ref") {
					t.Errorf("error %q; want a config error naming the schema file, the $ref and %q", msg, c.want)
				}
			}
			if n := hits.Load(); n != 0 {
				t.Fatalf("%d requests reached the server", n)
			}
		})
	}
}
