package cursorval

import (
	"fmt"
	"strings"
	"time"
)

// Format names how cursor values are read from records (cursor.format) or
// written into the request (cursor.param_format).
type Format struct {
	// Name is "" (auto: any RFC 3339 variant, a date, or a number), Rfc3339,
	// Unix, UnixMS, Date, Integer or Layout.
	Name string
	// Layout is the Go time layout when Name is Layout.
	Layout string
}

// Format names.
const (
	Auto    = ""
	Rfc3339 = "rfc3339"
	Unix    = "unix"
	UnixMS  = "unix_ms"
	Date    = "date"
	Integer = "integer"
	Layout  = "layout"
)

// refTime is Go's reference time; a layout must carry its date.
var refTime = time.Date(2006, 1, 2, 15, 4, 5, 0, time.UTC)

// ParseFormat reads a format setting: one of the names above ("auto" is
// Auto) or a Go layout that contains a year, month and day ("2006-01-02
// 15:04:05").
func ParseFormat(s string) (Format, error) {
	switch n := strings.TrimSpace(s); strings.ToLower(n) {
	case "", "auto":
		return Format{}, nil
	case Rfc3339, Unix, UnixMS, Date, Integer:
		return Format{Name: strings.ToLower(n)}, nil
	}
	t, err := time.Parse(s, refTime.Format(s))
	if err != nil || t.Year() != 2006 || t.Month() != 1 || t.Day() != 2 {
		return Format{}, fmt.Errorf("unknown format %q: use rfc3339, unix, unix_ms, date, integer or a Go layout with year, month and day written as in Go's reference time (2006-01-02 15:04:05)", s)
	}
	return Format{Name: Layout, Layout: s}, nil
}

// Kind is the kind of value the format reads: Unknown for Auto.
func (f Format) Kind() Kind {
	switch f.Name {
	case Auto:
		return Unknown
	case Integer:
		return Int
	}
	return Time
}

// String is the format as written in the config.
func (f Format) String() string {
	switch f.Name {
	case Auto:
		return "auto"
	case Layout:
		return f.Layout
	}
	return f.Name
}

// dateTimeLayouts are tried in turn after normalise (T separator, upper
// case, no space before the offset). A fraction of any length after the
// seconds is accepted by time.Parse without being in the layout.
var dateTimeLayouts = []string{
	"2006-01-02T15:04:05Z07:00",
	"2006-01-02T15:04:05Z0700",
	"2006-01-02T15:04:05Z07",
	"2006-01-02T15:04:05", // no offset: UTC
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04Z0700",
	"2006-01-02T15:04",
}

// parseDateTime reads the RFC 3339 family: "T", "t" or a space between
// date and time; offsets "Z", "+02:00", "+0200", "+02", " +0200" or a
// " UTC" suffix, none (UTC); fractional seconds of any length (beyond 9
// digits truncated), with a dot or a comma.
func parseDateTime(s string) (time.Time, bool) {
	if len(s) < 16 || s[4] != '-' || s[7] != '-' {
		return time.Time{}, false
	}
	b := []byte(strings.ToUpper(s))
	switch b[10] {
	case 'T':
	case ' ':
		b[10] = 'T'
	default:
		return time.Time{}, false
	}
	t := string(b)
	for _, z := range []string{" UTC", " GMT", "UTC", "GMT", " Z"} {
		if strings.HasSuffix(t, z) {
			t = strings.TrimSuffix(t, z) + "Z"
			break
		}
	}
	if i := strings.LastIndexByte(t, ' '); i > 10 && i+1 < len(t) && (t[i+1] == '+' || t[i+1] == '-') {
		t = t[:i] + t[i+1:] // Ruby's Time#to_s: "2024-01-02 10:00:00 +0000"
	}
	for _, l := range dateTimeLayouts {
		if v, err := time.Parse(l, t); err == nil {
			return v, true
		}
	}
	return time.Time{}, false
}

func parseDate(s string) (time.Time, bool) {
	t, err := time.Parse(time.DateOnly, s)
	return t, err == nil
}
