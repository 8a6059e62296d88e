package config

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/rawland/rawland/internal/cursorval"
)

// Cursor configures incremental reads.
type Cursor struct {
	// Field is the record field that holds the high-water mark.
	Field string `yaml:"field"`
	// Param is the query parameter that sends the cursor (optional with
	// Filter "client").
	Param string `yaml:"param"`
	// Start is where the first run starts (a time or an integer).
	Start string `yaml:"start"`
	// Lookback re-reads a window behind the cursor: a duration for time
	// cursors, an integer for integer ones.
	Lookback Lookback `yaml:"lookback"`
	// Format is how record values are read: "" (auto), rfc3339, unix,
	// unix_ms, date, integer or a Go layout.
	Format string `yaml:"format"`
	// ParamFormat is how the value sent upstream is written: rfc3339,
	// unix, unix_ms, date or a Go layout (default: Format when it names a
	// time format, else rfc3339).
	ParamFormat string `yaml:"param_format"`
	// End is a fixed end of the range read (inclusive): records after it
	// are dropped and the saved cursor never moves past it.
	End string `yaml:"end"`
	// EndParam is the query parameter that sends the end of the range
	// (End, the window slice's end, or the run's start time).
	EndParam string `yaml:"end_param"`
	// Window walks the range in slices of this length, each slice one
	// committed run.
	Window Duration `yaml:"window"`
	// Filter is "server" (default: the upstream filters by Param) or
	// "client" (rawland drops records at or behind the cursor).
	Filter string `yaml:"filter"`
	// Order is the order of the records by cursor: "asc" (default) or
	// "desc" (with Filter client, paging stops at the first page wholly
	// behind the cursor).
	Order string `yaml:"order"`

	// ValueFormat is Format parsed.
	ValueFormat cursorval.Format `yaml:"-"`
	// SendFormat is ParamFormat parsed (with its default).
	SendFormat cursorval.Format `yaml:"-"`
	// Type is the cursor's kind as far as the config tells (Unknown: the
	// data decides); TypeFrom names the key that tells.
	Type     cursorval.Kind `yaml:"-"`
	TypeFrom string         `yaml:"-"`
	// UnixNumbers says numbers in records are Unix times (Format is unix
	// or unix_ms, or Start or End is a time).
	UnixNumbers bool `yaml:"-"`
}

// Cursor filters.
const (
	FilterServer = "server"
	FilterClient = "client"
)

// Lookback is a look-back written as a duration ("10m", for time cursors)
// or an integer ("100", for integer cursors).
type Lookback struct {
	Dur time.Duration
	N   int64
	// Int says it was written as an integer.
	Int  bool
	text string // as written
}

// D returns a duration look-back (0 for an integer one).
func (l Lookback) D() time.Duration { return l.Dur }

// IsZero reports whether there is no look-back.
func (l Lookback) IsZero() bool { return l.Dur == 0 && l.N == 0 }

func (l Lookback) String() string {
	if l.text != "" {
		return l.text
	}
	if l.Int {
		return strconv.FormatInt(l.N, 10)
	}
	return l.Dur.String()
}

// UnmarshalYAML reads an integer or a duration.
func (l *Lookback) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a look-back such as 10m (time cursor) or 100 (integer cursor), got a %s", n.Line, kindName(n))
	}
	s := strings.TrimSpace(n.Value)
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		if i < 0 {
			return fmt.Errorf("line %d: lookback %q must not be negative", n.Line, n.Value)
		}
		*l = Lookback{N: i, Int: true, text: s}
		return nil
	}
	d, err := parseDuration(s)
	if err != nil {
		return fmt.Errorf("line %d: bad lookback %q: want a duration such as 10m or 1d (time cursor) or an integer such as 100 (integer cursor)", n.Line, n.Value)
	}
	if d < 0 {
		return fmt.Errorf("line %d: lookback %q must not be negative", n.Line, n.Value)
	}
	*l = Lookback{Dur: d, text: s}
	return nil
}

// MarshalYAML writes the look-back as it was given.
func (l Lookback) MarshalYAML() (any, error) {
	if l.Int {
		return l.N, nil
	}
	return l.Dur.String(), nil
}

var daysRE = regexp.MustCompile(`^(\d+)d(.*)$`)

// parseDuration is time.ParseDuration that also takes a leading number of
// days ("1d", "7d", "1d12h").
func parseDuration(s string) (time.Duration, error) {
	if m := daysRE.FindStringSubmatch(s); m != nil {
		days, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil || days > 100000 {
			return 0, fmt.Errorf("bad duration %q", s)
		}
		var rest time.Duration
		if m[2] != "" {
			if rest, err = time.ParseDuration(m[2]); err != nil {
				return 0, err
			}
		}
		return time.Duration(days)*24*time.Hour + rest, nil
	}
	return time.ParseDuration(s)
}

