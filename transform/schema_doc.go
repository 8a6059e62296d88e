package transform

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// jnode is a decoded JSON value that keeps the order of object keys, so
// that a table's columns follow the order of the schema's properties.
type jnode struct {
	kind byte // 'o' object, 'a' array, 's' string, 'n' number, 'b' bool, 'z' null
	keys []string
	vals map[string]*jnode
	arr  []*jnode
	str  string
	num  json.Number
	b    bool
}

func parseJNode(data []byte) (*jnode, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	n, err := decodeJNode(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("unexpected data after the top-level value")
	}
	return n, nil
}

func decodeJNode(dec *json.Decoder) (*jnode, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch v := tok.(type) {
	case json.Delim:
		switch v {
		case '{':
			n := &jnode{kind: 'o', vals: map[string]*jnode{}}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k := kt.(string)
				c, err := decodeJNode(dec)
				if err != nil {
					return nil, err
				}
				if _, dup := n.vals[k]; !dup {
					n.keys = append(n.keys, k)
				}
				n.vals[k] = c
			}
			_, err := dec.Token()
			return n, err
		case '[':
			n := &jnode{kind: 'a'}
			for dec.More() {
				c, err := decodeJNode(dec)
				if err != nil {
					return nil, err
				}
				n.arr = append(n.arr, c)
			}
			_, err := dec.Token()
			return n, err
		}
	case string:
		return &jnode{kind: 's', str: v}, nil
	case json.Number:
		return &jnode{kind: 'n', num: v}, nil
	case bool:
		return &jnode{kind: 'b', b: v}, nil
	case nil:
		return &jnode{kind: 'z'}, nil
	}
	return nil, fmt.Errorf("unexpected token %v", tok)
}

// get returns the member k of an object node, or nil.
func (n *jnode) get(k string) *jnode {
	if n == nil || n.kind != 'o' {
		return nil
	}
	return n.vals[k]
}

// value returns the node as a plain Go value (json.Number for numbers).
func (n *jnode) value() any {
	switch n.kind {
	case 'o':
		m := make(map[string]any, len(n.keys))
		for _, k := range n.keys {
			m[k] = n.vals[k].value()
		}
		return m
	case 'a':
		a := make([]any, len(n.arr))
		for i, c := range n.arr {
			a[i] = c.value()
		}
		return a
	case 's':
		return n.str
	case 'n':
		return n.num
	case 'b':
		return n.b
	}
	return nil
}

// schemaDocs loads schema documents by absolute path and resolves $ref
// within and between local files. References it cannot follow (remote URLs,
// $id-relative names) resolve to nil; the type mapping then falls back to
// JSON, while gojsonschema still validates them.
type schemaDocs struct {
	docs map[string]*jnode
}

func newSchemaDocs() *schemaDocs { return &schemaDocs{docs: map[string]*jnode{}} }

func (d *schemaDocs) load(path string) (*jnode, error) {
	if n, ok := d.docs[path]; ok {
		return n, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	n, err := parseJNode(data)
	if err != nil {
		return nil, fmt.Errorf("%s is not valid JSON: %w", path, err)
	}
	d.docs[path] = n
	return n, nil
}

// resolve follows ref from the document at docPath; it returns the target
// node and the document it lives in, or nil if it cannot be followed.
func (d *schemaDocs) resolve(docPath, ref string) (string, *jnode) {
	file, frag, _ := strings.Cut(ref, "#")
	target := docPath
	if file != "" {
		u, err := url.Parse(file)
		if err != nil || (u.Scheme != "" && u.Scheme != "file") || u.Host != "" {
			return "", nil
		}
		p := u.Path
		if !filepath.IsAbs(p) {
			p = filepath.Join(filepath.Dir(docPath), p)
		}
		target = p
	}
	root, err := d.load(target)
	if err != nil {
		return "", nil
	}
	n := pointer(root, frag)
	if n == nil {
		return "", nil
	}
	return target, n
}

// pointer evaluates a JSON pointer fragment ("/definitions/user").
func pointer(root *jnode, frag string) *jnode {
	if f, err := url.PathUnescape(frag); err == nil {
		frag = f
	}
	if frag == "" {
		return root
	}
	if !strings.HasPrefix(frag, "/") {
		return nil // a plain-name fragment ($id anchor): not followed
	}
	n := root
	for _, tok := range strings.Split(frag[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch n.kind {
		case 'o':
			n = n.vals[tok]
		case 'a':
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(n.arr) {
				return nil
			}
			n = n.arr[i]
		default:
			return nil
		}
		if n == nil {
			return nil
		}
	}
	return n
}
