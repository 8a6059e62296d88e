package transform

import (
	"bytes"
	"testing"
)

// checkBytesJSON compares the byte-level encoders with jsonText and
// canonical on one valid JSON text without duplicate keys.
func checkBytesJSON(t *testing.T, data []byte) {
	t.Helper()
	v, ferr := decodeChecked(data)
	if ferr != nil {
		return
	}
	var sc jsonScratch
	want, err := jsonText(v)
	if err != nil {
		return
	}
	if got, ok := sc.appendJSONText(nil, data, 0); ok && string(got) != want {
		t.Fatalf("appendJSONText(%s) = %s, jsonText = %s", data, got, want)
	}
	wantC := canonical(nil, v)
	if got, ok := sc.appendCanonical(nil, data, 0); ok && !bytes.Equal(got, wantC) {
		t.Fatalf("appendCanonical(%s) = %q, canonical = %q", data, got, wantC)
	}
}

func TestBytesJSONMatchesDecoded(t *testing.T) {
	cases := []struct{ name, data string }{
		{"scalars", `[1, -0, 1.50, 1e400, true, false, null, ""]`},
		{"escapes", `"a\"b\\c\/d\b\f\n\r\t\u0001\u001f\u007f\u2028\u2029\ud83d\ude00\ud800 é <>&"`},
		{"sorted keys", ` { "b" : 1 , "a" : { "d" : [ ] , "c" : { } } } `},
		{"nested arrays", `[[[]],[{"x":[1,{"y":null}]}]]`},
		{"bench record", string(benchRecord(nil, 12))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { checkBytesJSON(t, []byte(tc.data)) })
	}
	n := 0
	for _, tc := range suiteCases(t, t.TempDir()) {
		checkBytesJSON(t, tc.data)
		n++
	}
	if n < 1000 {
		t.Fatalf("only %d suite documents", n)
	}
}

// FuzzBytesJSON holds the byte-level encoders to jsonText and canonical.
func FuzzBytesJSON(f *testing.F) {
	f.Add([]byte(`{"b":[1,2.0,"\u00e9"],"a":{"z":null,"y":true}}`))
	f.Add(benchRecord(nil, 3))
	f.Fuzz(func(t *testing.T, data []byte) { checkBytesJSON(t, data) })
}
