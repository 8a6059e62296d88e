package transform

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/xeipuuv/gojsonreference"
	"github.com/xeipuuv/gojsonschema"

	"github.com/rawland/rawland/config"
)

// A schema's $ref may name only files inside the config file's directory
// tree or a directory listed in transform.schema_ref_dirs, never the
// network (http, https, ftp, …) and never a file elsewhere (file:///etc/…,
// ../outside.json). Two gates enforce it: before a schema compiles, every
// $ref of every document it reaches is checked (a violation is a
// *config.Error naming the document and the $ref); and gojsonschema loads
// every referenced document through refLoader, which refuses what the
// policy refuses, so that no reference, however it was resolved ($id
// bases included), reaches the network or a file outside.

// refPolicy says which files a $ref may name.
type refPolicy struct {
	roots []string        // absolute, symlinks resolved
	files map[string]bool // single files allowed (the configured schema itself)
	// mirror maps URL prefixes to local directories (tests only: the
	// JSON-Schema test suite's remotes); nothing is fetched.
	mirror map[string]string
}

// errRefRefused marks a $ref the policy refuses.
var errRefRefused = errors.New("$ref refused")

const refHelp = "copy the referenced schema into the config's directory (or a directory listed in transform.schema_ref_dirs) and refer to it by a relative path"

// newRefPolicy allows the config's directory tree and schema_ref_dirs.
func newRefPolicy(cfg *config.Config) refPolicy {
	var p refPolicy
	p.allow(cfg.Dir)
	for _, d := range cfg.Transform.SchemaRefDirs {
		if !filepath.IsAbs(d) {
			d = filepath.Join(cfg.Dir, d)
		}
		p.allow(d)
	}
	return p
}

func (p *refPolicy) allow(dir string) {
	p.roots = append(p.roots, realPath(dir))
}

// realPath is path made absolute with its symlinks resolved (as far as
// they exist).
func realPath(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return filepath.Clean(path)
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		return r
	}
	if r, err := filepath.EvalSymlinks(filepath.Dir(abs)); err == nil {
		return filepath.Join(r, filepath.Base(abs))
	}
	return abs
}

// file checks that path is inside an allowed directory.
func (p refPolicy) file(path string) error {
	real := realPath(path)
	if p.files[real] {
		return nil
	}
	for _, root := range p.roots {
		if rel, err := filepath.Rel(root, real); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return nil
		}
	}
	return fmt.Errorf("%w: %s is outside the config's directory tree (%s); move it inside, or list its directory in transform.schema_ref_dirs",
		errRefRefused, real, strings.Join(p.roots, ", "))
}

// local returns the file a reference URL (fragment ignored) names, or an
// error if the policy refuses it. base resolves a relative path.
func (p refPolicy) local(u *url.URL, base string) (string, error) {
	s := u.String()
	for prefix, dir := range p.mirror {
		if rest, ok := strings.CutPrefix(s, prefix); ok {
			return filepath.Join(dir, filepath.FromSlash(rest)), nil
		}
	}
	switch {
	case u.Scheme == "" && u.Host == "":
		path := filepath.FromSlash(u.Path)
		if !filepath.IsAbs(path) {
			path = filepath.Join(filepath.Dir(base), path)
		}
		return path, p.file(path)
	case u.Scheme == "file" && (u.Host == "" || u.Host == "localhost"):
		path := filepath.FromSlash(u.Path)
		return path, p.file(path)
	case u.Scheme == "file":
		return "", fmt.Errorf("%w: a file URL on another host (%s); %s", errRefRefused, u.Host, refHelp)
	}
	return "", fmt.Errorf("%w: rawland never fetches schemas over the network (%s); %s", errRefRefused, u.Scheme, refHelp)
}

// metaSchemas are the meta-schema URLs gojsonschema serves from memory.
var metaSchemas = map[string]bool{
	"http://json-schema.org/draft-04/schema": true,
	"http://json-schema.org/draft-06/schema": true,
	"http://json-schema.org/draft-07/schema": true,
}

