package main

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/rawland/rawland/config"
	"github.com/rawland/rawland/ingest/fetch"
)

// authHintError adds to a 401/403 what the user can check: the source,
// its auth type and the environment variable the secret came from.
type authHintError struct {
	err  error
	hint string
}

func (e *authHintError) Error() string { return e.err.Error() + "; " + e.hint }
func (e *authHintError) Unwrap() error { return e.err }

// withAuthHint wraps err when the upstream refused the source's
// credentials (401, or 403 that is not throttling); otherwise it returns
// err unchanged.
func withAuthHint(cfg *config.Config, s *config.Stream, err error) error {
	var he *fetch.HTTPError
	if err == nil || !errors.As(err, &he) || (he.Status != http.StatusUnauthorized && he.Status != http.StatusForbidden) || he.Retryable {
		return err
	}
	src := cfg.Sources[s.Source]
	if src == nil {
		return err
	}
	a := src.Auth
	var from string
	switch a.Type {
	case "bearer":
		from = "a bearer token from $" + a.TokenEnv
	case "basic":
		from = fmt.Sprintf("basic credentials from $%s and $%s", a.UserEnv, a.PasswordEnv)
	case "header":
		from = fmt.Sprintf("header %s from $%s", a.Name, a.ValueEnv)
	case "query":
		from = fmt.Sprintf("query parameter %s from $%s", a.Name, a.ValueEnv)
	default:
		return &authHintError{err: err, hint: fmt.Sprintf("hint: the upstream wants credentials but source %s sends none: set sources.%s.auth (%s:%d)", s.Source, s.Source, cfg.Path, src.Auth.Line)}
	}
	return &authHintError{err: err, hint: fmt.Sprintf("hint: the upstream refused source %s's credentials (auth type %s: %s): check that variable's value and sources.%s.auth (%s:%d)",
		s.Source, a.Type, from, s.Source, cfg.Path, src.Auth.Line)}
}
