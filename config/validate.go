package config

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

type validator struct {
	file string
	root *yaml.Node
	cfg  *Config
	errs []*Error
}

func (v *validator) fail(keys []string, format string, args ...any) {
	v.errs = append(v.errs, &Error{File: v.file, Line: lineOf(v.root, keys...), Key: strings.Join(keys, "."), Msg: fmt.Sprintf(format, args...)})
}

func (v *validator) validate() {
	c := v.cfg
	if c.DataDir == "" {
		c.DataDir = "data"
	}
	if !filepath.IsAbs(c.DataDir) {
		// like schema paths: relative to the config file, so that
		// `rawland --config /srv/etl/rawland.yaml` works from any directory
		c.DataDir = filepath.Join(c.Dir, c.DataDir)
	}
	if c.LeaseTTL == 0 {
		c.LeaseTTL = Duration(DefaultLeaseTTL)
	}
	if c.Reconcile.Every == 0 {
		c.Reconcile.Every = Duration(DefaultReconcileEvery)
	}
	if c.Transform.LockWait == 0 {
		c.Transform.LockWait = Duration(DefaultLockWait)
	}
	if c.Transform.BatchSize <= 0 {
		c.Transform.BatchSize = DefaultBatchSize
	}
	if c.Transform.MemoryLimit == 0 {
		c.Transform.MemoryLimit = DefaultMemoryLimit
	}
	if c.Transform.MemoryLimit < 64<<20 {
		v.fail([]string{"transform", "memory_limit"}, "memory_limit %d bytes is too small for DuckDB: use 64MiB or more", c.Transform.MemoryLimit)
	}
	if c.Landing.RollBytes <= 0 {
		c.Landing.RollBytes = DefaultRollBytes
	}
	switch c.Landing.Compression {
	case "":
		c.Landing.Compression = "none"
	case "none", "gzip", "zstd":
	default:
		v.fail([]string{"landing", "compression"}, "unknown compression %q: use none, gzip or zstd", c.Landing.Compression)
	}
	if len(c.Sources) == 0 {
		v.fail([]string{"sources"}, "no sources: add at least one under sources:")
	}
	for _, name := range sortedKeys(c.Sources) {
		v.source(name, c.Sources[name])
	}
	if len(c.Streams) == 0 {
		v.fail([]string{"streams"}, "no streams: add at least one under streams:")
	}
	for _, name := range sortedKeys(c.Streams) {
		v.stream(name, c.Streams[name])
	}
}

func (v *validator) source(name string, s *Source) {
	k := func(ks ...string) []string { return append([]string{"sources", name}, ks...) }
	if s == nil {
		v.fail(k(), "empty source: it needs at least base_url")
		return
	}
	s.Name, s.Line = name, lineOf(v.root, k()...)
	if s.BaseURL == "" {
		v.fail(k("base_url"), "missing base_url: set the upstream's address, e.g. https://api.example.com")
	} else if u, err := url.Parse(s.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.fail(k("base_url"), "bad base_url %q: want an absolute http(s) URL", s.BaseURL)
	}
	s.Auth.Line = lineOf(v.root, k("auth")...)
	a := &s.Auth
	need := func(field, val string) {
		if val == "" {
			v.fail(k("auth", field), "auth type %s needs %s (the name of the environment variable that holds the secret)", a.Type, field)
		}
	}
	switch a.Type {
	case "", "none":
		a.Type = "none"
	case "bearer":
		need("token_env", a.TokenEnv)
	case "basic":
		need("user_env", a.UserEnv)
		need("password_env", a.PasswordEnv)
	case "header", "query":
		if a.Name == "" {
			v.fail(k("auth", "name"), "auth type %s needs name (the header or query parameter)", a.Type)
		}
		need("value_env", a.ValueEnv)
	default:
		v.fail(k("auth", "type"), "unknown auth type %q: use none, bearer, basic, header or query", a.Type)
	}
	if s.Concurrency < 0 {
		v.fail(k("concurrency"), "concurrency must be positive")
	}
	if s.Concurrency == 0 {
		s.Concurrency = DefaultConcurrency
	}
	if s.RateLimit != nil && (s.RateLimit.Requests <= 0 || s.RateLimit.Per <= 0) {
		v.fail(k("rate_limit"), "rate_limit needs requests > 0 and per > 0, e.g. {requests: 5000, per: 1h}")
	}
	if s.Retry.MaxAttempts < 0 {
		v.fail(k("retry", "max_attempts"), "max_attempts must be positive")
	}
	if s.Retry.MaxAttempts == 0 {
		s.Retry.MaxAttempts = DefaultMaxAttempts
	}
	if s.Retry.InitialBackoff == 0 {
		s.Retry.InitialBackoff = Duration(DefaultInitialBackoff)
	}
	if s.Retry.MaxBackoff == 0 {
		s.Retry.MaxBackoff = Duration(DefaultMaxBackoff)
	}
	if s.Timeout == 0 {
		s.Timeout = Duration(DefaultTimeout)
	}
	if s.MaxResponseBytes == 0 {
		s.MaxResponseBytes = DefaultMaxResponseBytes
	}
	for i, o := range s.AllowedOrigins {
		norm, err := NormalizeOrigin(o)
		if err != nil {
			v.fail(k("allowed_origins"), "allowed_origins[%d] %q: %v", i, o, err)
			continue
		}
		s.AllowedOrigins[i] = norm
	}
	if s.SendCredentialsToAllowed && len(s.AllowedOrigins) == 0 {
		v.fail(k("send_credentials_to_allowed"), "send_credentials_to_allowed is set but allowed_origins is empty: list the origins that may receive the credentials")
	}
}

