package ingest

import (
	"fmt"
	"net/url"
	"strings"
)

// linkPaginator follows RFC 8288 Link headers: <url>; rel="next".
type linkPaginator struct{}

func (linkPaginator) first(r pageReq) pageReq { return r }

// next: no rel="next" link is a clear end of the walk.
func (linkPaginator) next(p page) (nextPage, error) {
	for _, h := range p.Header.Values("Link") {
		if u, ok := nextLink(h); ok {
			ref, err := url.Parse(u)
			if err != nil {
				return nextPage{}, fmt.Errorf("bad Link next URL %q: %w", u, err)
			}
			return nextPage{kind: nextFollow, req: p.Req.withURL(p.Req.url.ResolveReference(ref))}, nil
		}
	}
	return nextPage{kind: nextEnd}, nil
}

// nextLink returns the target of the rel="next" link in a Link header value.
// Hand-written: the standard library has no Link header parser and the
// grammar we need (comma-separated <uri>; params, rel may list several
// space-separated types) is small.
func nextLink(h string) (string, bool) {
	for len(h) > 0 {
		h = strings.TrimLeft(h, " ,")
		if !strings.HasPrefix(h, "<") {
			return "", false
		}
		end := strings.IndexByte(h, '>')
		if end < 0 {
			return "", false
		}
		target := h[1:end]
		h = h[end+1:]
		// params up to the next link (a comma outside quotes)
		var params string
		inQuote := false
		i := 0
		for ; i < len(h); i++ {
			c := h[i]
			if c == '"' {
				inQuote = !inQuote
			}
			if c == ',' && !inQuote {
				break
			}
		}
		params, h = h[:i], h[i:]
		for _, p := range strings.Split(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if !ok || !strings.EqualFold(strings.TrimSpace(k), "rel") {
				continue
			}
			for _, rel := range strings.Fields(strings.Trim(strings.TrimSpace(v), `"`)) {
				if strings.EqualFold(rel, "next") {
					return target, true
				}
			}
		}
	}
	return "", false
}
