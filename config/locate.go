package config

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// badNode is the first place in the config file, in document order, whose
// value does not decode into its field of Config: an unknown or duplicate
// key, or a value of the wrong type.
type badNode struct {
	key  string // dotted path, e.g. sources.api.concurrency
	line int
	msg  string
}

var unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()

// locate walks the YAML tree alongside the Go type it decodes into and
// returns the first node that does not fit. yaml.v3 reports only a line,
// and a one-line flow mapping ({base_url: …, concurrency: abc}) holds many
// keys on one line; walking the tree names the exact key.
func locate(n *yaml.Node, t reflect.Type, path string) *badNode {
	if n.Kind == yaml.AliasNode {
		// not followed: an alias may point at its own ancestor or expand
		// exponentially (yaml.v3 refuses both when decoding; the walk
		// must not hang on them either)
		return nil
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil // null decodes to the zero value of anything
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return leaf(n, t, path)
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return mismatch(n, t, path)
		}
		return locateMapping(n, path, func(key string) (reflect.Type, []string, bool) {
			names := yamlFields(t)
			ft, ok := names[key]
			return ft, sortedKeys(names), ok
		})
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return mismatch(n, t, path)
		}
		return locateMapping(n, path, func(string) (reflect.Type, []string, bool) { return t.Elem(), nil, true })
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return mismatch(n, t, path)
		}
		for i, c := range n.Content {
			if b := locate(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); b != nil {
				return b
			}
		}
		return nil
	}
	return leaf(n, t, path)
}

// locateMapping checks a mapping's keys (unknown, duplicate) and values;
// field returns the type a key's value decodes into, the valid keys (for
// the message) and whether the key is known.
func locateMapping(n *yaml.Node, path string, field func(string) (reflect.Type, []string, bool)) *badNode {
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Value == "<<" && k.Tag == "!!merge" {
			continue // merged mappings: yaml.v3 reports them as a whole
		}
		p := join(path, k.Value)
		if first, dup := seen[k.Value]; dup {
			return &badNode{key: p, line: k.Line, msg: fmt.Sprintf("duplicate key %q (first at line %d): keep one", k.Value, first)}
		}
		seen[k.Value] = k.Line
		ft, valid, ok := field(k.Value)
		if !ok {
			return &badNode{key: p, line: k.Line, msg: fmt.Sprintf("unknown key %q: valid keys here are %s (see the README's config reference)", k.Value, strings.Join(valid, ", "))}
		}
		if b := locate(val, ft, p); b != nil {
			return b
		}
	}
	return nil
}

// leaf decodes n alone into a fresh t and reports what fails.
func leaf(n *yaml.Node, t reflect.Type, path string) *badNode {
	err := n.Decode(reflect.New(t).Interface())
	if err == nil {
		return nil
	}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return mismatch(n, t, path)
	}
	msg := err.Error()
	if m := yamlLine.FindStringSubmatchIndex(msg); m != nil && m[0] == 0 {
		msg = msg[m[1]:]
	}
	return &badNode{key: path, line: n.Line, msg: msg}
}

// mismatch says what the key wants and what it got.
func mismatch(n *yaml.Node, t reflect.Type, path string) *badNode {
	got := kindName(n)
	if n.Kind == yaml.ScalarNode {
		got = fmt.Sprintf("%q", n.Value)
	}
	return &badNode{key: path, line: n.Line, msg: fmt.Sprintf("want %s, got %s", want(t), got)}
}

func want(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a single value (quote it if it contains : or starts with { [ * &)"
	case reflect.Slice:
		return "a list, e.g. [a, b]"
	case reflect.Map, reflect.Struct:
		return "a mapping (key: value, or {key: value})"
	}
	return "a " + t.String()
}

// yamlFields maps a struct's yaml keys to their field types.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for f := range slices.Values(reflect.VisibleFields(t)) {
		tag := f.Tag.Get("yaml")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
	}
	return out
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
