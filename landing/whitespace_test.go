package landing

import "testing"

// wsReference is the byte-by-byte walk hasWhitespaceOutsideStrings must
// agree with: inside a string, a backslash skips the byte after it.
func wsReference(b []byte) bool {
	inStr := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inStr {
			switch c {
			case '\\':
				i++
			case '"':
				inStr = false
			}
			continue
		}
		switch c {
		case '"':
			inStr = true
		case ' ', '\t', '\n', '\r':
			return true
		}
	}
	return false
}

// FuzzHasWhitespaceOutsideStrings checks the fast scan against the
// reference walk on any bytes, valid JSON or not.
func FuzzHasWhitespaceOutsideStrings(f *testing.F) {
	for _, s := range []string{
		`{"a":"b c"}`, `{"a": 1}`, `{"a":"x\" y"}`, `{"a":"x\\"} `, `{"a":"x\\\" "}`,
		`"\\\\" `, `"unterminated `, `"\`, `\" `, `""" `, "{\"a\":\"\t\"}", "[1,\n2]", ``, ` `,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := hasWhitespaceOutsideStrings(b), wsReference(b); got != want {
			t.Fatalf("hasWhitespaceOutsideStrings(%q) = %v, want %v", b, got, want)
		}
	})
}
