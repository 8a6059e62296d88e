package fetch

import (
	"encoding/json"
	"net/url"
	"slices"
	"strings"
)

// redacted replaces secrets in logs, errors and URLs.
const redacted = "REDACTED"

// Redact returns s with every occurrence of each non-empty secret replaced
// by "REDACTED". Longer secrets are replaced first, so a secret that
// contains another is hidden whole.
func Redact(s string, secrets []string) string {
	if s == "" || len(secrets) == 0 {
		return s
	}
	list := make([]string, 0, len(secrets))
	for _, sec := range secrets {
		if sec != "" && strings.Contains(s, sec) {
			list = append(list, sec)
		}
	}
	if len(list) == 0 {
		return s
	}
	slices.SortFunc(list, func(a, b string) int { return len(b) - len(a) })
	pairs := make([]string, 0, 2*len(list))
	for _, sec := range list {
		pairs = append(pairs, sec, redacted)
	}
	return strings.NewReplacer(pairs...).Replace(s)
}

// expandSecrets returns the secrets plus the forms they take inside URLs,
// without empties or duplicates.
func expandSecrets(secrets []string) []string {
	var out []string
	for _, s := range secrets {
		if s == "" {
			continue
		}
		quoted, _ := json.Marshal(s) // as an upstream echoing it in JSON would write it
		for _, v := range []string{s, url.QueryEscape(s), url.PathEscape(s), string(quoted[1 : len(quoted)-1])} {
			if !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
	}
	return out
}

// sensitiveParam reports whether a query parameter name usually carries a
// credential; its value is redacted even when no Auth declared it.
func sensitiveParam(name string) bool {
	n := strings.ToLower(name)
	switch n {
	case "key", "sig", "signature", "auth", "password", "pass", "pwd", "client_secret":
		return true
	}
	for _, frag := range []string{"token", "secret", "password", "apikey", "api_key", "api-key"} {
		if strings.Contains(n, frag) {
			return true
		}
	}
	return false
}

// redactURL renders u without secrets: the user-info password, the values of
// credential-like query parameters, and every declared secret.
func redactURL(u *url.URL, secrets []string) string {
	if u == nil {
		return ""
	}
	c := *u
	if c.User != nil {
		if _, ok := c.User.Password(); ok {
			c.User = url.UserPassword(c.User.Username(), redacted)
		}
	}
	c.RawQuery = redactQuery(c.RawQuery)
	return Redact(c.String(), secrets)
}

// redactRequestURI renders the path and query of u without secrets, for logs.
func redactRequestURI(u *url.URL, secrets []string) string {
	if u == nil {
		return ""
	}
	s := u.EscapedPath()
	if s == "" {
		s = "/"
	}
	if q := redactQuery(u.RawQuery); q != "" {
		s += "?" + q
	}
	return Redact(s, secrets)
}

func redactQuery(raw string) string {
	if raw == "" {
		return ""
	}
	parts := strings.Split(raw, "&")
	for i, p := range parts {
		k, _, ok := strings.Cut(p, "=")
		if !ok {
			continue
		}
		name, err := url.QueryUnescape(k)
		if err != nil {
			name = k
		}
		if sensitiveParam(name) {
			parts[i] = k + "=" + redacted
		}
	}
	return strings.Join(parts, "&")
}

// Redact returns s with the source's credentials, in every form the Client
// knows (raw, URL-escaped, JSON-escaped, the basic-auth header value),
// replaced by "REDACTED". Callers use it on what they report from the
// upstream's answers (pagination links, bodies).
func (c *Client) Redact(s string) string { return Redact(s, c.secrets) }
