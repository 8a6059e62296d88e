package config

import (
	"fmt"
	"os"
	"regexp"
)

// State backends.
const (
	StateSQLite   = "sqlite"
	StatePostgres = "postgres"
)

// DefaultStateDSNEnv is the environment variable the PostgreSQL DSN is read
// from when dsn_env is not given.
const DefaultStateDSNEnv = "RAWLAND_STATE_DSN"

// DefaultStateSchema is the PostgreSQL schema of the state tables.
const DefaultStateSchema = "rawland"

// State selects where runs, cursors, leases, the DLQ and the shared quota
// live:
//
//	state: {backend: sqlite}                                   # default: DATA/state/rawland.db
//	state: {backend: postgres, dsn_env: RAWLAND_STATE_DSN, schema: rawland}
//
// The PostgreSQL DSN (it may carry a password) only ever comes from the
// environment variable named by dsn_env.
type State struct {
	Backend string `yaml:"backend"`
	DSNEnv  string `yaml:"dsn_env"`
	Schema  string `yaml:"schema"`

	// Line is the line of the state key (0 when absent).
	Line int `yaml:"-"`
}

// schemaRE is a PostgreSQL identifier that needs no quoting.
var schemaRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// envRE is a portable environment variable name.
var envRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func (v *validator) state() {
	st := &v.cfg.State
	st.Line = lineOf(v.root, "state")
	switch st.Backend {
	case "", StateSQLite:
		st.Backend = StateSQLite
		for _, k := range []string{"dsn_env", "schema"} {
			if v.set([]string{"state", k}) {
				v.fail([]string{"state", k}, "%s is only for backend: postgres (the sqlite state lives in DATA/state/rawland.db)", k)
			}
		}
	case StatePostgres:
		if st.DSNEnv == "" {
			st.DSNEnv = DefaultStateDSNEnv
		}
		if !envRE.MatchString(st.DSNEnv) {
			// not echoed: it may be a DSN with a password pasted by mistake
			v.fail([]string{"state", "dsn_env"}, "the value is not an environment variable name: name the variable that holds the DSN, e.g. RAWLAND_STATE_DSN (never the DSN itself)")
		}
		if st.Schema == "" {
			st.Schema = DefaultStateSchema
		}
		if !schemaRE.MatchString(st.Schema) {
			v.fail([]string{"state", "schema"}, "schema %q: use lower-case letters, digits and _ (at most 63), starting with a letter or _", st.Schema)
		}
	default:
		v.fail([]string{"state", "backend"}, "unknown state backend %q: use sqlite (default) or postgres", st.Backend)
	}
}

// StateDSN returns the PostgreSQL DSN from the environment; a *Error (exit 2)
// naming the variable when it is unset. It never includes the value in an
// error.
func (c *Config) StateDSN() (string, error) {
	st := c.State
	dsn := os.Getenv(st.DSNEnv)
	if dsn == "" {
		return "", &Error{File: c.Path, Line: st.Line, Key: "state.dsn_env",
			Msg: fmt.Sprintf("the state backend is postgres but the environment variable %s is not set: export %s=postgres://USER:PASSWORD@HOST:5432/DB", st.DSNEnv, st.DSNEnv)}
	}
	return dsn, nil
}
