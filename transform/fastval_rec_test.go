package transform

import (
	"slices"
	"testing"
)

// objectsOf lists every object and array of raw (valid JSON, no duplicate
// keys) in the order of their first byte, with their members (items),
// read independently of the validator: the reference for its recording.
func objectsOf(raw []byte) (starts []int, members [][]memberSpan) {
	var st fastState
	st.b = raw
	var walk func()
	walk = func() {
		st.ws()
		switch raw[st.pos] {
		case '{':
			i := len(starts)
			starts, members = append(starts, st.pos), append(members, nil)
			st.pos++
			for {
				st.ws()
				if raw[st.pos] == '}' {
					st.pos++
					return
				}
				k0 := st.pos
				key, _ := st.str()
				k1 := st.pos - 1
				st.ws()
				st.pos++ // ':'
				st.ws()
				v0 := st.pos
				walk()
				members[i] = append(members[i], memberSpan{key0: int32(k0 + 1), key1: int32(k1), val0: int32(v0), val1: int32(st.pos), plainKey: len(key) == k1-k0-1})
				st.ws()
				if raw[st.pos] == ',' {
					st.pos++
				}
			}
		case '[':
			i := len(starts)
			starts, members = append(starts, st.pos), append(members, nil)
			st.pos++
			for {
				st.ws()
				if raw[st.pos] == ']' {
					st.pos++
					return
				}
				v0 := st.pos
				walk()
				members[i] = append(members[i], memberSpan{val0: int32(v0), val1: int32(st.pos)})
				st.ws()
				if raw[st.pos] == ',' {
					st.pos++
				}
			}
		default:
			skipValue(&st)
		}
	}
	walk()
	return starts, members
}

// TestFastValidatorRecording: what the validator records of a record's
// objects and arrays equals an independent reading of the record, also
// under schemas that walk values more than once (applicators,
// dependencies, pattern properties, propertyNames, contains), at the root
// and nested.
func TestFastValidatorRecording(t *testing.T) {
	sub := `{"type":"object","properties":{"x":{"type":"integer"},"o":{"type":"object"}},"patternProperties":{"^x":{"minimum":0}}}`
	schemas := []string{
		`{}`,
		`{"type":"object","properties":{"a":` + sub + `,"l":{"type":"array","items":` + sub + `}}}`,
		`{"allOf":[{"type":"object"},{"properties":{"a":` + sub + `}}],"anyOf":[{"required":["a"]},{"required":["l"]}]}`,
		`{"not":{"required":["zz"]},"if":{"properties":{"a":{"required":["x"]}}},"then":{"properties":{"l":{"minItems":1}}},"else":{"properties":{"a":{"oneOf":[` + sub + `,{"type":"object","required":["o"]}]}}}}`,
		`{"dependencies":{"a":{"properties":{"a":` + sub + `}},"l":["a"]},"propertyNames":{"maxLength":3},"patternProperties":{".":{"type":["object","array","string","number","null"]}}}`,
		`{"properties":{"l":{"contains":{"type":"object"},"items":{"anyOf":[{"type":"array"},` + sub + `]}}}}`,
		`{"properties":{"a":{"$ref":"#/definitions/d"}},"additionalProperties":{"$ref":"#/definitions/d"},"definitions":{"d":{"anyOf":[{"type":"string"},` + sub + `]}}}`,
	}
	records := []string{
		`{}`,
		`{"a":{"x":1,"o":{"p":{}},"xy":2},"l":[{"x":1},{"o":{"q":[{"r":{}}]}},[],{}]}`,
		` { "a" : { "x" : 1 , "o" : { } } , "l" : [ { "x" : -1 } ] , "s" : "\u0061" , "\u0062" : { "c" : [ { } ] } } `,
		`{"a":{"x":1},"zz":{"y":{"z":{"w":1}}}}`,
		`{"l":[{"x":1,"o":{"k":"v"}},{"x":2}],"a":{"x":3}}`,
		`{"a":"s","b":[{"x":[{"y":{}}]}],"c":{"d":{"e":{"f":{}}}}}`,
		`{"a":{"x":-5,"xa":-1},"l":[]}`,
		`[[],[[{}]],{"a":[1,[2]]}]`,
		`[1,{"a":[]}]`,
		`{"l":[[1,2],[[],{"x":1}],{"x":2}],"m":[[[[]]]]}`,
	}
	decided := 0
	for si, body := range schemas {
		s := fuzzSchema(t, []byte(body))
		if s == nil || s.fast == nil {
			t.Fatalf("schema %d: no fast validator", si)
		}
		for _, rec := range records {
			st := fastState{rec: true}
			if s.fast.validate([]byte(rec), &st) == fastUnsure {
				continue
			}
			decided++
			checkRecording(t, &st, []byte(rec), body)
		}
	}
	if decided < len(schemas)*len(records)*3/4 {
		t.Errorf("the validator decided only %d of %d", decided, len(schemas)*len(records))
	}
}

// checkRecording fails unless st's recording of raw (which it decided)
// equals objectsOf's reading.
func checkRecording(t *testing.T, st *fastState, raw []byte, schema string) {
	t.Helper()
	starts, members := objectsOf(raw)
	if len(st.objs) != len(starts) {
		t.Fatalf("schema %s, record %s: %d objects and arrays recorded, want %d", schema, raw, len(st.objs), len(starts))
	}
	for i, start := range starts {
		got, ok := st.membersAt(start)
		if !ok || !slices.Equal(got, members[i]) {
			t.Fatalf("schema %s, record %s, at %d: recorded %v (%v), want %v", schema, raw, start, got, ok, members[i])
		}
	}
}
