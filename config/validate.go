package config

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

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
	if v.set([]string{"data_dir"}) {
		c.dataDirLine = lineOf(v.root, "data_dir")
	}
	if !filepath.IsAbs(c.DataDir) {
		// like schema paths: relative to the config file, so that
		// `rawland --config /srv/etl/rawland.yaml` works from any directory
		c.DataDir = filepath.Join(c.Dir, c.DataDir)
	}
	v.checkDur([]string{"lease_ttl"}, &c.LeaseTTL, rangeLeaseTTL)
	v.checkDur([]string{"reconcile", "every"}, &c.Reconcile.Every, rangeReconcileEvery)
	v.checkDur([]string{"transform", "lock_wait"}, &c.Transform.LockWait, rangeLockWait)
	v.checkDur([]string{"transform", "stale_after"}, &c.Transform.StaleAfter, rangeStaleAfter)
	v.checkInt([]string{"transform", "batch_size"}, &c.Transform.BatchSize, rangeBatchSize)
	v.checkInt([]string{"transform", "worker_nice"}, &c.Transform.WorkerNice, rangeWorkerNice)
	if v.set([]string{"transform", "memory_limit"}) && c.Transform.MemoryLimit < Size(rangeMemoryLimit.min) {
		v.fail([]string{"transform", "memory_limit"}, "memory_limit %s is too small for DuckDB: use 64MiB or more", FormatSize(int64(c.Transform.MemoryLimit)))
	} else {
		v.checkSize([]string{"transform", "memory_limit"}, &c.Transform.MemoryLimit, rangeMemoryLimit)
	}
	v.state()
	v.checkSize([]string{"landing", "roll_bytes"}, &c.Landing.RollBytes, rangeRollBytes)
	switch c.Landing.Compression {
	case "":
		c.Landing.Compression = "none"
	case "none", "gzip", "zstd":
	default:
		v.fail([]string{"landing", "compression"}, "unknown compression %q: use none, gzip or zstd", c.Landing.Compression)
	}
	v.landing()
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
	collisions(v, "sources", c.Sources, "quota state files are named after sources, and a case-insensitive filesystem would merge them")
	collisions(v, "streams", c.Streams, "DuckDB table names and raw directory names are case-insensitive, so both streams would share one table")
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
		v.fail(k("base_url"), "bad base_url %q: want an absolute http(s) URL such as https://api.example.com", s.BaseURL)
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
	v.checkInt(k("concurrency"), &s.Concurrency, rangeConcurrency)
	if s.RateLimit != nil {
		for _, f := range []string{"requests", "per"} {
			if !v.set(k("rate_limit", f)) {
				v.fail(k("rate_limit", f), "rate_limit needs requests and per, e.g. {requests: 5000, per: 1h}")
			}
		}
		v.checkInt(k("rate_limit", "requests"), &s.RateLimit.Requests, rangeRequests)
		v.checkDur(k("rate_limit", "per"), &s.RateLimit.Per, rangeRatePer)
	}
	v.checkInt(k("retry", "max_attempts"), &s.Retry.MaxAttempts, rangeAttempts)
	v.checkDur(k("retry", "initial_backoff"), &s.Retry.InitialBackoff, rangeInitialBackoff)
	v.checkDur(k("retry", "max_backoff"), &s.Retry.MaxBackoff, rangeMaxBackoff)
	if s.Retry.MaxBackoff < s.Retry.InitialBackoff {
		v.fail(k("retry", "max_backoff"), "max_backoff %s is below initial_backoff %s: raise max_backoff or lower initial_backoff", FormatDuration(s.Retry.MaxBackoff.D()), FormatDuration(s.Retry.InitialBackoff.D()))
	}
	v.checkDur(k("timeout"), &s.Timeout, rangeTimeout)
	v.checkSize(k("max_response_bytes"), &s.MaxResponseBytes, rangeMaxResponseBytes)
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
	} else if strings.HasPrefix(strings.ToLower(name), "_rawland") {
		v.fail(k(), "stream name %q is reserved (rawland's own tables start with _rawland): rename the stream", name)
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
		if s.Export != nil {
			v.fail(k("export"), "export is only for kind: export")
		}
	case "delta_queue":
		v.deltaQueue(k("delta_queue"), s)
		if s.Method != "" || s.Body != nil {
			v.fail(k("method"), "method and body are for kind rest: a delta queue's requests are set under delta_queue:")
		}
	case KindExport:
		v.export(k(), s)
	default:
		v.fail(k("kind"), "unknown kind %q: use rest, delta_queue or export", s.Kind)
	}
	if s.Cursor != nil {
		v.cursor(k("cursor"), s)
	}
	if s.Reconcile != nil {
		if s.Reconcile.Path == "" {
			v.fail(k("reconcile", "path"), "reconcile needs path: the full-listing endpoint")
		}
		v.pagination(k("reconcile", "pagination"), &s.Reconcile.Pagination)
		v.dialects(k("reconcile"), &s.Reconcile.Method, s.Reconcile.Body, s.Reconcile.Records, &s.Reconcile.Pagination)
	}
	v.checkInt(k("max_pages"), &s.MaxPages, rangeMaxPages)
	v.checkDur(k("max_duration"), &s.MaxDuration, rangeMaxDuration)
	v.schema(k("schema"), s)
}

