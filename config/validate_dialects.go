package config

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// dialects checks a REST listing's request dialect (method, body, where
// the page parameter goes) and the stop rules and token sources of its
// pagination, and fills in their defaults: method GET (POST with a body),
// in query (body with POST). keys is the listing's key path (streams.NAME
// or streams.NAME.reconcile).
func (v *validator) dialects(keys []string, method *string, body map[string]any, records string, p *Pagination) {
	k := func(ks ...string) []string { return append(slices.Clone(keys), ks...) }
	pk := func(ks ...string) []string { return k(append([]string{"pagination"}, ks...)...) }
	switch m := strings.ToUpper(*method); m {
	case "":
		*method = http.MethodGet
		if body != nil {
			*method = http.MethodPost
		}
	case http.MethodGet, http.MethodPost:
		*method = m
	default:
		v.fail(k("method"), "unknown method %q: use GET or POST", *method)
	}
	if body != nil && *method == http.MethodGet {
		v.fail(k("body"), "a body needs method: POST (GET requests carry no body)")
	}
	switch p.In {
	case "":
		p.In = InQuery
		if *method == http.MethodPost {
			p.In = InBody
		}
	case InQuery, InHeader:
	case InBody:
		if *method != http.MethodPost {
			v.fail(pk("in"), "in: body needs method: POST (or a body: template)")
		}
	default:
		v.fail(pk("in"), "unknown in %q: use query, body or header (where the page parameter goes)", p.In)
	}
	if p.In == InBody && p.Param != "" {
		if err := bodyPathFree(body, SplitPath(p.Param)); err != nil {
			v.fail(pk("param"), "param %q cannot be set in the body: %v", p.Param, err)
		}
	}
	if p.In == InHeader {
		for _, kv := range [][2]string{{"param", p.Param}, {"limit_param", p.LimitParam}, {"size_param", p.SizeParam}} {
			if kv[1] != "" && !validHeaderName(kv[1]) {
				v.fail(pk(kv[0]), "in: header: %q is not a valid header name", kv[1])
			}
		}
	}
	if records == RecordsWhole && p.Type != PageNone {
		v.fail(k("records"), `records: "." lands the whole response as one record, which needs pagination type none (have %s)`, p.Type)
	}
	v.tokenSource(pk, p)
	if p.HasMore != "" && p.EndFlag != "" {
		v.fail(pk("end_flag"), "has_more and end_flag say the same thing (end_flag is true on the last page): set one of them")
	}
	v.endStatuses(pk, p)
}

// tokenSource checks where a cursor pagination reads its next token: one
// of next (a body path), next_from_last_record (a path in the page's last
// record) and next_header (a response header).
func (v *validator) tokenSource(pk func(...string) []string, p *Pagination) {
	set := 0
	for _, s := range []string{p.Next, p.NextFromLastRecord, p.NextHeader} {
		if s != "" {
			set++
		}
	}
	if p.Type != PageCursor {
		for _, kv := range [][2]string{{"next_from_last_record", p.NextFromLastRecord}, {"next_header", p.NextHeader}} {
			if kv[1] != "" {
				v.fail(pk(kv[0]), "%s is for pagination type cursor (have %s)", kv[0], p.Type)
			}
		}
		return
	}
	switch {
	case set == 0:
		v.fail(pk("next"), "pagination type cursor needs next (the body path of the next-page token), next_from_last_record (the field of the page's last record that is the token, e.g. id) or next_header (the response header that carries it)")
	case set > 1:
		v.fail(pk("next"), "set only one of next, next_from_last_record and next_header: they are three places to read the next-page token from")
	}
	if p.NextHeader != "" && !validHeaderName(p.NextHeader) {
		v.fail(pk("next_header"), "%q is not a valid header name", p.NextHeader)
	}
}

// endStatuses checks end_statuses: for offset and page only (the types
// whose next request rawland computes), client errors only, and none that
// can mean a refused credential or a rate limit (such an answer mid-walk
// must fail the run, not end it as complete).
func (v *validator) endStatuses(pk func(...string) []string, p *Pagination) {
	if len(p.EndStatuses) == 0 {
		return
	}
	if p.Type != PageOffset && p.Type != PagePage {
		v.fail(pk("end_statuses"), "end_statuses is for pagination types offset and page, whose next request rawland computes (have %s)", p.Type)
		return
	}
	for _, st := range p.EndStatuses {
		switch {
		case st < 400 || st > 499:
			v.fail(pk("end_statuses"), "end status %d is not a client error: list 4xx statuses the API answers past the last page, e.g. [400, 404]", st)
		case st == http.StatusUnauthorized || st == http.StatusForbidden || st == http.StatusProxyAuthRequired ||
			st == http.StatusRequestTimeout || st == http.StatusTooManyRequests:
			v.fail(pk("end_statuses"), "end status %d cannot mean the end of a listing: it also answers a refused credential, a timeout or a rate limit, which must fail the run", st)
		}
	}
}

// bodyPathFree reports whether a value can be set at steps in the body
// template: every step before the last is absent or a mapping.
func bodyPathFree(body map[string]any, steps []string) error {
	var cur any = body
	for i, st := range steps {
		if st == "" {
			return fmt.Errorf("empty key in the path")
		}
		m, ok := cur.(map[string]any)
		if cur == nil {
			return nil
		}
		if !ok {
			return fmt.Errorf("%s is not a mapping in the body template", strings.Join(steps[:i], "."))
		}
		cur = m[st]
	}
	return nil
}

// validHeaderName reports whether s is an RFC 9110 field name (a token).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}
