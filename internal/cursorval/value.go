package cursorval

import (
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// Kind is what a cursor holds.
type Kind byte

// Kinds.
const (
	Unknown Kind = iota // not known from the config; the data decides
	Time                // an instant (any time format, Unix seconds or milliseconds)
	Int                 // an integer (a sequence number, a version)
)

func (k Kind) String() string {
	switch k {
	case Time:
		return "time"
	case Int:
		return "integer"
	}
	return "unknown"
}

// Value is one cursor value: an instant or an integer.
type Value struct {
	Kind Kind
	T    time.Time
	N    *big.Int
}

// ErrKind is returned when a value is not of the cursor's kind.
var ErrKind = errors.New("cursor value of the wrong kind")

// Read parses a record's cursor value (a JSON string's content or a JSON
// number's literal) under format f. hint is the cursor's kind as far as the
// config tells (Unknown when it does not): in Auto a number is a Unix time
// (seconds, milliseconds, microseconds or nanoseconds by magnitude) when
// the cursor is a Time, an integer otherwise.
func Read(s string, f Format, hint Kind) (Value, error) {
	s = strings.TrimSpace(s)
	bad := func(want string) (Value, error) {
		return Value{}, fmt.Errorf("value %q is not %s (cursor.format %s)", s, want, f)
	}
	switch f.Name {
	case Integer:
		if n, ok := new(big.Int).SetString(s, 10); ok {
			return Value{Kind: Int, N: n}, nil
		}
		return bad("an integer")
	case Unix, UnixMS:
		if t, ok := parseUnix(s, f.Name); ok {
			return Value{Kind: Time, T: t}, nil
		}
		return bad("a number")
	case Rfc3339:
		if t, ok := parseDateTime(s); ok {
			return Value{Kind: Time, T: t}, nil
		}
		return bad("an RFC 3339 date-time")
	case Date:
		if t, ok := parseDate(s); ok {
			return Value{Kind: Time, T: t}, nil
		}
		return bad("a date (2006-01-02)")
	case Layout:
		if t, err := time.Parse(f.Layout, s); err == nil {
			return Value{Kind: Time, T: t}, nil
		}
		return bad("a time in layout " + f.Layout)
	}
	if t, ok := parseDateTime(s); ok {
		return Value{Kind: Time, T: t}, nil
	}
	if t, ok := parseDate(s); ok {
		return Value{Kind: Time, T: t}, nil
	}
	if hint == Time {
		if t, ok := parseUnix(s, ""); ok {
			return Value{Kind: Time, T: t}, nil
		}
	} else if n, ok := new(big.Int).SetString(s, 10); ok {
		return Value{Kind: Int, N: n}, nil
	}
	return Value{}, fmt.Errorf("value %q is neither a time (RFC 3339, a date, Unix seconds or milliseconds) nor an integer: set cursor.format (a Go layout such as \"02/01/2006 15:04\") to read it", s)
}

// ReadSaved parses a saved cursor or a configured start or end. Saved
// cursors are normalised (String), so RFC 3339 and integers are always
// read, whatever the format; a value in the stream's own format is read
// too.
func ReadSaved(s string, f Format, hint Kind) (Value, error) {
	s = strings.TrimSpace(s)
	if t, ok := parseDateTime(s); ok {
		return Value{Kind: Time, T: t}, nil
	}
	if t, ok := parseDate(s); ok {
		return Value{Kind: Time, T: t}, nil
	}
	if f.Kind() == Time && f.Name != Unix && f.Name != UnixMS {
		if v, err := Read(s, f, hint); err == nil {
			return v, nil
		}
	}
	if f.Kind() == Time || hint == Time {
		return Read(s, f, Time)
	}
	if n, ok := new(big.Int).SetString(s, 10); ok {
		return Value{Kind: Int, N: n}, nil
	}
	return Value{}, fmt.Errorf("value %q is neither an RFC 3339 time (2020-01-01T00:00:00Z) nor an integer", s)
}

// parseUnix reads a decimal number of seconds (unit Unix), milliseconds
// (UnixMS) or, for "", a unit guessed from the magnitude: below 1e11
// seconds (1e11 s is the year 5138), below 1e14 milliseconds, below 1e17
// microseconds, else nanoseconds. A fraction is kept to the nanosecond.
func parseUnix(s, unit string) (time.Time, bool) {
	intPart, frac, _ := strings.Cut(s, ".")
	n, ok := new(big.Int).SetString(intPart, 10)
	if !ok || intPart[0] == '+' {
		return time.Time{}, false
	}
	for _, c := range frac {
		if c < '0' || c > '9' {
			return time.Time{}, false
		}
	}
	if unit == "" {
		abs := new(big.Int).Abs(n)
		switch {
		case abs.Cmp(big.NewInt(1e11)) < 0:
			unit = Unix
		case abs.Cmp(big.NewInt(1e14)) < 0:
			unit = UnixMS
		case abs.Cmp(big.NewInt(1e17)) < 0:
			unit = "us"
		default:
			unit = "ns"
		}
	}
	scale := map[string]int{Unix: 9, UnixMS: 6, "us": 3, "ns": 0}[unit]
	// nanoseconds = n * 10^scale + frac digits scaled
	ns := new(big.Int).Mul(n, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil))
	if len(frac) > scale {
		frac = frac[:scale]
	}
	if frac != "" {
		f, _ := new(big.Int).SetString(frac+strings.Repeat("0", scale-len(frac)), 10)
		if strings.HasPrefix(intPart, "-") {
			f.Neg(f)
		}
		ns.Add(ns, f)
	}
	if !ns.IsInt64() {
		return time.Time{}, false
	}
	return time.Unix(0, ns.Int64()).UTC(), true
}

