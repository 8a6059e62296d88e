package cursorval

import (
	"errors"
	"testing"
	"time"
)

func mustFormat(t *testing.T, s string) Format {
	t.Helper()
	f, err := ParseFormat(s)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestRead(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		format string
		hint   Kind
		want   string // normalised; "" = an error
		kind   Kind
	}{
		{"rfc3339 Z", "2024-03-01T10:00:00Z", "", Unknown, "2024-03-01T10:00:00Z", Time},
		{"offset with colon", "2024-03-01T12:00:00+02:00", "", Unknown, "2024-03-01T10:00:00Z", Time},
		{"offset without colon", "2024-03-01T12:00:00+0200", "", Unknown, "2024-03-01T10:00:00Z", Time},
		{"+0000", "2024-03-01T10:00:00+0000", "", Unknown, "2024-03-01T10:00:00Z", Time},
		{"hour-only offset", "2024-03-01T07:00:00-03", "", Unknown, "2024-03-01T10:00:00Z", Time},
		{"space separator", "2024-03-01 10:00:00Z", "", Unknown, "2024-03-01T10:00:00Z", Time},
		{"space and +0000", "2024-03-01 10:00:00+0000", "", Unknown, "2024-03-01T10:00:00Z", Time},
		{"ruby to_s", "2024-03-01 12:00:00 +0200", "", Unknown, "2024-03-01T10:00:00Z", Time},
		{"UTC suffix", "2024-03-01 10:00:00 UTC", "", Unknown, "2024-03-01T10:00:00Z", Time},
		{"no offset is UTC", "2024-03-01 10:00:00", "", Unknown, "2024-03-01T10:00:00Z", Time},
		{"lower case t and z", "2024-03-01t10:00:00z", "", Unknown, "2024-03-01T10:00:00Z", Time},
		{"3-digit fraction", "2024-03-01T10:00:00.123Z", "", Unknown, "2024-03-01T10:00:00.123Z", Time},
		{"6-digit fraction offset", "2024-03-01T10:00:00.123456+0000", "", Unknown, "2024-03-01T10:00:00.123456Z", Time},
		{"9-digit fraction", "2024-03-01T10:00:00.123456789Z", "", Unknown, "2024-03-01T10:00:00.123456789Z", Time},
		{"12-digit fraction truncated", "2024-03-01T10:00:00.123456789999Z", "", Unknown, "2024-03-01T10:00:00.123456789Z", Time},
		{"1-digit fraction", "2024-03-01T10:00:00.5Z", "", Unknown, "2024-03-01T10:00:00.5Z", Time},
		{"no seconds", "2024-03-01T10:00Z", "", Unknown, "2024-03-01T10:00:00Z", Time},
		{"date", "2024-03-01", "", Unknown, "2024-03-01T00:00:00Z", Time},
		{"integer without hint", "1709287200", "", Unknown, "1709287200", Int},
		{"unix seconds number, time hint", "1709287200", "", Time, "2024-03-01T10:00:00Z", Time},
		{"unix ms by magnitude", "1709287200123", "", Time, "2024-03-01T10:00:00.123Z", Time},
		{"unix us by magnitude", "1709287200123456", "", Time, "2024-03-01T10:00:00.123456Z", Time},
		{"unix seconds with fraction", "1709287200.25", "", Time, "2024-03-01T10:00:00.25Z", Time},
		{"format unix", "1709287200", "unix", Unknown, "2024-03-01T10:00:00Z", Time},
		{"format unix small", "86400", "unix", Unknown, "1970-01-02T00:00:00Z", Time},
		{"format unix_ms", "1709287200123", "unix_ms", Unknown, "2024-03-01T10:00:00.123Z", Time},
		{"format unix_ms small value", "1000", "unix_ms", Unknown, "1970-01-01T00:00:01Z", Time},
		{"format unix rejects a time", "2024-03-01", "unix", Unknown, "", 0},
		{"format rfc3339", "2024-03-01 12:00:00+0200", "rfc3339", Unknown, "2024-03-01T10:00:00Z", Time},
		{"format rfc3339 rejects a number", "1709287200", "rfc3339", Unknown, "", 0},
		{"format date", "2024-03-01", "date", Unknown, "2024-03-01T00:00:00Z", Time},
		{"format layout", "01/03/2024 10:00", "02/01/2006 15:04", Unknown, "2024-03-01T10:00:00Z", Time},
		{"format layout with zone", "Fri, 01 Mar 2024 12:00:00 +0200", time.RFC1123Z, Unknown, "2024-03-01T10:00:00Z", Time},
		{"format integer", "42", "integer", Unknown, "42", Int},
		{"format integer rejects a time", "2024-03-01T10:00:00Z", "integer", Unknown, "", 0},
		{"big integer", "123456789012345678901234567890", "", Unknown, "123456789012345678901234567890", Int},
		{"garbage", "yesterday", "", Unknown, "", 0},
		{"decimal without time hint", "1.5", "", Unknown, "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := Read(tc.in, mustFormat(t, tc.format), tc.hint)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("Read(%q) = %v, want an error", tc.in, v)
				}
				return
			}
			if err != nil {
				t.Fatalf("Read(%q): %v", tc.in, err)
			}
			if v.Kind != tc.kind || v.String() != tc.want {
				t.Fatalf("Read(%q) = %s %q, want %s %q", tc.in, v.Kind, v.String(), tc.kind, tc.want)
			}
			// the normalised form reads back to the same value, whatever the format
			back, err := ReadSaved(v.String(), mustFormat(t, tc.format), tc.kind)
			if err != nil {
				t.Fatalf("ReadSaved(%q): %v", v.String(), err)
			}
			if c, err := back.Compare(v); err != nil || c != 0 {
				t.Fatalf("saved %q reads back as %v (%v)", v.String(), back, err)
			}
		})
	}
}

