package config

import (
	"fmt"
	"net/url"
	"strings"
)

// NormalizeOrigin parses an origin ("https://host", "http://host:8080",
// or a URL whose path is ignored) and returns it as scheme://host[:port]
// in lower case, with the scheme's default port dropped.
func NormalizeOrigin(s string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return "", fmt.Errorf("does not parse as a URL: %v", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("want an absolute http(s) origin such as https://files.example.com")
	}
	return Origin(u), nil
}

// Origin returns u's origin: scheme://host[:port], lower case, without
// the scheme's default port (so https://a.com and https://A.com:443 are the
// same origin).
func Origin(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		return scheme + "://" + host + ":" + port
	}
	return scheme + "://" + host
}
