package ingest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rawland/rawland/config"
	"github.com/rawland/rawland/internal/cursorval"
)

func TestPlanSlices(t *testing.T) {
	now := time.Date(2024, 1, 3, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name, start, end, before string
		lookback                 time.Duration
		want                     string // "from…until closed|open cap" per slice
	}{
		{"no end: closed days then an open slice up to now", "2024-01-01T00:00:00Z", "", "", 0,
			"01T00…02T00 closed 02T00; 02T00…03T00 closed 03T00; 03T00…03T12 open -"},
		{"end in the past: every slice closed, the last one short", "2024-01-01T00:00:00Z", "2024-01-02T06:00:00Z", "", 0,
			"01T00…02T00 closed 02T00; 02T00…02T06 closed 02T06"},
		{"end ahead: no slice past now, capped at end", "2024-01-02T00:00:00Z", "2024-02-01T00:00:00Z", "", 0,
			"02T00…03T00 closed 03T00; 03T00…03T12 open 01T00"},
		{"resume from the saved cursor minus lookback", "2024-01-01T00:00:00Z", "", "2024-01-03T00:00:00Z", 2 * time.Hour,
			"02T22…03T12 open -"},
		{"nothing to do", "2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z", "2024-01-02T00:00:00Z", 0, ""},
	}
	short := func(v *cursorval.Value) string {
		if v == nil {
			return "-"
		}
		return v.T.Format("02T15")
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := &config.Cursor{Field: "u", Start: tc.start, End: tc.end, Window: config.Duration(24 * time.Hour),
				Lookback: config.Lookback{Dur: tc.lookback}, Type: cursorval.Time}
			slices, err := planSlices(newCursorRules(c), tc.before, now)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, sp := range slices {
				state := "open"
				if sp.closed {
					state = "closed"
				}
				got = append(got, fmt.Sprintf("%s…%s %s %s", short(sp.from), short(sp.until), state, short(sp.cap)))
			}
			if g := strings.Join(got, "; "); g != tc.want {
				t.Fatalf("slices:\n got %s\nwant %s", g, tc.want)
			}
		})
	}
}