// Compare orders two values of one kind (-1, 0, 1); values of different
// kinds are an ErrKind.
func (v Value) Compare(o Value) (int, error) {
	switch {
	case v.Kind == Time && o.Kind == Time:
		return v.T.Compare(o.T), nil
	case v.Kind == Int && o.Kind == Int:
		return v.N.Cmp(o.N), nil
	}
	return 0, fmt.Errorf("%w: %s vs %s", ErrKind, v.describe(), o.describe())
}

func (v Value) describe() string {
	return fmt.Sprintf("%s %s", v.Kind, v.String())
}

// String is the normalised form a cursor is saved in: RFC 3339 in UTC
// (fractional seconds only as needed) for times, the decimal integer
// otherwise. Every later run reads it back whatever cursor.format says.
func (v Value) String() string {
	switch v.Kind {
	case Time:
		return v.T.UTC().Format(time.RFC3339Nano)
	case Int:
		return v.N.String()
	}
	return ""
}

// Param writes the value as the upstream wants it (cursor.param_format):
// times in UTC, rounded down to the format's unit (so that nothing between
// the sent value and the cursor is skipped); integers as they are.
func (v Value) Param(f Format) string {
	if v.Kind != Time {
		return v.String()
	}
	t := v.T.UTC()
	switch f.Name {
	case Unix:
		return fmt.Sprint(floorDiv(t.UnixNano(), int64(time.Second)))
	case UnixMS:
		return fmt.Sprint(floorDiv(t.UnixNano(), int64(time.Millisecond)))
	case Date:
		return t.Format(time.DateOnly)
	case Layout:
		return t.Format(f.Layout)
	}
	return t.Format(time.RFC3339Nano)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// Back returns the value moved back by a look-back: d for times, n for
// integers.
func (v Value) Back(d time.Duration, n int64) Value {
	switch v.Kind {
	case Time:
		return Value{Kind: Time, T: v.T.Add(-d)}
	case Int:
		return Value{Kind: Int, N: new(big.Int).Sub(v.N, big.NewInt(n))}
	}
	return v
}

// SortKey maps a cursor text to a string whose byte order is the cursor's
// order, for warehouses that keep the cursor as text: a time (any form
// Read accepts in Auto) becomes RFC 3339 in UTC with exactly nine
// fractional digits; anything else is returned as it is.
func SortKey(s string) string {
	t, ok := parseDateTime(strings.TrimSpace(s))
	if !ok {
		return s
	}
	return t.UTC().Format("2006-01-02T15:04:05.000000000Z")
}
