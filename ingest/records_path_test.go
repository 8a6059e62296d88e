package ingest

import (
	"slices"
	"testing"
)

func TestPathSteps(t *testing.T) {
	cases := []struct {
		path string
		want []string
	}{
		{"data", []string{"data"}},
		{"paging.next.after", []string{"paging", "next", "after"}},
		{`@odata\.nextLink`, []string{"@odata.nextLink"}},
		{`meta.@odata\.count`, []string{"meta", "@odata.count"}},
		{`a\\.b`, []string{`a\`, "b"}},
		{`a\b`, []string{`a\b`}},
		{`trailing\`, []string{`trailing\`}},
		{"a..b", []string{"a", "", "b"}},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			if got := pathSteps(tc.path); !slices.Equal(got, tc.want) {
				t.Fatalf("pathSteps(%q) = %q, want %q", tc.path, got, tc.want)
			}
		})
	}
}

func TestLookupEscapedDotsAndKeysAlong(t *testing.T) {
	doc := newDoc([]byte(`{"@odata.nextLink":"u","a":{"b.c":1,"*":2},"paging":{"prev":"x"}}`))
	cases := []struct {
		path string
		want string // "" = absent
	}{
		{`@odata\.nextLink`, `"u"`},
		{"@odata.nextLink", ""},
		{`a.b\.c`, "1"},
		{"a.b.c", ""},
		{"a.*", "2"}, // a gjson wildcard is a plain key here
		{"a.?", ""},
	}
	for _, tc := range cases {
		v, ok, err := doc.lookup(tc.path)
		if err != nil || ok != (tc.want != "") || string(v) != tc.want {
			t.Errorf("lookup(%q) = %s, %v, %v; want %q", tc.path, v, ok, err, tc.want)
		}
	}
	if got, want := keysAlong(doc, "paging.next.after"), "keys at paging: prev"; got != want {
		t.Errorf("keysAlong = %q, want %q", got, want)
	}
	if got, want := keysAlong(doc, "next"), "top-level keys: @odata.nextLink, a, paging"; got != want {
		t.Errorf("keysAlong = %q, want %q", got, want)
	}
}
