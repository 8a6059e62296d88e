package transform

import (
	"bytes"
	"slices"
	"testing"

	"github.com/rawland/rawland/mockapi"
)

// canonSchema's field names are out of name order at both levels, so
// that extra members sort before, between and after them.
const canonSchema = `{
  "type": "object",
  "required": ["m"],
  "properties": {
    "m": {"type": "integer"},
    "c": {"type": ["string", "null"]},
    "x": {"type": "object", "properties": {"q": {"type": "number"}, "b": {"type": "boolean"}, "k": {"type": ["array", "null"], "items": {"type": "string"}}}},
    "a": {"type": "array", "items": {"type": "object", "properties": {"z": {"type": "string"}, "y": {}}}},
    "j": {}
  }
}`

var canonRecords = []string{
	`{"m":1}`,
	`{"m":1,"c":"s","x":{"q":1.5,"b":true,"k":["a"]},"a":[{"z":"1","y":2}],"j":{"b":1,"a":[{"d":1,"c":2}]}}`,
	`{"j":null,"a":[],"x":{},"c":null,"m":2}`,
	`{"m":3,"0":1,"b":2,"d":3,"n":4,"zz":{"y":1,"x":[{"b":1,"a":2}]},"A":true}`,
	`{"m":4,"x":{"a":1,"c":[1,{"b":2,"a":1}],"q":2,"r":"é","k":null}}`,
	`{"m":5,"c":"esc \" \\ \/ \b\f\n\r\t \u00e9 \ud83d\ude00 \ud800 \u0000","x":{"k":["\u00e9","\n",""]}}`,
	`{"m":6,"a":[{"z":"\u00e9","y":{"b":1,"a":2},"w":1,"zz":2},{},{"y":null}]}`,
	` { "m" : 7 , "c" : "x" , "x" : { "q" : -0.0e-5 , "b" : false } , "a" : [ { "z" : "" } ] , "j" : [ 1 , 2.50 , true ] } `,
	`{"m":8,"":1,"x":{"":{"":[]}}}`,
	`{"m":9,"` + "\u00e9" + `":1,"c":"` + "\u2028\u2029" + `"}`,
	`{"m":10,"mm":1,"m0":2,"l":3}`,    // extras that share a prefix with a field name
	`{"m":11,"\u0063":"escaped key"}`, // refused by the converter: the next record must not notice
	`{"m":12,"c":"after a refused record"}`,
	`{"m":13,"x":{"q":1,"x.y":1},"x.y":2}`, // two extras with one path: refused
	`{"m":14,"a":[{"z":"after another"}]}`,
}

// TestConverterCanonical: the canonical encoding the converter builds
// while converting (canon.go) equals appendCanonical's of the record's
// bytes and canonical's of its decoded value, byte for byte, on every
// record it converts: fields out of name order, extra members sorted in
// between at every level, escapes, empty objects and arrays, JSON
// columns, whitespace, and the mock's streams.
func TestConverterCanonical(t *testing.T) {
	type tc struct {
		s    *Schema
		recs [][]byte
	}
	var cases []tc
	var rs [][]byte
	for _, r := range canonRecords {
		rs = append(rs, []byte(r))
	}
	// the cursor is read after the hash's encoding is complete, from the
	// same buffers
	cases = append(cases, tc{streamSchema(t, canonSchema, "m", "m"), rs})
	rs = nil
	for _, r := range kindsRecords {
		rs = append(rs, []byte(r))
	}
	cases = append(cases, tc{streamSchema(t, kindsSchema, "id", "meta.seen"), rs})
	mock := mockapi.New(mockapi.Options{Seed: 4, Size: 300, Drift: 0.1})
	mock.Advance(100)
	for name, body := range mock.Schemas() {
		rs = nil
		for r := range mock.Truth(name) {
			rs = append(rs, r)
		}
		cases = append(cases, tc{streamSchema(t, string(body), "id", "updated_at"), rs})
	}
	converted := 0
	for _, c := range cases {
		bc := newBytesConv(c.s)
		bc2 := newBytesConv(c.s)
		st := fastState{rec: true}
		var js jsonScratch
		for _, r := range c.recs {
			if c.s.fast.validate(r, &st) != fastValid {
				continue
			}
			// the objects as the validator recorded them, or read by the
			// converter itself: the same verdict and tape
			ok, ok2 := bc.row(r, 0, &st.recording), bc2.row(r, 0, nil)
			if ok != ok2 {
				t.Fatalf("record %s: converted with the validator's recording %v, without %v", r, ok, ok2)
			}
			if !ok {
				continue
			}
			converted++
			if !slices.Equal(bc.cells, bc2.cells) || !bytes.Equal(bc.sbuf, bc2.sbuf) || !bytes.Equal(bc.hbuf, bc2.hbuf) {
				t.Fatalf("record %s: the tape differs with and without the validator's recording", r)
			}
			want, ok := js.appendCanonical(nil, r, 0)
			if !ok {
				t.Fatalf("appendCanonical refuses %s, which the converter took", r)
			}
			if !bytes.Equal(bc.hbuf, want) {
				t.Fatalf("record %s:\n converter %q\nappendCanonical %q", r, bc.hbuf, want)
			}
			v, err := decodeRecord(r)
			if err != nil {
				t.Fatal(err)
			}
			if dec := canonical(nil, v); !bytes.Equal(bc.hbuf, dec) {
				t.Fatalf("record %s:\n converter %q\ncanonical %q", r, bc.hbuf, dec)
			}
		}
	}
	if converted < len(canonRecords)-2+300 {
		t.Errorf("the converter took only %d records", converted)
	}
}
