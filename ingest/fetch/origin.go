package fetch

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/rawland/rawland/config"
)

// maxRedirects is the most redirects one request follows.
const maxRedirects = 10

// originPolicy decides which origins (scheme://host[:port]) a Client may
// send requests to and which of them receive the credentials.
//
// With a home origin (Options.BaseURL), requests and redirect hops may go to
// home and to the allowed origins only; credentials go to home, and to the
// allowed origins only when sendToAllowed is set. Without one, every request
// is its own home: redirects to another origin are followed, without the
// credentials.
type originPolicy struct {
	home          string
	allowed       []string
	sendToAllowed bool
}

func newOriginPolicy(base string, allowed []string, sendToAllowed bool) (originPolicy, error) {
	p := originPolicy{sendToAllowed: sendToAllowed}
	if base != "" {
		u, err := url.Parse(base)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return p, fmt.Errorf("base URL %q is not an absolute http(s) URL", base)
		}
		p.home = config.Origin(u)
	}
	for _, a := range allowed {
		o, err := config.NormalizeOrigin(a)
		if err != nil {
			return p, fmt.Errorf("allowed origin %q: %v", a, err)
		}
		if !slices.Contains(p.allowed, o) {
			p.allowed = append(p.allowed, o)
		}
	}
	return p, nil
}

// homeFor returns the origin that receives credentials for a request whose
// first URL is first.
func (p originPolicy) homeFor(first *url.URL) string {
	if p.home != "" {
		return p.home
	}
	return config.Origin(first)
}

// permits reports whether a request (or redirect hop) may go to origin.
func (p originPolicy) permits(origin string) bool {
	return p.home == "" || origin == p.home || slices.Contains(p.allowed, origin)
}

// credentialed reports whether origin receives the credentials of a request
// whose home is home.
func (p originPolicy) credentialed(origin, home string) bool {
	return origin == home || (p.sendToAllowed && slices.Contains(p.allowed, origin))
}

// OriginError means a request or a redirect led to an origin that is
// neither the source's base_url origin nor one of its allowed_origins.
// Nothing was sent there. It is not retried.
type OriginError struct {
	// Source is the source name.
	Source string
	// Origin is the refused origin (scheme://host[:port]).
	Origin string
	// Home is the origin of the source's base_url.
	Home string
	// Allowed are the source's allowed_origins.
	Allowed []string
	// URL is the refused URL, secrets redacted.
	URL string
	// From is the redacted URL whose redirect led there ("" when the
	// request itself, e.g. a pagination link, pointed there).
	From string
}

// Error names both origins and says how to allow the foreign one.
func (e *OriginError) Error() string {
	var b strings.Builder
	if e.From != "" {
		fmt.Fprintf(&b, "source %q: %s redirected to %s, ", e.Source, e.From, e.URL)
	} else {
		fmt.Fprintf(&b, "source %q: request to %s ", e.Source, e.URL)
	}
	fmt.Fprintf(&b, "refused: origin %s is not the source's origin %s", e.Origin, e.Home)
	if len(e.Allowed) > 0 {
		fmt.Fprintf(&b, " nor in its allowed_origins [%s]", strings.Join(e.Allowed, ", "))
	}
	fmt.Fprintf(&b, "; nothing was sent there. If the upstream really serves its data from %s, add it to sources.%s.allowed_origins "+
		"(credentials go there only with send_credentials_to_allowed: true)", e.Origin, e.Source)
	return b.String()
}

// Unwrap returns ErrForeignOrigin.
func (e *OriginError) Unwrap() error { return ErrForeignOrigin }

// refuse builds the OriginError for u (reached by a redirect from from, if
// not nil).
func (c *Client) refuse(u, from *url.URL) *OriginError {
	e := &OriginError{Source: c.source, Origin: config.Origin(u), Home: c.origins.home,
		Allowed: c.origins.allowed, URL: redactURL(u, c.secrets)}
	if from != nil {
		e.From = redactURL(from, c.secrets)
	}
	return e
}

// credentials applies the source's credentials to req when its origin may
// receive them, and otherwise removes every trace of them: the
// Authorization header, any header or query parameter that carries a
// secret (an upstream may echo the key in a link). A secret left elsewhere
// in the URL (its path) makes the request fail rather than leak.
func (c *Client) credentials(req *http.Request, home string) error {
	if c.origins.credentialed(config.Origin(req.URL), home) {
		c.auth.Apply(req)
		return nil
	}
	return c.stripCredentials(req)
}

// stripCredentials removes every trace of the source's credentials from
// req (see credentials); it fails with ErrForeignOrigin when a secret is
// left in the URL's path.
func (c *Client) stripCredentials(req *http.Request) error {
	req.Header.Del("Authorization")
	req.Header.Del("Proxy-Authorization")
	if h, ok := c.auth.(headerAuth); ok {
		req.Header.Del(h.name)
	}
	raw := c.auth.Secrets()
	carries := func(v string) bool {
		return slices.ContainsFunc(raw, func(s string) bool { return s != "" && strings.Contains(v, s) })
	}
	for k, vs := range req.Header {
		if slices.ContainsFunc(vs, carries) {
			req.Header.Del(k)
		}
	}
	if req.URL.RawQuery != "" {
		q, _ := c.auth.(queryAuth)
		var kept []string
		for _, part := range strings.Split(req.URL.RawQuery, "&") {
			k, v, _ := strings.Cut(part, "=")
			name, err := url.QueryUnescape(k)
			if err != nil {
				name = k
			}
			val, err := url.QueryUnescape(v)
			if err != nil {
				val = v
			}
			if (q.name != "" && name == q.name) || carries(val) || carries(part) {
				continue
			}
			kept = append(kept, part)
		}
		req.URL.RawQuery = strings.Join(kept, "&")
	}
	req.URL.User = nil
	if s := req.URL.String(); Redact(s, c.secrets) != s {
		return fmt.Errorf("source %q: %s carries the source's credential in its path and its origin %s may not receive it; refusing to send it: %w",
			c.source, redactURL(req.URL, c.secrets), config.Origin(req.URL), ErrForeignOrigin)
	}
	return nil
}

// checkRedirect is the http.Client's redirect policy: at most maxRedirects
// hops; every hop's origin checked against the policy (a foreign one fails
// the request with *OriginError before anything is sent there); the
// credentials applied or stripped by the hop's origin (net/http compares
// host names only, ignoring the port and scheme); never a Referer. next is
// the caller's own policy, if any, run afterwards.
func (c *Client) checkRedirect(next func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		req.Header.Del("Referer")
		if len(via) >= maxRedirects {
			return fmt.Errorf("stopped after %d redirects", maxRedirects)
		}
		if !c.origins.permits(config.Origin(req.URL)) {
			return c.refuse(req.URL, via[len(via)-1].URL)
		}
		if err := c.credentials(req, c.origins.homeFor(via[0].URL)); err != nil {
			return err
		}
		if next != nil {
			return next(req, via)
		}
		return nil
	}
}

// errIsOrigin reports whether err is the origin policy's refusal.
func errIsOrigin(err error) bool { return errors.Is(err, ErrForeignOrigin) }
