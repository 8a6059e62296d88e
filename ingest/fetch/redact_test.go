package fetch

import (
	"net/url"
	"testing"
)

func TestRedact(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		secrets []string
		want    string
	}{
		{"no secrets", "GET /x", nil, "GET /x"},
		{"one secret", "token abc123 used", []string{"abc123"}, "token REDACTED used"},
		{"every occurrence", "abc123/abc123", []string{"abc123"}, "REDACTED/REDACTED"},
		{"longest first", "pass=abc123xyz", []string{"abc", "abc123xyz"}, "pass=REDACTED"},
		{"empty secret ignored", "hello", []string{""}, "hello"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Redact(tt.in, tt.secrets); got != tt.want {
				t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestRedactURL(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		secrets []string
		want    string
	}{
		{"declared query secret", "https://api.x/v1/a?k=1&key2=s%2Bcret", expandSecrets([]string{"s+cret"}), "https://api.x/v1/a?k=1&key2=REDACTED"},
		{"credential-like names", "https://api.x/a?access_token=t1&api_key=t2&page=3&sig=t3", nil, "https://api.x/a?access_token=REDACTED&api_key=REDACTED&page=3&sig=REDACTED"},
		{"user info password", "https://bob:hunter2@api.x/a", nil, "https://bob:REDACTED@api.x/a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := url.Parse(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := redactURL(u, tt.secrets); got != tt.want {
				t.Errorf("redactURL = %q, want %q", got, tt.want)
			}
		})
	}
}
