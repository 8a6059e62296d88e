package main

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/rawland/rawland/config"
)

// docsText is the README and every page under docs/.
func docsText(t *testing.T) string {
	t.Helper()
	files, _ := filepath.Glob("../../docs/*.md")
	files = append(files, "../../README.md")
	var b strings.Builder
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(data)
		b.WriteByte('\n')
	}
	return b.String()
}

// subcommands are the first arguments that select a command's own flag set.
var subcommands = map[string][]string{"dlq": {"list", "replay"}, "quarantine": {"list", "replay"}, "schema": {"draft"}}

// TestEveryCommandFlagAndKeyIsDocumented fails when a command, one of its
// flags or a rawland.yaml key is missing from the README and docs/.
func TestEveryCommandFlagAndKeyIsDocumented(t *testing.T) {
	docs := docsText(t)
	var missing []string
	for name, c := range commands {
		if !strings.Contains(docs, "`"+name) && !strings.Contains(docs, "rawland "+name) {
			missing = append(missing, "command "+name)
		}
		subs := subcommands[name]
		if subs == nil {
			subs = []string{""}
		}
		for _, sub := range subs {
			var args []string
			if sub != "" {
				args = []string{sub}
			}
			for _, f := range flagNames(c, args) {
				if !regexp.MustCompile(`--` + regexp.QuoteMeta(f) + `\b`).MatchString(docs) {
					missing = append(missing, "flag "+strings.TrimSpace(name+" "+sub)+" --"+f)
				}
			}
		}
	}
	for _, k := range configKeys(reflect.TypeOf(config.Config{})) {
		if !regexp.MustCompile("(`|\\b)" + regexp.QuoteMeta(k) + "(`|:)").MatchString(docs) {
			missing = append(missing, "config key "+k)
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("%s is not in README.md or docs/*.md", m)
	}
}

// flagNames lists the flags a command (or subcommand) defines.
func flagNames(c *command, sub []string) []string {
	var names []string
	listFlags = func(fs *flag.FlagSet) {
		fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	}
	defer func() { listFlags = nil }()
	func() {
		defer func() { recover() }()
		c.run(context.Background(), &app{stdout: discard{}, stderr: discard{}}, append(sub, "-h"))
	}()
	return names
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// configKeys returns every yaml key of t, recursively (deduplicated).
func configKeys(t reflect.Type) []string {
	seen := map[string]bool{}
	var walk func(reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return
		}
		for i := range t.NumField() {
			f := t.Field(i)
			tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
			if tag == "" || tag == "-" {
				continue
			}
			if !seen[tag] {
				seen[tag] = true
				walk(f.Type)
			}
		}
	}
	walk(t)
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