func (v *validator) stream(name string, s *Stream) {
	k := func(ks ...string) []string { return append([]string{"streams", name}, ks...) }
	if !identRE.MatchString(name) {
		v.fail(k(), "stream name %q must be letters, digits and underscores (it names a table and a directory)", name)
	}
	if s == nil {
		v.fail(k(), "empty stream: it needs source, path, primary_key and schema")
		return
	}
	s.Name, s.Line = name, lineOf(v.root, k()...)
	if s.Source == "" {
		v.fail(k("source"), "missing source: name one of the sources")
	} else if _, ok := v.cfg.Sources[s.Source]; !ok {
		v.fail(k("source"), "unknown source %q: define it under sources: (have %s)", s.Source, strings.Join(sortedKeys(v.cfg.Sources), ", "))
	}
	if len(s.PrimaryKey) == 0 {
		v.fail(k("primary_key"), "missing primary_key: list the record fields that identify a record, e.g. [id]")
	}
	switch s.Kind {
	case "", "rest":
		s.Kind = "rest"
		if s.Path == "" {
			v.fail(k("path"), "missing path: the stream's URL path under the source's base_url")
		}
		v.pagination(k("pagination"), &s.Pagination)
		v.dialects(k(), &s.Method, s.Body, s.Records, &s.Pagination)
		if s.DeltaQueue != nil {
			v.fail(k("delta_queue"), "delta_queue is only for kind: delta_queue")
		}
	case "delta_queue":
		v.deltaQueue(k("delta_queue"), s)
		if s.Method != "" || s.Body != nil {
			v.fail(k("method"), "method and body are for kind rest: a delta queue's requests are set under delta_queue:")
		}
	default:
		v.fail(k("kind"), "unknown kind %q: use rest or delta_queue", s.Kind)
	}
	if s.Cursor != nil {
		c := s.Cursor
		if c.Field == "" {
			v.fail(k("cursor", "field"), "cursor needs field: the record field holding the high-water mark")
		}
		if c.Param == "" {
			v.fail(k("cursor", "param"), "cursor needs param: the query parameter that sends it")
		}
		if c.Start != "" {
			if _, err := time.Parse(time.RFC3339, c.Start); err != nil {
				if _, err := strconv.ParseInt(c.Start, 10, 64); err != nil {
					v.fail(k("cursor", "start"), "bad start %q: want an RFC 3339 time (2020-01-01T00:00:00Z) or an integer", c.Start)
				}
			}
		}
		if s.Kind == "delta_queue" {
			v.fail(k("cursor"), "a delta_queue stream has no cursor: the queue is its cursor")
		}
	}
	if s.Reconcile != nil {
		if s.Reconcile.Path == "" {
			v.fail(k("reconcile", "path"), "reconcile needs path: the full-listing endpoint")
		}
		v.pagination(k("reconcile", "pagination"), &s.Reconcile.Pagination)
		v.dialects(k("reconcile"), &s.Reconcile.Method, s.Reconcile.Body, s.Reconcile.Records, &s.Reconcile.Pagination)
	}
	if s.MaxPages < 0 {
		v.fail(k("max_pages"), "max_pages must be > 0 (default %d)", DefaultMaxPages)
	}
	if s.MaxPages == 0 {
		s.MaxPages = DefaultMaxPages
	}
	if s.MaxDuration < 0 {
		v.fail(k("max_duration"), "max_duration must be > 0 (default %s)", time.Duration(DefaultMaxDuration))
	}
	if s.MaxDuration == 0 {
		s.MaxDuration = Duration(DefaultMaxDuration)
	}
	v.schema(k("schema"), s)
}

