package ingest

import (
	"encoding/json"
	"testing"
)

// TestTrackerFieldTextMatchesStringAt checks that the tracker's in-place
// reading of the cursor field gives what stringAt gives, for every kind of
// value a record can hold there.
func TestTrackerFieldTextMatchesStringAt(t *testing.T) {
	cases := []struct {
		name, field, rec string
	}{
		{"plain string", "updated_at", `{"id":1,"updated_at":"2024-01-02T03:04:05Z"}`},
		{"escaped string", "updated_at", `{"updated_at":"2024-01-02T03:04:05\u005A"}`},
		{"escaped slash", "u", `{"u":"a\/b"}`},
		{"non-ASCII string", "u", `{"u":"2024-01-02 Zürich"}`},
		{"invalid UTF-8", "u", "{\"u\":\"a\xffb\"}"},
		{"integer", "seq", `{"seq":12345678901234567890}`},
		{"negative float", "seq", `{"seq":-1.5e3}`},
		{"null", "u", `{"u":null}`},
		{"missing", "u", `{"v":"x"}`},
		{"empty string", "u", `{"u":""}`},
		{"nested", "meta.updated", `{"meta":{"updated":"2024-05-06"}}`},
		{"escaped dot in key", `a\.b`, `{"a.b":"7"}`},
		{"boolean", "u", `{"u":true}`},
		{"object", "u", `{"u":{"x":1}}`},
		{"array", "u", `{"u":[1]}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := json.RawMessage(tc.rec)
			want, wantErr := stringAt(validDoc(rec), tc.field)
			tr := &tracker{field: tc.field}
			got, err := tr.fieldText(rec)
			if got != want || (err == nil) != (wantErr == nil) {
				t.Errorf("fieldText = %q, %v; stringAt = %q, %v", got, err, want, wantErr)
			}
		})
	}
}
