package transform

import (
	"math/rand/v2"
	"regexp"
	"testing"
)

// checkPattern holds strPattern to regexp on one pattern and string.
func checkPattern(t *testing.T, expr, s string) {
	t.Helper()
	re, err := regexp.Compile(expr)
	if err != nil {
		return
	}
	p, err := compilePattern(expr)
	if err != nil {
		t.Fatalf("%q: %v", expr, err)
	}
	if got, want := p.MatchString(s), re.MatchString(s); got != want {
		t.Fatalf("pattern %q on %q: %v, regexp says %v (simple: %v)", expr, s, got, want, p.simple != nil)
	}
}

var patternCases = []string{
	`^[A-Z]{2}$`, `^ORD-[0-9]{8}$`, `^POL-[0-9]{4}-[0-9]{6,}$`, `^\+[0-9]+$`, `^[a-z]*$`, `^a?$`, `^ab?$`,
	`^[^a-z]{3}$`, `^é[à-ÿ]{1,3}$`, `^\d{2}\w$`, `^[A-Z]{2,}x$`, `^x{0}$`, `^.{2}$`, `^(?i)ab$`, `^(ab){2}$`,
	`[A-Z]{2}`, `^[A-Z]{2}`, `[A-Z]{2}$`, `^$`, `^a|b$`, `^(?:ab)$`, `^a{2,3}b$`, `^[\x{10000}-\x{10FFFF}]$`,
	`^\p{Greek}+$`, `^[0-9]{2}(?:-[0-9]{2})?$`, `^\$[0-9]$`, `^\.$`, `^[a-c]{1,2}$`, `^a{2}b{2}$`,
}

func TestStrPattern(t *testing.T) {
	for _, expr := range []string{`^[A-Z]{2}$`, `^ORD-[0-9]{8}$`, `^POL-[0-9]{4}-[0-9]{6,}$`, `^\+[0-9]+$`} {
		if p, _ := compilePattern(expr); p.simple == nil {
			t.Errorf("%q: not taken as simple", expr)
		}
	}
	for _, expr := range []string{`^(?i)ab$`, `^[A-Z]{2,}x$`, `[A-Z]{2}`, `^(ab){2}$`, `^a|b$`} {
		if p, _ := compilePattern(expr); p.simple != nil {
			t.Errorf("%q: taken as simple", expr)
		}
	}
	alphabet := []string{"A", "Z", "a", "z", "0", "9", "-", "+", "x", "b", "é", "à", "ÿ", "\n", "\xff", "$", ".", "\U00010000", "α", "O", "R", "D", "P", "L"}
	r := rand.New(rand.NewPCG(5, 6))
	for _, expr := range patternCases {
		for range 3000 {
			s := ""
			for range r.IntN(14) {
				s += alphabet[r.IntN(len(alphabet))]
			}
			checkPattern(t, expr, s)
		}
		for _, s := range []string{"", "US", "us", "USA", "ORD-12345678", "ORD-1234567", "ORD-123456789", "POL-1234-123456", "POL-1234-12345",
			"POL-1234-1234567890", "+1", "+", "+12a", "ab", "a", "aa", "abab", "ééé", "éà", "\n\n", "x", "$1", "."} {
			checkPattern(t, expr, s)
		}
	}
}

func FuzzStrPattern(f *testing.F) {
	for _, expr := range patternCases {
		f.Add(expr, "US")
	}
	f.Fuzz(func(t *testing.T, expr, s string) { checkPattern(t, expr, s) })
}