func TestCompareAcrossForms(t *testing.T) {
	tests := []struct {
		name   string
		a, b   string
		format string
		hint   Kind
		want   int
	}{
		{"+0200 earlier than Z", "2024-03-01T11:30:00+0200", "2024-03-01T10:00:00Z", "", Unknown, -1},
		{"+0200 later than Z by string order but not by time", "2024-03-01T12:30:00+0200", "2024-03-01T11:00:00Z", "", Unknown, -1},
		{"same instant different forms", "2024-03-01 12:00:00+0200", "2024-03-01T10:00:00.000Z", "", Unknown, 0},
		{"9-digit fractions", "2024-03-01T10:00:00.000000002Z", "2024-03-01T10:00:00.000000001Z", "", Unknown, 1},
		{"fraction vs none", "2024-03-01T10:00:00.5Z", "2024-03-01T10:00:00Z", "", Unknown, 1},
		{"date vs datetime", "2024-03-02", "2024-03-01T23:59:59Z", "", Unknown, 1},
		{"unix string vs number text", "1709287200", "1709287201", "unix", Unknown, -1},
		{"integers numerically", "999", "1000", "", Unknown, -1},
		{"unix ms vs rfc3339", "1709287200001", "2024-03-01T10:00:00Z", "", Time, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := mustFormat(t, tc.format)
			a, err := Read(tc.a, f, tc.hint)
			if err != nil {
				t.Fatal(err)
			}
			b, err := Read(tc.b, f, tc.hint)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := a.Compare(b); err != nil || got != tc.want {
				t.Fatalf("Compare(%s, %s) = %d, %v; want %d", tc.a, tc.b, got, err, tc.want)
			}
		})
	}
	a, _ := Read("5", Format{}, Unknown)
	b, _ := Read("2024-03-01", Format{}, Unknown)
	if _, err := a.Compare(b); !errors.Is(err, ErrKind) {
		t.Fatalf("integer vs time: %v, want ErrKind", err)
	}
}

func TestParam(t *testing.T) {
	v, err := Read("2024-03-01T12:00:00.789+0200", Format{}, Unknown)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		format, want string
	}{
		{"", "2024-03-01T10:00:00.789Z"},
		{"rfc3339", "2024-03-01T10:00:00.789Z"},
		{"unix", "1709287200"}, // rounded down: never past the cursor
		{"unix_ms", "1709287200789"},
		{"date", "2024-03-01"},
		{"2006-01-02 15:04:05", "2024-03-01 10:00:00"},
		{"20060102", "20240301"},
	}
	for _, tc := range tests {
		t.Run("format "+tc.format, func(t *testing.T) {
			if got := v.Param(mustFormat(t, tc.format)); got != tc.want {
				t.Fatalf("Param(%s) = %q, want %q", tc.format, got, tc.want)
			}
		})
	}
	n, _ := Read("1500", Format{}, Unknown)
	if got := n.Back(0, 100).Param(Format{Name: Unix}); got != "1400" {
		t.Fatalf("integer lookback param = %q", got)
	}
	if got := v.Back(time.Hour, 0).Param(Format{}); got != "2024-03-01T09:00:00.789Z" {
		t.Fatalf("duration lookback param = %q", got)
	}
	pre, _ := Read("-1.5", Format{Name: Unix}, Unknown)
	if got := pre.Param(Format{Name: Unix}); got != "-2" {
		t.Fatalf("negative unix rounds down: %q", got)
	}
}

func TestParseFormat(t *testing.T) {
	for _, ok := range []string{"", "auto", "rfc3339", "UNIX", "unix_ms", "date", "integer", "2006-01-02 15:04:05", "02/01/2006", time.RFC1123} {
		if _, err := ParseFormat(ok); err != nil {
			t.Errorf("ParseFormat(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"iso", "15:04", "unix_seconds", "yyyy-mm-dd"} {
		if _, err := ParseFormat(bad); err == nil {
			t.Errorf("ParseFormat(%q) accepted", bad)
		}
	}
}

func TestSortKey(t *testing.T) {
	// byte order of the keys is time order, whatever the forms
	in := []string{"2024-03-01T12:30:00+0200", "2024-03-01T11:00:00Z", "2024-03-01 11:00:00.5+00:00", "2024-03-01T10:59:59.999999999Z"}
	keys := make([]string, len(in))
	for i, s := range in {
		keys[i] = SortKey(s)
	}
	order := []string{keys[0], keys[3], keys[1], keys[2]} // by instant: 10:30, 10:59:59.9, 11:00, 11:00:00.5
	for i := 1; i < len(order); i++ {
		if order[i-1] >= order[i] {
			t.Fatalf("sort keys out of order: %q", order)
		}
	}
	if SortKey("abc") != "abc" || SortKey("12") != "12" {
		t.Fatal("non-times must pass through")
	}
}
