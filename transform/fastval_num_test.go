package transform

import (
	"math"
	"strconv"
	"testing"
)

// TestNumFloat holds numFloat to strconv.ParseFloat, sign of zero included.
func TestNumFloat(t *testing.T) {
	for _, s := range []string{"0", "-0", "1", "-1", "7", "999999999999999", "-999999999999999", "1000000000000000",
		"9007199254740993", "12345678901234567890", "1.5", "-0.0", "1e3", "0.1", "123456789012345"} {
		got, gerr := numFloat([]byte(s))
		want, werr := strconv.ParseFloat(s, 64)
		if (gerr == nil) != (werr == nil) || got != want || math.Signbit(got) != math.Signbit(want) {
			t.Errorf("numFloat(%q) = %v, %v; ParseFloat: %v, %v", s, got, gerr, want, werr)
		}
	}
}
