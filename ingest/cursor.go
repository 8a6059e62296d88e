package ingest

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/rawland/rawland/config"
	"github.com/rawland/rawland/internal/cursorval"
	"github.com/tidwall/gjson"
)

// Cursor values (internal/cursorval) are read in any time format the
// stream allows, compared as instants or integers, and saved normalised:
// RFC 3339 in UTC for times, the decimal integer otherwise. A saved cursor
// is therefore readable by every later run whatever cursor.format says.

// cursorRules read a stream's cursor values as its config says.
type cursorRules struct {
	c    *config.Cursor
	hint cursorval.Kind // Time when numbers in records are Unix times
}

func newCursorRules(c *config.Cursor) cursorRules {
	r := cursorRules{c: c}
	if c.UnixNumbers {
		r.hint = cursorval.Time
	}
	return r
}

// read parses a record's cursor value and checks it is of the kind the
// config gives the cursor (a wrong kind fails the run on first sight).
func (r cursorRules) read(s string) (cursorval.Value, error) {
	v, err := cursorval.Read(s, r.c.ValueFormat, r.hint)
	if err != nil || r.c.Type == cursorval.Unknown || v.Kind == r.c.Type {
		return v, err // the message of check is built only on failure
	}
	return v, r.check(v, fmt.Sprintf("holds %q", s))
}

// saved parses a saved cursor, start or end.
func (r cursorRules) saved(s, what string) (cursorval.Value, error) {
	v, err := cursorval.ReadSaved(s, r.c.ValueFormat, r.c.Type)
	if err != nil {
		return v, fmt.Errorf("%s: %w", what, err)
	}
	return v, r.check(v, fmt.Sprintf("%s is %q", what, s))
}

func (r cursorRules) check(v cursorval.Value, what string) error {
	if r.c.Type == cursorval.Unknown || v.Kind == r.c.Type {
		return nil
	}
	return &CursorKindError{Field: r.c.Field, What: what, Got: v.Kind, Want: r.c.Type, From: r.c.TypeFrom}
}

// CursorKindError is a cursor value of the other kind than the config
// makes the cursor: an integer where a duration lookback says time, or a
// time where an integer lookback says integer.
type CursorKindError struct {
	Field, What string
	Got, Want   cursorval.Kind
	From        string // the config key that gives the kind
}

func (e *CursorKindError) Error() string {
	return fmt.Sprintf("cursor field %s %s, %s, but %s makes the cursor %s: an integer cursor takes an integer lookback (lookback: 100) and no window or param_format; if the values are Unix times, set cursor.format: unix or unix_ms",
		e.Field, e.What, article(e.Got), e.From, article(e.Want))
}

func article(k cursorval.Kind) string {
	if k == cursorval.Int {
		return "an integer"
	}
	return "a " + k.String()
}

// span is the range one run reads.
type span struct {
	// from is sent in cursor.param (nil: nothing to send, a first run
	// without start); with filter: client, records at or behind it are
	// dropped.
	from *cursorval.Value
	// until is sent in cursor.end_param (nil: nothing to send).
	until *cursorval.Value
	// cap drops records after it (cursor.end, or a closed window slice's
	// end); nil keeps them all.
	cap *cursorval.Value
	// closed says the whole range up to cap is in the past: a complete
	// walk moves the cursor to cap even where no record reached it.
	closed bool
}

// errCaughtUp ends a walk of a descending feed with filter: client after
// the first page that reaches back to the cursor (its last dated record, the
// oldest of the page, is at or behind it): every later page is older still,
// so the end of what is new was observed.
var errCaughtUp = errors.New("caught up: the page reaches back to the cursor")

// tracker filters a run's records by its span and tracks the high-water
// mark of those landed.
type tracker struct {
	rules  cursorRules
	field  string // "" = no cursor (reconcile, streams without one)
	gpath  string // field as a gjson path ("" = not compiled yet)
	sp     span
	client bool // filter: client
	desc   bool // order: desc
	max    cursorval.Value
	set    bool
	// dropped counts records dropped by the filter or cap.
	dropped int64
	// dated and undated count the records with and without the field;
	// undatedKeys are the top-level keys of the first undated one.
	dated, undated int64
	undatedKeys    string
}

// inactive says why incremental reading did nothing in this run: records
// landed but none had the cursor field ("" when all is well).
func (t *tracker) inactive(stream string) string {
	if t.field == "" || t.dated > 0 || t.undated == 0 {
		return ""
	}
	return fmt.Sprintf("cursor field %q is absent from all %d records (their keys: %s): incremental reading is inactive and every run re-reads everything; fix streams.%s.cursor.field (a backslash escapes a dot in a key)",
		t.field, t.undated, t.undatedKeys, stream)
}

