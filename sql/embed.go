// Package sqlfiles ships rawland's DuckDB SQL: the views transform creates
// in the warehouse (one CREATE OR REPLACE VIEW per *.sql file in this
// directory, applied in file-name order) and example queries for analysts
// (examples/*.sql, first line a "-- title" comment).
//
// The views read only rawland's own tables (rawland.runs,
// rawland.transformed, rawland.quarantine, rawland.drift), so they work for
// any set of streams.
package sqlfiles

import (
	"embed"
	"io/fs"
	"sort"
	"strings"
)

//go:embed *.sql examples/*.sql
var files embed.FS

// File is one shipped SQL file.
type File struct {
	Name  string // file name without .sql, e.g. "freshness"
	Title string // the first line's "-- " comment
	SQL   string
}

// Views returns the view definitions in the order transform applies them.
func Views() []File { return read(".") }

// Examples returns the example queries.
func Examples() []File { return read("examples") }

func read(dir string) []File {
	ents, err := fs.ReadDir(files, dir)
	if err != nil {
		panic(err) // embedded at build time: cannot fail
	}
	var out []File
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		data, err := fs.ReadFile(files, strings.TrimPrefix(dir+"/"+e.Name(), "./"))
		if err != nil {
			panic(err)
		}
		s := string(data)
		first, _, _ := strings.Cut(s, "\n")
		out = append(out, File{Name: strings.TrimSuffix(e.Name(), ".sql"), Title: strings.TrimSpace(strings.TrimPrefix(first, "--")), SQL: s})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
