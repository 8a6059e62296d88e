package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Numeric settings are range-checked so that a config that cannot work is
// refused at load (exit 2) instead of failing, hanging or silently
// misbehaving at run time. A key that is absent (or null) gets its
// default; a key that is present must be inside its range. Zero is in a
// range only where it means something (lock_wait: 0s = do not wait;
// pagination.start: 0 = zero-based pages); transform.batch_size: 0 is
// the default, as it always was.

// intRange is the allowed range of an integer setting.
type intRange struct {
	def, min, max int
	zeroIsDefault bool // an explicit 0 means the default
	what          string
}

// Integer settings.
var (
	rangeBatchSize   = intRange{def: DefaultBatchSize, min: 1, max: 1_000_000, zeroIsDefault: true, what: "records per transform batch"}
	rangeConcurrency = intRange{def: DefaultConcurrency, min: 1, max: 256, what: "requests in flight for this source"}
	rangeRequests    = intRange{min: 1, max: 1_000_000_000, what: "requests per period"}
	rangeAttempts    = intRange{def: DefaultMaxAttempts, min: 1, max: 100, what: "attempts per request, the first included"}
	rangeMaxPages    = intRange{def: DefaultMaxPages, min: 1, max: 1_000_000_000, what: "pages per walk"}
	rangePageRecords = intRange{min: 1, max: 1_000_000, what: "records per page"}
	rangePageStart   = intRange{def: 1, min: 0, max: 1_000_000_000, what: "the first page's number"}
	rangeDQBatch     = intRange{def: DefaultDQBatch, min: 1, max: 100_000, what: "IDs per delta-queue cycle"}
	rangeWorkerNice  = intRange{def: DefaultWorkerNice, min: 0, max: 19, what: "steps of nice below the process for transform's validation workers (0 = as the process)"}
)

// durRange is the allowed range of a duration setting.
type durRange struct {
	def, min, max time.Duration
}

// Duration settings.
var (
	rangeLeaseTTL       = durRange{def: DefaultLeaseTTL, min: time.Second, max: 24 * time.Hour}
	rangeReconcileEvery = durRange{def: DefaultReconcileEvery, min: time.Second, max: 8760 * time.Hour}
	rangeLockWait       = durRange{def: DefaultLockWait, min: 0, max: 24 * time.Hour}
	rangeStaleAfter     = durRange{def: DefaultStaleAfter, min: time.Minute, max: 8760 * time.Hour}
	rangeRatePer        = durRange{min: time.Millisecond, max: 8760 * time.Hour}
	rangeInitialBackoff = durRange{def: DefaultInitialBackoff, min: time.Millisecond, max: time.Hour}
	rangeMaxBackoff     = durRange{def: DefaultMaxBackoff, min: time.Millisecond, max: 24 * time.Hour}
	rangeTimeout        = durRange{def: DefaultTimeout, min: time.Millisecond, max: 24 * time.Hour}
	rangeMaxDuration    = durRange{def: DefaultMaxDuration, min: time.Millisecond, max: 720 * time.Hour}
	rangeDQDeadline     = durRange{def: DefaultDQDeadline, min: time.Second, max: 24 * time.Hour}
)

// sizeRange is the allowed range of a byte-size setting.
type sizeRange struct {
	def, min, max int64
}

// Size settings.
var (
	rangeMemoryLimit      = sizeRange{def: DefaultMemoryLimit, min: 64 << 20, max: 1 << 40}
	rangeRollBytes        = sizeRange{def: DefaultRollBytes, min: 1 << 10, max: 64 << 30}
	rangeMaxResponseBytes = sizeRange{def: DefaultMaxResponseBytes, min: 1 << 10, max: 4 << 30}
)

// set reports whether the config file gives keys a non-null value.
func (v *validator) set(keys []string) bool {
	n := v.root
	for _, k := range keys {
		if n == nil || n.Kind != yaml.MappingNode {
			return false
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				next = n.Content[i+1]
			}
		}
		for next != nil && next.Kind == yaml.AliasNode {
			next = next.Alias
		}
		n = next
	}
	return n != nil && !(n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

// checkInt applies r to the integer at keys: the default when unset,
// else an error unless it is inside the range.
func (v *validator) checkInt(keys []string, p *int, r intRange) {
	if !v.set(keys) || (*p == 0 && r.zeroIsDefault) {
		*p = r.def
		return
	}
	if *p < r.min || *p > r.max {
		v.fail(keys, "%d is out of range: %s must be %s to %s%s", *p, r.what, num(r.min), num(r.max), defaultNote(r.def != 0, num(r.def)))
	}
}

// checkDur applies r to the duration at keys.
func (v *validator) checkDur(keys []string, p *Duration, r durRange) {
	if !v.set(keys) {
		*p = Duration(r.def)
		return
	}
	if d := p.D(); d < r.min || d > r.max {
		v.fail(keys, "%s is out of range: use %s to %s%s", FormatDuration(d), FormatDuration(r.min), FormatDuration(r.max), defaultNote(r.def != 0, FormatDuration(r.def)))
	}
}

// checkSize applies r to the byte size at keys.
func (v *validator) checkSize(keys []string, p *Size, r sizeRange) {
	if !v.set(keys) {
		*p = Size(r.def)
		return
	}
	if s := int64(*p); s < r.min || s > r.max {
		v.fail(keys, "%s is out of range: use %s to %s%s", FormatSize(s), FormatSize(r.min), FormatSize(r.max), defaultNote(r.def != 0, FormatSize(r.def)))
	}
}

func defaultNote(has bool, def string) string {
	if !has {
		return ""
	}
	return fmt.Sprintf(" (default %s: leave the key out to get it)", def)
}

// num writes an integer with thousands separators.
func num(n int) string {
	s := strconv.Itoa(n)
	if n < 10000 && n > -10000 {
		return s
	}
	var out []byte
	for i, c := range []byte(s) {
		if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			out = append(out, ',')
		}
		out = append(out, c)
	}
	return string(out)
}

// FormatSize writes a byte count with the largest exact KiB/MiB/GiB/TiB
// suffix ("64MiB"), as ParseSize reads it.
func FormatSize(n int64) string {
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n != 0 && n%u.mult == 0 {
			return fmt.Sprintf("%d%s", n/u.mult, u.suffix)
		}
	}
	return fmt.Sprintf("%dB", n)
}

// FormatDuration writes d as a Go duration without trailing zero units
// ("24h", "1m30s", "500ms").
func FormatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