// page returns the records of one page to land, and whether the walk may
// stop here (a descending client-filtered feed caught up: see errCaughtUp).
func (t *tracker) page(recs []json.RawMessage) ([]json.RawMessage, bool, error) {
	if t.field == "" {
		return recs, false, nil
	}
	kept := recs[:0:0]
	lastBehind := false // the page's last dated record is at or behind from
	for _, rec := range recs {
		s, err := t.fieldText(rec)
		if err != nil {
			return nil, false, fmt.Errorf("cursor field %s: %w", t.field, err)
		}
		if s == "" {
			if t.undated++; t.undated == 1 {
				t.undatedKeys = topKeys(rec)
			}
			kept = append(kept, rec) // a record without the field does not move the cursor
			continue
		}
		t.dated++
		lastBehind = false
		v, err := t.rules.read(s)
		if err != nil {
			return nil, false, fmt.Errorf("cursor field %s: %w", t.field, err)
		}
		if t.sp.cap != nil {
			c, err := v.Compare(*t.sp.cap)
			if err != nil {
				return nil, false, fmt.Errorf("cursor field %s: %w", t.field, err)
			}
			if c > 0 {
				t.dropped++
				continue
			}
		}
		if t.client && t.sp.from != nil {
			c, err := v.Compare(*t.sp.from)
			if err != nil {
				return nil, false, fmt.Errorf("cursor field %s: %w", t.field, err)
			}
			if c <= 0 {
				lastBehind = true
				t.dropped++
				continue
			}
		}
		if t.set {
			c, err := v.Compare(t.max)
			if err != nil {
				return nil, false, fmt.Errorf("cursor field %s: %w", t.field, err)
			}
			if c <= 0 {
				kept = append(kept, rec)
				continue
			}
		}
		t.max, t.set = v, true
		kept = append(kept, rec)
	}
	return kept, t.client && t.desc && lastBehind, nil
}

// fieldText is the cursor field's value in rec as text, exactly as
// stringAt reads it ("" when missing or null); a plain ASCII string and a
// number, which is what cursor fields hold, are read in place without
// decoding, anything else goes through stringAt.
func (t *tracker) fieldText(rec json.RawMessage) (string, error) {
	if t.gpath == "" {
		t.gpath = gjsonPath(pathSteps(t.field))
	}
	r := gjson.GetBytes(rec, t.gpath)
	switch {
	case !r.Exists() || r.Type == gjson.Null:
		return "", nil
	case r.Type == gjson.Number:
		return r.Raw, nil
	case r.Type == gjson.String && plainASCII(r.Raw):
		return r.Str, nil
	}
	return stringAt(validDoc(rec), t.field)
}

// plainASCII reports whether a raw JSON string has no escape and no
// non-ASCII byte: its text is the bytes between the quotes.
func plainASCII(raw string) bool {
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c == '\\' || c >= 0x80 {
			return false
		}
	}
	return true
}

// result is the new cursor: the largest of before, what landed and, for a
// closed span, its end; saved normalised.
func (t *tracker) result(before string) (string, error) {
	best, have := cursorval.Value{}, false
	consider := func(v cursorval.Value) error {
		if !have {
			best, have = v, true
			return nil
		}
		c, err := v.Compare(best)
		if err != nil {
			return fmt.Errorf("cursor field %s: %w", t.field, err)
		}
		if c > 0 {
			best = v
		}
		return nil
	}
	if before != "" {
		b, err := t.rules.saved(before, "the saved cursor")
		if err != nil {
			return "", err
		}
		if err := consider(b); err != nil {
			return "", err
		}
	}
	if t.set {
		if err := consider(t.max); err != nil {
			return "", err
		}
	}
	if t.sp.closed && t.sp.cap != nil {
		if err := consider(*t.sp.cap); err != nil {
			return "", err
		}
	}
	if !have || (before != "" && !t.set && !t.sp.closed) {
		return before, nil // unchanged, as saved
	}
	return best.String(), nil
}

// planSpan is the span of a run that is not a window slice: from the saved
// cursor minus the look-back (or start), up to cursor.end when set.
func planSpan(c *config.Cursor, before string, now time.Time) (span, error) {
	r := newCursorRules(c)
	var sp span
	from, err := runStart(r, before)
	if err != nil {
		return sp, err
	}
	sp.from = from
	if c.End != "" {
		end, err := r.saved(c.End, "cursor.end")
		if err != nil {
			return sp, err
		}
		sp.cap, sp.until = &end, &end
		sp.closed = end.Kind == cursorval.Int || !end.T.After(now)
	} else if c.EndParam != "" {
		n := cursorval.Value{Kind: cursorval.Time, T: now}
		sp.until = &n
	}
	return sp, nil
}

// runStart is where a run starts reading: the saved cursor minus the
// look-back, or start on a first run, or nil.
func runStart(r cursorRules, before string) (*cursorval.Value, error) {
	if before == "" {
		if r.c.Start == "" {
			return nil, nil
		}
		v, err := r.saved(r.c.Start, "cursor.start")
		return &v, err
	}
	v, err := r.saved(before, "the saved cursor")
	if err != nil {
		return nil, err
	}
	if lb := r.c.Lookback; !lb.IsZero() {
		if (v.Kind == cursorval.Int) != lb.Int {
			return nil, &CursorKindError{Field: r.c.Field, What: fmt.Sprintf("has the saved value %q", before), Got: v.Kind,
				Want: map[bool]cursorval.Kind{true: cursorval.Int, false: cursorval.Time}[lb.Int], From: "lookback " + lb.String()}
		}
		v = v.Back(lb.Dur, lb.N)
	}
	return &v, nil
}

// params are the query parameters a span sends.
func (sp span) params(c *config.Cursor) map[string]string {
	out := map[string]string{}
	if sp.from != nil && c.Param != "" {
		out[c.Param] = sp.from.Param(c.SendFormat)
	}
	if sp.until != nil && c.EndParam != "" {
		out[c.EndParam] = sp.until.Param(c.SendFormat)
	}
	return out
}
