package transform

import (
	"time"

	"github.com/xeipuuv/gojsonschema"
)

// gojsonschema v1.2.0 departs from draft-07 on formats in two ways that
// would make rawland's decisions wrong, so its process-wide checkers are
// adjusted once here:
//   - it applies string formats to numbers ("all string formats ignore
//     integers" in the JSON-Schema-Test-Suite): every checker is wrapped to
//     accept non-strings;
//   - its date-time also accepts a bare date or a bare time, which are not
//     RFC 3339 date-times and could not be stored as TIMESTAMPTZ: date-time
//     is checked as RFC 3339, exactly as the conversion parses it.
func init() {
	for name, c := range map[string]gojsonschema.FormatChecker{
		"date":                  gojsonschema.DateFormatChecker{},
		"time":                  gojsonschema.TimeFormatChecker{},
		"date-time":             rfc3339Checker{},
		"hostname":              gojsonschema.HostnameFormatChecker{},
		"email":                 gojsonschema.EmailFormatChecker{},
		"idn-email":             gojsonschema.EmailFormatChecker{},
		"ipv4":                  gojsonschema.IPV4FormatChecker{},
		"ipv6":                  gojsonschema.IPV6FormatChecker{},
		"uri":                   gojsonschema.URIFormatChecker{},
		"uri-reference":         gojsonschema.URIReferenceFormatChecker{},
		"iri":                   gojsonschema.URIFormatChecker{},
		"iri-reference":         gojsonschema.URIReferenceFormatChecker{},
		"uri-template":          gojsonschema.URITemplateFormatChecker{},
		"uuid":                  gojsonschema.UUIDFormatChecker{},
		"regex":                 gojsonschema.RegexFormatChecker{},
		"json-pointer":          gojsonschema.JSONPointerFormatChecker{},
		"relative-json-pointer": gojsonschema.RelativeJSONPointerFormatChecker{},
	} {
		gojsonschema.FormatCheckers.Add(name, stringsOnly{c})
	}
}

// stringsOnly applies a string format to strings only.
type stringsOnly struct{ gojsonschema.FormatChecker }

func (s stringsOnly) IsFormat(v any) bool {
	if _, ok := v.(string); !ok {
		return true
	}
	return s.FormatChecker.IsFormat(v)
}

// rfc3339Checker accepts RFC 3339 date-times (what TIMESTAMPTZ columns load).
type rfc3339Checker struct{}

func (rfc3339Checker) IsFormat(v any) bool {
	s, ok := v.(string)
	if !ok {
		return false
	}
	_, err := time.Parse(time.RFC3339Nano, s)
	return err == nil
}