// checkRefs checks every $ref in the document at path and in every local
// document those reach; docs caches what it loads for the typer. A $ref
// resolves against the nearest $id, as gojsonschema resolves it; one that
// names an $id of the document itself is not a file.
func (p refPolicy) checkRefs(docs *schemaDocs, path string, seen map[string]bool) error {
	if seen[path] {
		return nil
	}
	seen[path] = true
	root, err := docs.load(path)
	if err != nil {
		return nil // gojsonschema reports a missing or broken document
	}
	type refAt struct {
		ref  string
		base *url.URL
	}
	ids := map[string]bool{}
	var refs []refAt
	var walk func(n *jnode, base *url.URL)
	walk = func(n *jnode, base *url.URL) {
		switch n.kind {
		case 'o':
			if id := n.get("$id"); id != nil && id.kind == 's' {
				if u, err := url.Parse(id.str); err == nil {
					base = base.ResolveReference(u)
					noFrag := *base
					noFrag.Fragment = ""
					ids[noFrag.String()] = true
				}
			}
			for _, k := range n.keys {
				if v := n.vals[k]; k == "$ref" && v.kind == 's' {
					refs = append(refs, refAt{v.str, base})
				} else {
					walk(v, base)
				}
			}
		case 'a':
			for _, e := range n.arr {
				walk(e, base)
			}
		}
	}
	walk(root, &url.URL{Scheme: "file", Path: filepath.ToSlash(path)})
	for _, r := range refs {
		u, err := url.Parse(r.ref)
		if err != nil {
			return fmt.Errorf("$ref %q in %s is not a valid reference: %v", r.ref, path, err)
		}
		abs := r.base.ResolveReference(u)
		abs.Fragment = ""
		if ids[abs.String()] || metaSchemas[abs.String()] || (abs.Scheme == "file" && abs.Path == filepath.ToSlash(path)) {
			continue
		}
		target, err := p.local(abs, "")
		if err != nil {
			return fmt.Errorf("$ref %q in %s: %w", r.ref, path, err)
		}
		if err := p.checkRefs(docs, target, seen); err != nil {
			return err
		}
	}
	return nil
}

// refLoader is the gojsonschema loader of every document a schema
// references: it reads only what refPolicy allows.
type refLoader struct {
	source string
	p      *refPolicy
}

var _ gojsonschema.JSONLoader = refLoader{}

func (l refLoader) JsonSource() any { return l.source }

func (l refLoader) JsonReference() (gojsonreference.JsonReference, error) {
	return gojsonreference.NewJsonReference(l.source)
}

func (l refLoader) LoaderFactory() gojsonschema.JSONLoaderFactory { return refLoaderFactory{l.p} }

func (l refLoader) LoadJSON() (any, error) {
	u, err := url.Parse(l.source)
	if err != nil {
		return nil, err
	}
	u.Fragment = ""
	if metaSchemas[u.String()] {
		// gojsonschema serves the meta-schemas from memory, without a request
		return gojsonschema.NewReferenceLoader(u.String()).LoadJSON()
	}
	path, err := l.p.local(u, "")
	if err != nil {
		return nil, fmt.Errorf("$ref %s: %w", l.source, err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%s is not valid JSON: %w", path, err)
	}
	return v, nil
}

type refLoaderFactory struct{ p *refPolicy }

func (f refLoaderFactory) New(source string) gojsonschema.JSONLoader {
	return refLoader{source: source, p: f.p}
}

// validateMeta validates a schema document against its draft's
// meta-schema (draft-07 unless $schema names draft-04 or -06), as
// gojsonschema's SchemaLoader.Validate would; that option compiles the
// meta-schema on the same pool and swaps in the default loader factory,
// which would let later $refs reach the network.
func validateMeta(doc *jnode) error {
	want := "http://json-schema.org/draft-07/schema"
	if sc := doc.get("$schema"); sc != nil && sc.kind == 's' {
		if u := strings.TrimSuffix(sc.str, "#"); metaSchemas[u] {
			want = u
		}
	}
	sl := gojsonschema.NewSchemaLoader()
	meta, err := sl.Compile(gojsonschema.NewReferenceLoader(want))
	if err != nil {
		return err
	}
	res, err := meta.Validate(gojsonschema.NewRawLoader(doc.value()))
	if err != nil {
		return err
	}
	if !res.Valid() {
		var msgs []string
		for _, e := range res.Errors() {
			msgs = append(msgs, e.String())
		}
		return errors.New(strings.Join(msgs, "; "))
	}
	return nil
}
