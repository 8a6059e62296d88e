package transform

import (
	"math/rand/v2"
	"testing"
)

func strStopAtBytewise(b []byte, i int) int {
	for ; i < len(b); i++ {
		if b[i] == '"' || b[i] == '\\' || b[i] < 0x20 {
			return i
		}
	}
	return len(b)
}

func quoteOrBackslashAtBytewise(b []byte, i int) int {
	for ; i < len(b); i++ {
		if b[i] == '"' || b[i] == '\\' {
			return i
		}
	}
	return len(b)
}

// checkStrScan holds the SWAR scanners to their byte-at-a-time
// definitions at every start position of b.
func checkStrScan(t *testing.T, b []byte) {
	t.Helper()
	for i := 0; i <= len(b); i++ {
		if got, want := strStopAt(b, i), strStopAtBytewise(b, i); got != want {
			t.Fatalf("strStopAt(%q, %d) = %d, want %d", b, i, got, want)
		}
		if got, want := quoteOrBackslashAt(b, i), quoteOrBackslashAtBytewise(b, i); got != want {
			t.Fatalf("quoteOrBackslashAt(%q, %d) = %d, want %d", b, i, got, want)
		}
	}
}

func TestStrScan(t *testing.T) {
	for _, s := range []string{
		"", `"`, `\`, "a", "abcdefgh", "abcdefg\"", "abcdefgh\"", `"#"#"#"#"#"#`,
		"\x00\x01\x1f\x20\x21\x22\x23", "\x21\x21\x21\x21\x21\x21\x21\x22\x23",
		// bytes one above a stop byte follow a stop byte: the borrow of
		// the zero-byte test marks them too, above the true stop
		"\"#]\x01\x21xxxxxxxxx", "\\]\\]\\]\\]\\]\\]", "\x1f\x20\x1f\x20\x1f\x20\x1f\x20",
		"Montr\u00e9al \xff\xfe\x80\xa0\xa2\xdc user1@example.com", "\u2028\u2029\"",
	} {
		checkStrScan(t, []byte(s))
	}
	// random bytes drawn mostly from around the stop bytes
	alphabet := []byte{0, 1, 0x1f, 0x20, 0x21, '"', '#', '\\', ']', 0x5d, 0x7f, 0x80, 0xa0, 0xa2, 0xdc, 0xff, 'a'}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		b := make([]byte, r.IntN(40))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		checkStrScan(t, b)
	}
}

func FuzzStrScan(f *testing.F) {
	f.Add([]byte(`"abc\"def"ghijklmnop`))
	f.Fuzz(func(t *testing.T, b []byte) { checkStrScan(t, b) })
}
