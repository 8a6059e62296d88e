package config

import (
	"cmp"
	"slices"
	"strings"
)

// collisions fails every name of section (sources or streams) that equals
// an earlier one (in file order) but for case: DuckDB folds the case of
// identifiers, and macOS and Windows filesystems fold the case of
// directory and file names, so such names would share a table, a raw
// directory or a state file. Stream names are restricted to [A-Za-z0-9_],
// so ASCII case is all DuckDB can fold in them.
func collisions[V any](v *validator, section string, m map[string]V, why string) {
	names := sortedKeys(m)
	lines := map[string]int{}
	for _, n := range names {
		lines[n] = lineOf(v.root, section, n)
	}
	slices.SortStableFunc(names, func(a, b string) int { return cmp.Compare(lines[a], lines[b]) })
	first := map[string]string{}
	for _, n := range names {
		f := strings.ToLower(n)
		if prev, ok := first[f]; ok {
			v.fail([]string{section, n}, "name collides with %s (line %d) when case is ignored: %s; rename one of them", prev, lines[prev], why)
			continue
		}
		first[f] = n
	}
}
