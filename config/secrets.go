package config

import (
	"fmt"
	"os"
)

// Credentials are a source's secret values, read from the environment
// variables its auth block names. They never appear in logs or errors.
type Credentials struct {
	Type     string // none | bearer | basic | header | query
	Name     string // header or query parameter name (header, query)
	Token    string // bearer
	User     string // basic
	Password string // basic
	Value    string // header, query
}

// Credentials reads the source's secrets from the environment. A variable
// that is unset or empty is an *Error naming it (never its value).
func (s *Source) Credentials(file string) (Credentials, error) {
	a := s.Auth
	c := Credentials{Type: a.Type, Name: a.Name}
	get := func(field, env string) (string, error) {
		v := os.Getenv(env)
		if v == "" {
			return "", &Error{File: file, Line: a.Line, Key: "sources." + s.Name + ".auth." + field,
				Msg: fmt.Sprintf("environment variable %s is not set: export it with the source's secret", env)}
		}
		return v, nil
	}
	var err error
	switch a.Type {
	case "bearer":
		c.Token, err = get("token_env", a.TokenEnv)
	case "basic":
		if c.User, err = get("user_env", a.UserEnv); err == nil {
			c.Password, err = get("password_env", a.PasswordEnv)
		}
	case "header", "query":
		c.Value, err = get("value_env", a.ValueEnv)
	}
	return c, err
}