func (v *validator) pagination(keys []string, p *Pagination) {
	need := func(field, val string) {
		if val == "" {
			v.fail(append(keys, field), "pagination type %s needs %s: add it (see the README's pagination types)", p.Type, field)
		}
	}
	key := func(f string) []string { return append(slices.Clip(keys), f) }
	v.checkInt(key("page_size"), &p.PageSize, rangePageRecords)
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
		if !v.set(key("limit")) {
			v.fail(key("limit"), "pagination type offset needs limit (records per page, %s to %s)", num(rangePageRecords.min), num(rangePageRecords.max))
		}
		v.checkInt(key("limit"), &p.Limit, rangePageRecords)
	case PagePage:
		need("param", p.Param)
		if p.Start == nil {
			p.Start = new(int)
		}
		v.checkInt(key("start"), p.Start, rangePageStart)
		if p.SizeParam != "" && !v.set(key("size")) {
			v.fail(key("size"), "size_param is set: size must be set too (records per page, %s to %s)", num(rangePageRecords.min), num(rangePageRecords.max))
		}
		v.checkInt(key("size"), &p.Size, rangePageRecords)
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
		v.fail(append(keys, "list", "path"), "missing list.path: the delta queue's list endpoint, e.g. /delta")
	}
	if dq.List.IDs == "" {
		dq.List.IDs = "ids"
	}
	if !strings.Contains(dq.Fetch.Path, "{id}") {
		v.fail(append(keys, "fetch", "path"), "fetch.path %q must contain {id}, where each record's ID goes, e.g. \"/records/{id}\"", dq.Fetch.Path)
	}
	if dq.Clear.Path == "" {
		v.fail(append(keys, "clear", "path"), "missing clear.path: the endpoint that acknowledges fetched IDs, e.g. /delta/clear")
	}
	if dq.Clear.Method == "" {
		dq.Clear.Method = "POST"
	}
	if dq.Clear.IDs == "" {
		dq.Clear.IDs = "ids"
	}
	v.checkInt(append(slices.Clip(keys), "batch"), &dq.Batch, rangeDQBatch)
	v.checkDur(append(slices.Clip(keys), "deadline"), &dq.Deadline, rangeDQDeadline)
}

func (v *validator) schema(keys []string, s *Stream) {
	if s.Schema == "" {
		// the default: schemas/<stream>.json beside the config, when it
		// exists; without one the stream is ingested but not transformed
		// (`rawland schema draft STREAM --write` drafts it)
		p := filepath.Join(v.cfg.Dir, "schemas", s.Name+".json")
		if _, err := os.Stat(p); err != nil {
			return
		}
		s.Schema = filepath.Join("schemas", s.Name+".json")
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
		v.fail(keys, "schema file %s is not valid JSON: %v: fix the file", p, err)
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