func (v *validator) pagination(keys []string, p *Pagination) {
	need := func(field, val string) {
		if val == "" {
			v.fail(append(keys, field), "pagination type %s needs %s", p.Type, field)
		}
	}
	if p.PageSize < 0 {
		v.fail(append(keys, "page_size"), "page_size must be > 0 (records in a full page)")
	}
	switch p.Type {
	case "", PageNone:
		p.Type = PageNone
	case PageLink:
	case PageNextURL:
		need("field", p.Field)
	case PageCursor:
		need("param", p.Param) // next, next_from_last_record or next_header: v.dialects
	case PageOffset:
		need("param", p.Param)
		need("limit_param", p.LimitParam)
		if p.Limit <= 0 {
			v.fail(append(keys, "limit"), "pagination type offset needs limit > 0 (records per page)")
		}
	case PagePage:
		need("param", p.Param)
		if p.Start == nil {
			one := 1
			p.Start = &one
		}
		if p.SizeParam != "" && p.Size <= 0 {
			v.fail(append(keys, "size"), "size_param is set: size must be > 0")
		}
	default:
		v.fail(append(keys, "type"), "unknown pagination type %q: use none, link, next_url, cursor, offset or page", p.Type)
	}
}

func (v *validator) deltaQueue(keys []string, s *Stream) {
	dq := s.DeltaQueue
	if dq == nil {
		v.fail(keys, "kind delta_queue needs a delta_queue: block with list, fetch and clear")
		return
	}
	if dq.List.Path == "" {
		v.fail(append(keys, "list", "path"), "missing list.path")
	}
	if dq.List.IDs == "" {
		dq.List.IDs = "ids"
	}
	if !strings.Contains(dq.Fetch.Path, "{id}") {
		v.fail(append(keys, "fetch", "path"), "fetch.path %q must contain {id}", dq.Fetch.Path)
	}
	if dq.Clear.Path == "" {
		v.fail(append(keys, "clear", "path"), "missing clear.path")
	}
	if dq.Clear.Method == "" {
		dq.Clear.Method = "POST"
	}
	if dq.Clear.IDs == "" {
		dq.Clear.IDs = "ids"
	}
	if dq.Batch < 0 {
		v.fail(append(keys, "batch"), "batch must be positive")
	}
	if dq.Batch == 0 {
		dq.Batch = DefaultDQBatch
	}
	if dq.Deadline == 0 {
		dq.Deadline = Duration(DefaultDQDeadline)
	}
}

func (v *validator) schema(keys []string, s *Stream) {
	if s.Schema == "" {
		v.fail(keys, "missing schema: point it at the stream's JSON Schema, e.g. schemas/%s.json", s.Name)
		return
	}
	s.SchemaLine = lineOf(v.root, keys...)
	p := s.Schema
	if !filepath.IsAbs(p) {
		p = filepath.Join(v.cfg.Dir, p)
	}
	s.SchemaPath = p
	data, err := os.ReadFile(p)
	if err != nil {
		v.fail(keys, "schema file %s: %v: create it or fix the path", p, unwrapPathErr(err))
		return
	}
	if !json.Valid(data) {
		var x any
		err := json.Unmarshal(data, &x)
		v.fail(keys, "schema file %s is not valid JSON: %v", p, err)
	}
}

func unwrapPathErr(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// StreamNames returns the configured stream names, sorted.
func (c *Config) StreamNames() []string { return sortedKeys(c.Streams) }

// Select returns the named streams (all when names is empty), or an *Error
// naming the first unknown one.
func (c *Config) Select(names []string) ([]*Stream, error) {
	if len(names) == 0 {
		names = c.StreamNames()
	}
	out := make([]*Stream, 0, len(names))
	for _, n := range names {
		s, ok := c.Streams[n]
		if !ok {
			return nil, &Error{File: c.Path, Key: "streams." + n, Msg: fmt.Sprintf("unknown stream %q: configured streams are %s", n, strings.Join(c.StreamNames(), ", "))}
		}
		out = append(out, s)
	}
	return out, nil
}
