package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// TestSchemaRefRefusedExit2: a schema $ref to the network or to a file
// outside the config's directory is a config error (exit 2) that names the
// schema file and the $ref, for every command that loads the config, and
// no request reaches the server the $ref names.
func TestSchemaRefRefusedExit2(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte(`{"type": "integer"}`))
	}))
	defer srv.Close()
	for _, ref := range []string{srv.URL + "/s.json", "file:///etc/passwd", "../../outside.json"} {
		for _, cmd := range []string{"status", "transform"} {
			t.Run(ref+"/"+cmd, func(t *testing.T) {
				dir := t.TempDir()
				schema := `{"type": "object", "properties": {"id": {"type": "integer"}, "v": {"$ref": "` + ref + `"}}}`
				os.MkdirAll(filepath.Join(dir, "schemas"), 0o755)
				os.WriteFile(filepath.Join(dir, "schemas", "items.json"), []byte(schema), 0o644)
				os.WriteFile(filepath.Join(dir, "rawland.yaml"), []byte(`
sources:
  api: {base_url: "http://127.0.0.1:1"}
streams:
  items: {source: api, path: /items, primary_key: [id], schema: schemas/items.json}
`), 0o644)
				code, out, errOut := rawland(t, dir, cmd)
				if code != exitUsage {
					t.Fatalf("exit %d, want 2\n%s%s", code, out, errOut)
				}
				for _, want := range []string{"items.json", ref, "$ref"} {
					if !strings.Contains(errOut, want) {
						t.Errorf("stderr does not mention %q:\n%s", want, errOut)
					}
				}
				if n := hits.Load(); n != 0 {
					t.Fatalf("%d requests reached the server", n)
				}
			})
		}
	}
}
