package transform

import (
	"encoding/binary"
	"math/bits"
)

// String scanning eight bytes at a time (SWAR). Every record's keys and
// string values are scanned for their end by the fast validator and the
// converter; the strings of API records are short (5–30 bytes), so a call
// into bytes.IndexByte or bytes.IndexAny costs more than it saves, and a
// byte-at-a-time table loop was the hottest line of the transform. The
// standard library has no "first byte that is one of these or below 0x20"
// function, hence these few lines; strscan_test.go holds them to the
// byte-at-a-time definitions.

const (
	swarLo = 0x0101010101010101
	swarHi = 0x8080808080808080
)

// zeroBytes has the high bit of the lowest zero byte of w set (and maybe
// bits above it, never below): the classic "has a zero byte" test, whose
// false positives come only from a borrow out of a true one.
func zeroBytes(w uint64) uint64 { return (w - swarLo) &^ w & swarHi }

// strStopBits marks (as zeroBytes does) the bytes of w that end plain
// string text: '"', '\\' and the control characters below 0x20.
func strStopBits(w uint64) uint64 {
	return zeroBytes(w^(swarLo*'"')) | zeroBytes(w^(swarLo*'\\')) | (w-swarLo*0x20)&^w&swarHi
}

// quoteOrBackslashBits marks (as zeroBytes does) the bytes of w that are
// '"' or '\\'.
func quoteOrBackslashBits(w uint64) uint64 {
	return zeroBytes(w^(swarLo*'"')) | zeroBytes(w^(swarLo*'\\'))
}

// strStopAt is the position of the first byte at or after i that ends a
// run of plain string text ('"', '\\' or a control character), or len(b).
func strStopAt(b []byte, i int) int {
	n := len(b)
	for ; i+8 <= n; i += 8 {
		if m := strStopBits(binary.LittleEndian.Uint64(b[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	if i < n && n >= 8 {
		if m := strStopBits(lastWord(b, i)); m != 0 {
			return n - 8 + bits.TrailingZeros64(m)>>3
		}
		return n
	}
	for ; i < n; i++ {
		if strStop[b[i]] {
			return i
		}
	}
	return n
}

// quoteOrBackslashAt is the position of the first '"' or '\\' at or after
// i, or len(b).
func quoteOrBackslashAt(b []byte, i int) int {
	n := len(b)
	for ; i+8 <= n; i += 8 {
		if m := quoteOrBackslashBits(binary.LittleEndian.Uint64(b[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	if i < n && n >= 8 {
		if m := quoteOrBackslashBits(lastWord(b, i)); m != 0 {
			return n - 8 + bits.TrailingZeros64(m)>>3
		}
		return n
	}
	for ; i < n; i++ {
		if b[i] == '"' || b[i] == '\\' {
			return i
		}
	}
	return n
}

// lastWord is the last 8 bytes of b (len(b) ≥ 8, len(b)-8 < i < len(b))
// with those before i made 'a', which no test marks and whose tests do not
// borrow: the tail of a scan in one word instead of a byte loop (a third
// faster on the strings of API records, which are mostly under 16 bytes).
func lastWord(b []byte, i int) uint64 {
	n := len(b)
	w := binary.LittleEndian.Uint64(b[n-8:])
	seen := uint64(1)<<(uint(8-(n-i))*8) - 1
	return w&^seen | swarLo*'a'&seen
}

// strStop marks the bytes that end a run of plain string text: the
// closing quote, a backslash and the control characters JSON forbids.
var strStop = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()
