package ingest

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/rawland/rawland/config"
	"github.com/rawland/rawland/ingest/fetch"
)

// pageReq is one request of a walk: the method and URL, and for a POST
// listing the JSON body and any page header. Setting a parameter returns a
// new pageReq and never changes the one it was made from, so that a page's
// request can be kept while the next is built.
type pageReq struct {
	method string
	url    *url.URL
	body   map[string]any // nil: no body
	header http.Header    // page headers (in: header); nil: none
}

// paramValue is a page parameter's value: a token (sent as a string) or
// an offset or page number (a number in a JSON body).
type paramValue struct {
	text   string
	number bool
}

func token(s string) paramValue { return paramValue{text: s} }
func number(n int) paramValue   { return paramValue{text: fmt.Sprint(n), number: true} }

// set returns r with the parameter name set to v where in says: the query
// string, the JSON body (name is a dot path into it) or a header.
func (r pageReq) set(in, name string, v paramValue) pageReq {
	switch in {
	case config.InBody:
		var val any = v.text
		if v.number {
			val = json.Number(v.text)
		}
		r.body = setPath(r.body, config.SplitPath(name), val)
	case config.InHeader:
		h := r.header.Clone()
		if h == nil {
			h = http.Header{}
		}
		h.Set(name, v.text)
		r.header = h
	default:
		c := *r.url
		q := c.Query()
		q.Set(name, v.text)
		c.RawQuery = q.Encode()
		r.url = &c
	}
	return r
}

// withURL returns r sent to u instead (a next link or URL); the method,
// body and headers stay.
func (r pageReq) withURL(u *url.URL) pageReq {
	r.url = u
	return r
}

// setPath returns a copy of m with v at the keys steps, copying only the
// mappings along the path (the template is shared by every request).
func setPath(m map[string]any, steps []string, v any) map[string]any {
	out := make(map[string]any, len(m)+1)
	maps.Copy(out, m)
	if len(steps) == 1 {
		out[steps[0]] = v
		return out
	}
	child, _ := m[steps[0]].(map[string]any)
	out[steps[0]] = setPath(child, steps[1:], v)
	return out
}

// encodeBody is the JSON body (nil when there is none). Keys are sorted,
// so equal bodies encode equally.
func (r pageReq) encodeBody() ([]byte, error) {
	if r.body == nil {
		return nil, nil
	}
	b, err := json.Marshal(r.body)
	if err != nil {
		return nil, fmt.Errorf("encode the request body: %w", err)
	}
	return b, nil
}

// request is the fetch.Request for r.
func (r pageReq) request(stream, runID string) (fetch.Request, error) {
	body, err := r.encodeBody()
	if err != nil {
		return fetch.Request{}, err
	}
	return fetch.Request{Method: r.method, URL: r.url.String(), Body: body, Header: r.header, Stream: stream, RunID: runID}, nil
}

// key identifies the request for the walk guard: two pages requested with
// equal keys are the same request (a loop).
func (r pageReq) key() string {
	var b strings.Builder
	b.WriteString(r.method)
	b.WriteByte(' ')
	b.WriteString(r.url.String())
	if body, err := r.encodeBody(); err == nil && body != nil {
		b.WriteByte('\n')
		b.Write(body)
	}
	for _, k := range slices.Sorted(maps.Keys(r.header)) {
		fmt.Fprintf(&b, "\n%s: %s", k, strings.Join(r.header[k], ", "))
	}
	return b.String()
}

// describe names the request in messages: its URL, and for a POST the
// body parameter or header that tells pages apart is in the page log.
func (r pageReq) describe() string {
	if r.method == "" || r.method == http.MethodGet {
		return r.url.String()
	}
	return r.method + " " + r.url.String()
}

// cloneBody returns a deep copy of a body template, so that no request
// shares a nested mapping with the config.
func cloneBody(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = cloneValue(v)
	}
	return out
}

func cloneValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return cloneBody(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = cloneValue(e)
		}
		return out
	}
	return v
}

// isInteger reports whether s is an integer literal (sent as a JSON
// number when an incremental cursor value goes in a body).
func isInteger(s string) bool {
	if s == "" {
		return false
	}
	if s[0] == '-' {
		s = s[1:]
	}
	if s == "" || (len(s) > 1 && s[0] == '0') {
		return false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
