package transform

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// checkRFC3339 holds rfc3339Micros to time.Parse(time.RFC3339Nano): it
// may decline (time.Parse then decides), but what it accepts time.Parse
// accepts, as the same instant.
func checkRFC3339(t *testing.T, s string) (accepted bool) {
	t.Helper()
	us, ok := rfc3339Micros(s)
	ts, err := time.Parse(time.RFC3339Nano, s)
	if ok && (err != nil || ts.UnixMicro() != us) {
		t.Fatalf("rfc3339Micros(%q) = %d; time.Parse: %v, %v", s, us, ts.UnixMicro(), err)
	}
	got, gerr := parseTimestamp(s)
	if (gerr == nil) != (err == nil) || err == nil && got != ts.UnixMicro() {
		t.Fatalf("parseTimestamp(%q) = %d, %v; time.Parse: %d, %v", s, got, gerr, ts.UnixMicro(), err)
	}
	return ok
}

func TestRFC3339Micros(t *testing.T) {
	accepted := 0
	for _, s := range []string{
		"2024-01-02T03:04:05Z", "2024-01-02T03:04:05.123456789+02:00", "2024-05-06T07:08:09.5-01:30",
		"0000-01-01T00:00:00Z", "0000-02-29T00:00:00Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999Z",
		"1969-12-31T23:59:59.999999Z", "1970-01-01T00:00:00-23:59", "1900-02-29T00:00:00Z", "2000-02-29T00:00:00Z",
		"2100-02-29T00:00:00Z", "2400-02-29T00:00:00Z", "2023-02-29T00:00:00Z", "2024-04-31T00:00:00Z",
		"2024-13-01T00:00:00Z", "2024-00-01T00:00:00Z", "2024-01-00T00:00:00Z", "2024-01-01T24:00:00Z",
		"2024-01-01T23:60:00Z", "2024-01-01T23:59:60Z", "2024-01-01t00:00:00Z", "2024-01-01 00:00:00Z",
		"2024-01-01T00:00:00z", "2024-01-01T00:00:00", "2024-01-01T00:00:00+0100", "2024-01-01T00:00:00+24:00",
		"2024-01-01T00:00:00+01:60", "2024-01-01T00:00:00.Z", "2024-01-01T00:00:00,5Z", "2024-01-01T00:00:00.1234567891Z",
		"2024-01-01T00:00:00.12345678912345Z", "+024-01-01T00:00:00Z", "2024-1-01T00:00:00Z", "２024-01-01T00:00:00Z",
		"2024-01-01T00:00:00Z ", "2024-01-01T00:00:00ZZ", "2024-01-01T00:00:00-00:00", "2024-01-01T00:00:00.000Z",
	} {
		if checkRFC3339(t, s) {
			accepted++
		}
	}
	if accepted != 13 {
		t.Errorf("rfc3339Micros took %d of the fixed cases, want the 13 valid ones", accepted)
	}
	// fields drawn around their bounds, separators and zones varied
	r := rand.New(rand.NewPCG(3, 4))
	pick := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	num := func(w, max int) string { return fmt.Sprintf("%0*d", w, r.IntN(max)) }
	frac := func() string {
		if r.IntN(2) == 0 {
			return ""
		}
		n := r.IntN(12)
		out := "."
		for range n {
			out += string(rune('0' + r.IntN(10)))
		}
		return out
	}
	accepted = 0
	for range 200000 {
		s := pick(num(4, 10000), "1970", "2000", "1900", "2024", "0000") + pick("-", "-", "/") + num(2, 14) + "-" + num(2, 33) +
			pick("T", "T", "t", " ") + num(2, 25) + ":" + num(2, 61) + ":" + num(2, 61) + frac() +
			pick("Z", "Z", "+"+num(2, 25)+":"+num(2, 61), "-"+num(2, 24)+":"+num(2, 60), "", "+0100", "z")
		if checkRFC3339(t, s) {
			accepted++
		}
	}
	if accepted < 10000 {
		t.Errorf("rfc3339Micros took only %d of the random cases", accepted)
	}
}

func FuzzRFC3339(f *testing.F) {
	f.Add("2024-01-02T03:04:05.123456789+02:00")
	f.Add("0000-02-29T00:00:00Z")
	f.Fuzz(func(t *testing.T, s string) { checkRFC3339(t, s) })
}
