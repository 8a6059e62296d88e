package mockapi

import (
	"strconv"
	"time"
)

// obj writes one JSON object's members, in call order, into a shared
// buffer. String values passed to it are JSON string contents that are
// already escaped (the generated data writes some characters as \u00e9 on
// purpose, and the served bytes must be exactly those).
type obj struct {
	b *[]byte
	n int
}

func (o *obj) key(k string) {
	if o.n > 0 {
		*o.b = append(*o.b, ',')
	}
	o.n++
	*o.b = append(*o.b, '"')
	*o.b = append(*o.b, k...)
	*o.b = append(*o.b, '"', ':')
}

// Int writes an integer member.
func (o *obj) Int(k string, v int64) {
	o.key(k)
	*o.b = strconv.AppendInt(*o.b, v, 10)
}

// Raw writes a member whose value is JSON text (a number as written, null).
func (o *obj) Raw(k, json string) {
	o.key(k)
	*o.b = append(*o.b, json...)
}

// Str writes a string member; esc is already-escaped string content.
func (o *obj) Str(k, esc string) {
	o.key(k)
	*o.b = append(*o.b, '"')
	*o.b = append(*o.b, esc...)
	*o.b = append(*o.b, '"')
}

// Bool writes a boolean member.
func (o *obj) Bool(k string, v bool) {
	o.key(k)
	*o.b = strconv.AppendBool(*o.b, v)
}

// Null writes a null member.
func (o *obj) Null(k string) { o.Raw(k, "null") }

// Time writes an RFC 3339 UTC timestamp member.
func (o *obj) Time(k string, sec int32) {
	o.key(k)
	*o.b = appendTime(*o.b, sec)
}

// Date writes a YYYY-MM-DD member.
func (o *obj) Date(k string, sec int32) {
	o.key(k)
	*o.b = append(*o.b, '"')
	*o.b = fromSec(sec).AppendFormat(*o.b, time.DateOnly)
	*o.b = append(*o.b, '"')
}

// Cents writes an amount in cents as a decimal number with two places.
func (o *obj) Cents(k string, cents int64) {
	o.key(k)
	*o.b = appendCents(*o.b, cents)
}

// Obj writes a nested object member.
func (o *obj) Obj(k string, fill func(*obj)) {
	o.key(k)
	*o.b = append(*o.b, '{')
	fill(&obj{b: o.b})
	*o.b = append(*o.b, '}')
}

// Strs writes an array of strings (already escaped).
func (o *obj) Strs(k string, vals []string) {
	o.key(k)
	*o.b = append(*o.b, '[')
	for i, v := range vals {
		if i > 0 {
			*o.b = append(*o.b, ',')
		}
		*o.b = append(*o.b, '"')
		*o.b = append(*o.b, v...)
		*o.b = append(*o.b, '"')
	}
	*o.b = append(*o.b, ']')
}

// Objs writes an array of n objects.
func (o *obj) Objs(k string, n int, fill func(i int, e *obj)) {
	o.key(k)
	*o.b = append(*o.b, '[')
	for i := range n {
		if i > 0 {
			*o.b = append(*o.b, ',')
		}
		*o.b = append(*o.b, '{')
		fill(i, &obj{b: o.b})
		*o.b = append(*o.b, '}')
	}
	*o.b = append(*o.b, ']')
}

func appendTime(b []byte, sec int32) []byte {
	b = append(b, '"')
	b = fromSec(sec).AppendFormat(b, time.RFC3339)
	return append(b, '"')
}

func appendCents(b []byte, cents int64) []byte {
	if cents < 0 {
		b = append(b, '-')
		cents = -cents
	}
	b = strconv.AppendInt(b, cents/100, 10)
	b = append(b, '.', byte('0'+cents%100/10), byte('0'+cents%10))
	return b
}

// appendJSONString writes s as a JSON string, escaping what JSON requires.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