// cursor validates a stream's cursor block and works out its kind.
func (v *validator) cursor(keys []string, s *Stream) {
	c := s.Cursor
	k := func(ks ...string) []string { return append(append([]string{}, keys...), ks...) }
	if c.Field == "" {
		v.fail(k("field"), "cursor needs field: the record field holding the high-water mark")
	}
	switch c.Filter {
	case "":
		c.Filter = FilterServer
	case FilterServer, FilterClient:
	default:
		v.fail(k("filter"), "unknown filter %q: use server (the upstream filters by param) or client (rawland drops records at or behind the cursor)", c.Filter)
	}
	switch c.Order {
	case "":
		c.Order = "asc"
	case "asc", "desc":
	default:
		v.fail(k("order"), "unknown order %q: use asc or desc (the order of the records by the cursor field)", c.Order)
	}
	if c.Param == "" && c.Filter != FilterClient && s.Kind != KindExport {
		v.fail(k("param"), "cursor needs param: the query parameter that sends it (or filter: client for a feed the upstream does not filter)")
	}
	var err error
	if c.ValueFormat, err = cursorval.ParseFormat(c.Format); err != nil {
		v.fail(k("format"), "%v", err)
	}
	c.SendFormat = cursorval.Format{Name: cursorval.Rfc3339}
	if c.ValueFormat.Kind() == cursorval.Time {
		c.SendFormat = c.ValueFormat
	}
	if c.ParamFormat != "" {
		pf, err := cursorval.ParseFormat(c.ParamFormat)
		if err == nil && pf.Kind() != cursorval.Time {
			err = fmt.Errorf("param_format %q: use rfc3339, unix, unix_ms, date or a Go layout (an integer cursor is sent as it is)", c.ParamFormat)
		}
		if err != nil {
			v.fail(k("param_format"), "%v", err)
		} else {
			c.SendFormat = pf
		}
	}
	v.cursorKind(keys, c)
	if c.Window < 0 {
		v.fail(k("window"), "window must be > 0")
	}
	if c.Window > 0 && c.Start == "" {
		v.fail(k("start"), "window %s needs start: where the backfill begins", c.Window.D())
	}
	if c.EndParam != "" && c.Param == "" {
		v.fail(k("end_param"), "end_param needs param: the query parameter for the start of the range")
	}
	if s.Kind == "delta_queue" {
		v.fail(keys, "a delta_queue stream has no cursor: the queue is its cursor")
	}
}

// cursorKind works out whether the cursor is a time or an integer from
// format, start, end, lookback, window and param_format, and fails keys
// that disagree.
func (v *validator) cursorKind(keys []string, c *Cursor) {
	k := func(ks ...string) []string { return append(append([]string{}, keys...), ks...) }
	claim := func(kind cursorval.Kind, key, why string) bool {
		switch {
		case kind == cursorval.Unknown:
		case c.Type == cursorval.Unknown:
			c.Type, c.TypeFrom = kind, why
		case c.Type != kind:
			hint := ""
			if kind == cursorval.Time || c.Type == cursorval.Time {
				hint = ". An integer cursor takes an integer lookback (lookback: 100) and no window or param_format; if its values are Unix times, set format: unix (or unix_ms) to make it a time cursor"
			}
			v.fail(k(key), "%s makes the cursor %s %s, but %s makes it %s%s", why, c.Field, aKind(kind), c.TypeFrom, aKind(c.Type), hint)
			return false
		}
		return true
	}
	if c.ValueFormat.Kind() != cursorval.Unknown {
		claim(c.ValueFormat.Kind(), "format", "format "+c.ValueFormat.String())
		c.UnixNumbers = c.ValueFormat.Kind() == cursorval.Time
	}
	var start, end cursorval.Value
	for _, e := range []struct {
		key, val string
		out      *cursorval.Value
	}{{"start", c.Start, &start}, {"end", c.End, &end}} {
		if e.val == "" {
			continue
		}
		val, err := cursorval.ReadSaved(e.val, c.ValueFormat, c.Type)
		if err != nil {
			v.fail(k(e.key), "bad %s %q: want an RFC 3339 time (2020-01-01T00:00:00Z), a date, an integer or a value in cursor.format: %v", e.key, e.val, err)
			continue
		}
		*e.out = val
		if claim(val.Kind, e.key, fmt.Sprintf("%s %q", e.key, e.val)) && val.Kind == cursorval.Time {
			c.UnixNumbers = true
		}
	}
	if start.Kind != cursorval.Unknown && end.Kind == start.Kind {
		if cmp, _ := start.Compare(end); cmp >= 0 {
			v.fail(k("end"), "end %q is not after start %q", c.End, c.Start)
		}
	}
	if !c.Lookback.IsZero() {
		if c.Lookback.Int {
			claim(cursorval.Int, "lookback", fmt.Sprintf("the integer lookback %d", c.Lookback.N))
		} else {
			claim(cursorval.Time, "lookback", fmt.Sprintf("the duration lookback %s", c.Lookback))
		}
	}
	if c.Window > 0 {
		claim(cursorval.Time, "window", fmt.Sprintf("window %s", c.Window.D()))
	}
	if c.ParamFormat != "" {
		claim(cursorval.Time, "param_format", "param_format "+c.ParamFormat)
	}
}

func aKind(k cursorval.Kind) string {
	if k == cursorval.Int {
		return "an integer"
	}
	return "a " + k.String()
}
