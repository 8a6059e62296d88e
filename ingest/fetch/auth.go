package fetch

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
)

// Auth authenticates requests to a source.
type Auth interface {
	// Apply adds the credentials to req (a header or a query parameter).
	// It is called once per attempt on a fresh request.
	Apply(req *http.Request)
	// Secrets returns the values that must never appear in logs, errors or
	// Response.URL; the Client redacts them (and their URL-escaped forms).
	Secrets() []string
}

var (
	_ Auth = noAuth{}
	_ Auth = bearerAuth{}
	_ Auth = basicAuth{}
	_ Auth = headerAuth{}
	_ Auth = queryAuth{}
)

// NoAuth returns an Auth that adds nothing.
func NoAuth() Auth { return noAuth{} }

// BearerAuth returns an Auth that sends "Authorization: Bearer <token>".
func BearerAuth(token string) Auth { return bearerAuth{token: token} }

// BasicAuth returns an Auth that sends HTTP basic credentials. The password
// and the encoded header value are secrets; the user name is not.
func BasicAuth(user, pass string) Auth { return basicAuth{user: user, pass: pass} }

// HeaderAuth returns an Auth that sends the secret value in header name
// (e.g. "X-Api-Key"). Like every credential it goes only to the origins
// that may receive it (see Options.BaseURL).
func HeaderAuth(name, value string) Auth {
	return headerAuth{name: http.CanonicalHeaderKey(name), value: value}
}

// QueryAuth returns an Auth that adds name=value to the query string. The
// value is redacted from every URL the Client reports or logs.
func QueryAuth(name, value string) Auth { return queryAuth{name: name, value: value} }

type noAuth struct{}

func (noAuth) Apply(*http.Request) {}
func (noAuth) Secrets() []string   { return nil }

type bearerAuth struct{ token string }

func (a bearerAuth) Apply(r *http.Request) { r.Header.Set("Authorization", "Bearer "+a.token) }
func (a bearerAuth) Secrets() []string     { return []string{a.token} }

type basicAuth struct{ user, pass string }

func (a basicAuth) Apply(r *http.Request) { r.SetBasicAuth(a.user, a.pass) }
func (a basicAuth) Secrets() []string {
	return []string{a.pass, base64.StdEncoding.EncodeToString([]byte(a.user + ":" + a.pass))}
}

type headerAuth struct{ name, value string }

func (a headerAuth) Apply(r *http.Request) { r.Header.Set(a.name, a.value) }
func (a headerAuth) Secrets() []string     { return []string{a.value} }

type queryAuth struct{ name, value string }

// Apply appends name=value, replacing an existing parameter of that name and
// keeping the order of the others.
func (a queryAuth) Apply(r *http.Request) {
	prefix := url.QueryEscape(a.name) + "="
	var kept []string
	if r.URL.RawQuery != "" {
		for _, p := range strings.Split(r.URL.RawQuery, "&") {
			if p == url.QueryEscape(a.name) || strings.HasPrefix(p, prefix) {
				continue
			}
			kept = append(kept, p)
		}
	}
	kept = append(kept, prefix+url.QueryEscape(a.value))
	r.URL.RawQuery = strings.Join(kept, "&")
}

func (a queryAuth) Secrets() []string { return []string{a.value} }
