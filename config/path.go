package config

import "strings"

// SplitPath splits a dot path of a response or record ("data.items",
// "@odata\.nextLink", "meta\\.x") into its keys: a dot separates keys
// unless a backslash escapes it, and "\\" is a literal backslash. Every
// path setting (records, next, has_more, total, total_pages, end_flag,
// next_from_last_record, cursor field, a body param) is read this way, by
// ingest and transform alike.
func SplitPath(path string) []string {
	var steps []string
	var cur strings.Builder
	for i := 0; i < len(path); i++ {
		c := path[i]
		switch {
		case c == '\\' && i+1 < len(path) && (path[i+1] == '.' || path[i+1] == '\\'):
			i++
			cur.WriteByte(path[i])
		case c == '.':
			steps = append(steps, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	return append(steps, cur.String())
}
