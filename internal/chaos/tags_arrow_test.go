//go:build duckdb_arrow

package chaos

// buildTags are the tags this test binary was built with, passed on to the
// rawland binary it builds.
const buildTags = "duckdb_arrow"
