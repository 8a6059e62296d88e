package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// Error is a configuration problem at a place in the config file. Every
// Error is a usage error: the command exits 2 and changes nothing.
type Error struct {
	File string // config file
	Line int    // 1-based line, 0 if unknown
	Key  string // dotted key, e.g. streams.issues.pagination.type
	Msg  string // what is wrong and what to do
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ErrInvalid matches every *Error with errors.Is.
var ErrInvalid = errors.New("invalid config")

// Is makes errors.Is(err, ErrInvalid) true for config errors.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

// Load reads, decodes and validates the config at path. Relative paths
// inside it (schemas) resolve against the file's directory.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, &Error{File: path, Msg: "config file not found: create it (see the README's config reference) or pass --config FILE"}
		}
		return nil, &Error{File: path, Msg: fmt.Sprintf("read config: %v", err)}
	}
	return Parse(path, data)
}

var yamlLine = regexp.MustCompile(`line (\d+): `)

// Parse decodes and validates config bytes; name is used in errors and to
// resolve relative paths.
func Parse(name string, data []byte) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, yamlError(name, err)
	}
	if len(root.Content) == 0 {
		return nil, &Error{File: name, Line: 1, Msg: "config is empty: it needs at least sources: and streams:"}
	}
	cfg := &Config{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		if b := locate(root.Content[0], reflect.TypeFor[Config](), ""); b != nil {
			return nil, &Error{File: name, Line: b.line, Key: b.key, Msg: b.msg}
		}
		ce := yamlError(name, err).(*Error)
		ce.Key = keyAtLine(root.Content[0], ce.Line, "")
		return nil, ce
	}
	cfg.Path = name
	cfg.Dir = filepath.Dir(name)
	v := &validator{file: name, root: root.Content[0], cfg: cfg}
	v.validate()
	if len(v.errs) > 0 {
		return nil, v.errs[0]
	}
	return cfg, nil
}

// yamlError turns a yaml.v3 error into an *Error with the line it names.
func yamlError(file string, err error) error {
	msg := err.Error()
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	line := 0
	if m := yamlLine.FindStringSubmatchIndex(msg); m != nil {
		fmt.Sscanf(msg[m[2]:m[3]], "%d", &line)
		msg = msg[:m[0]] + msg[m[1]:]
	}
	msg = strings.Replace(msg, "not found in type config.", "is not a known key in ", 1)
	msg = strings.ReplaceAll(msg, "config.", "")
	return &Error{File: file, Line: line, Msg: msg + " (see the README's config reference)"}
}

// keyAtLine returns the dotted path of the deepest mapping key on line.
func keyAtLine(n *yaml.Node, line int, prefix string) string {
	if n == nil || line == 0 {
		return ""
	}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			path := k.Value
			if prefix != "" {
				path = prefix + "." + k.Value
			}
			if deeper := keyAtLine(v, line, path); deeper != "" {
				return deeper
			}
			if k.Line == line {
				return path
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			if d := keyAtLine(c, line, fmt.Sprintf("%s[%d]", prefix, i)); d != "" {
				return d
			}
		}
	}
	return ""
}

// lineOf returns the line of the node at the dotted key path (mapping keys
// only), or of the nearest ancestor that exists.
func lineOf(root *yaml.Node, keys ...string) int {
	n, line := root, root.Line
	for _, k := range keys {
		if n.Kind != yaml.MappingNode {
			return line
		}
		found := false
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				line = n.Content[i].Line
				n = n.Content[i+1]
				found = true
				break
			}
		}
		if !found {
			return line
		}
	}
	return line
}
