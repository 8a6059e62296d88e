package transform

import (
	"math/rand/v2"
	"net/mail"
	"testing"
)

// TestPlainEmail: every string plainEmail accepts, net/mail.ParseAddress
// (gojsonschema's email checker) accepts too, so the fast validator's
// shortcut never accepts an email gojsonschema would refuse.
func TestPlainEmail(t *testing.T) {
	cases := []struct {
		s    string
		want bool
	}{
		{"ada@example.com", true},
		{"first.last+tag@mail-1.example.co.uk", true},
		{"a@b", true},
		{"a_b@c-d", true},
		{".a@b", false},
		{"a.@b", false},
		{"a..b@c", false},
		{"a@b..c", false},
		{"a@", false},
		{"@b", false},
		{"a b@c", false},
		{"a@b_c", false},
		{`"a"@b`, false},
		{"Ada <ada@example.com>", false},
		{"a@b@c", false},
	}
	for _, tc := range cases {
		t.Run(tc.s, func(t *testing.T) {
			if got := plainEmail(tc.s); got != tc.want {
				t.Errorf("plainEmail(%q) = %v, want %v", tc.s, got, tc.want)
			}
			if _, err := mail.ParseAddress(tc.s); tc.want && err != nil {
				t.Errorf("net/mail refuses %q: %v", tc.s, err)
			}
		})
	}
	plain, other := []rune("aZ09.-_+"), []rune("@ <>\"()[],;:\\é")
	r := rand.New(rand.NewPCG(1, 2))
	accepted := 0
	for range 200_000 {
		b := make([]rune, 1+r.IntN(12))
		for i := range b {
			b[i] = plain[r.IntN(len(plain))]
			if r.IntN(8) == 0 {
				b[i] = other[r.IntN(len(other))]
			}
		}
		s := string(b)
		if !plainEmail(s) {
			continue
		}
		accepted++
		if _, err := mail.ParseAddress(s); err != nil {
			t.Fatalf("plainEmail accepts %q, net/mail refuses it: %v", s, err)
		}
	}
	if accepted < 100 {
		t.Fatalf("only %d random strings were plain emails", accepted)
	}
}
