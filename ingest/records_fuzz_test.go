package ingest

import (
	"bytes"
	"encoding/json"
	"github.com/rawland/rawland/config"
	"testing"
)

// FuzzExtractRecords feeds arbitrary bodies and dot paths to the record
// extraction. It must never panic, and every record it returns must be
// valid JSON whose bytes occur in the body as sent. A body that is not
// valid JSON is an error, never records. For the top-level array (path
// "") the records are exactly the elements encoding/json finds.
func FuzzExtractRecords(f *testing.F) {
	for _, s := range []struct{ body, path string }{
		{`[{"id":1},{"id":2}]`, ""},
		{`{"data":[{"id":1,"n":1e400}],"total":1}`, "data"},
		{`{"data":{"items":[{"id":"x"}]}}`, "data.items"},
		{`{"data":null}`, "data"},
		{`{"data":{}}`, "data"},
		{`{"@odata.nextLink":"x","value":[1,2]}`, "value"},
		{`{"a.b":[{"id":1}]}`, "a.b"},
		{`{"a":{"b":[true,false,null,"s",[1]]}}`, "a.b"},
		{`{"a":[1,2]} trailing`, "a"},
		{`[{"id":1},]`, ""},
		{"[\"\xff\xfe\"]", ""},
		{`{"*":[1],"?":[2],"#":[3]}`, "*"},
		{`{"a":[1]}`, "a|@reverse"},
		{`{"a":[1]}`, "#"},
		{"[{\"id\":1}\n,\t{\"id\" : 2} ]", ""},
		{`{"id":1,"id":2,"items":[1],"items":[2,3]}`, "items"},
		{`[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]`, ""},
	} {
		f.Add([]byte(s.body), s.path)
	}
	f.Fuzz(func(t *testing.T, body []byte, path string) {
		recs, err := extractRecords(newDoc(body), path)
		if err != nil {
			return
		}
		if !json.Valid(body) {
			t.Fatalf("records %q extracted from a body that is not valid JSON: %q", recs, body)
		}
		for i, r := range recs {
			if !json.Valid(r) {
				t.Fatalf("record %d is not valid JSON: %q (body %q, path %q)", i, r, body, path)
			}
			if !bytes.Contains(body, r) {
				t.Fatalf("record %d %q does not occur in the body %q", i, r, body)
			}
		}
		if path == "" {
			var elems []json.RawMessage
			if err := json.Unmarshal(body, &elems); err != nil {
				t.Fatalf("records %q extracted from a body that is not an array: %v", recs, err)
			}
			if len(elems) != len(recs) {
				t.Fatalf("%d records extracted, encoding/json finds %d elements in %q", len(recs), len(elems), body)
			}
			for i := range elems {
				if !bytes.Equal(bytes.TrimSpace(elems[i]), recs[i]) {
					t.Fatalf("record %d is %q, encoding/json finds %q", i, recs[i], elems[i])
				}
			}
		}
	})
}

// FuzzLookup checks path lookups on arbitrary documents: a value found is
// valid JSON and occurs in the document; an invalid document is an error.
func FuzzLookup(f *testing.F) {
	for _, s := range []struct{ body, path string }{
		{`{"paging":{"next":{"after":"abc"}}}`, "paging.next.after"},
		{`{"has_more":true,"next_cursor":""}`, "next_cursor"},
		{`{"a":[{"b":1}]}`, "a.0.b"},
		{`{"a":1}`, ""},
		{`{"a":1}`, "a."},
		{`{"a":{"":2}}`, "a."},
		{`{"meta":{"total":"12"}}`, "meta.total"},
	} {
		f.Add([]byte(s.body), s.path)
	}
	f.Fuzz(func(t *testing.T, body []byte, path string) {
		v, ok, err := newDoc(body).lookup(path)
		if err != nil {
			return
		}
		if !json.Valid(body) {
			t.Fatalf("lookup of %q in a body that is not valid JSON succeeded: %q", path, body)
		}
		if !ok {
			return
		}
		if !json.Valid(v) || !bytes.Contains(body, v) {
			t.Fatalf("lookup of %q found %q: not valid JSON or not in the body %q", path, v, body)
		}
		// the typed readers never panic on what lookup finds
		_, _ = stringAt(newDoc(body), path)
		_, _, _ = newEndJudge("s", "/x", config.Pagination{HasMore: path}, 0, nil).readMore(newDoc(body))
	})
}
