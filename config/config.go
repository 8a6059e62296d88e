package config

import (
	"time"
)

// Config is a parsed and validated rawland.yaml.
type Config struct {
	// DataDir is the data directory (default "data"), relative to the
	// config file's directory unless absolute.
	DataDir string `yaml:"data_dir"`
	// LeaseTTL is how long a stream lease lives without renewal (default 1m).
	LeaseTTL Duration `yaml:"lease_ttl"`
	// Sources are the upstreams, by name.
	Sources map[string]*Source `yaml:"sources"`
	// Streams are the record streams, by name.
	Streams map[string]*Stream `yaml:"streams"`
	// Reconcile configures the periodic full resync.
	Reconcile Reconcile `yaml:"reconcile"`
	// Transform configures the transform stage.
	Transform Transform `yaml:"transform"`
	// Landing configures how raw files are written.
	Landing Landing `yaml:"landing"`
	// State selects the state store backend (see state.go).
	State State `yaml:"state"`

	// Path is the file the config was read from ("" for in-memory configs).
	Path string `yaml:"-"`
	// Dir is the directory relative paths (schemas) are resolved against.
	Dir string `yaml:"-"`
	// dataDirLine is the line of data_dir in the file, for CheckDataDir.
	dataDirLine int
}

// Source is one upstream HTTP API.
type Source struct {
	BaseURL          string            `yaml:"base_url"`
	Headers          map[string]string `yaml:"headers"`
	Auth             Auth              `yaml:"auth"`
	Concurrency      int               `yaml:"concurrency"`
	RateLimit        *RateLimit        `yaml:"rate_limit"`
	Retry            Retry             `yaml:"retry"`
	Timeout          Duration          `yaml:"timeout"`
	TrackingHeader   string            `yaml:"tracking_header"`
	MaxResponseBytes Size              `yaml:"max_response_bytes"`
	// AllowedOrigins are origins (scheme://host[:port]) other than
	// base_url's that pagination links and redirects may lead to. Any
	// other origin fails the stream.
	AllowedOrigins []string `yaml:"allowed_origins"`
	// SendCredentialsToAllowed sends the auth credentials to the
	// AllowedOrigins too (default false: only base_url's origin gets them).
	SendCredentialsToAllowed bool `yaml:"send_credentials_to_allowed"`

	Name string `yaml:"-"`
	Line int    `yaml:"-"`
}

// Auth says how requests to a source authenticate. Secret values are only
// ever read from the environment variables named here.
type Auth struct {
	Type        string `yaml:"type"` // none | bearer | basic | header | query
	TokenEnv    string `yaml:"token_env"`
	UserEnv     string `yaml:"user_env"`
	PasswordEnv string `yaml:"password_env"`
	Name        string `yaml:"name"`
	ValueEnv    string `yaml:"value_env"`

	Line int `yaml:"-"`
}

// RateLimit is a client-side request budget for a source.
type RateLimit struct {
	Requests int      `yaml:"requests"`
	Per      Duration `yaml:"per"`
}

// Retry bounds the retries of transient failures.
type Retry struct {
	MaxAttempts    int      `yaml:"max_attempts"`
	InitialBackoff Duration `yaml:"initial_backoff"`
	MaxBackoff     Duration `yaml:"max_backoff"`
}

// Stream is one record stream of a source.
type Stream struct {
	Source     string            `yaml:"source"`
	Kind       string            `yaml:"kind"` // rest | delta_queue | export
	Path       string            `yaml:"path"`
	Params     map[string]string `yaml:"params"`
	Records    string            `yaml:"records"`
	PrimaryKey []string          `yaml:"primary_key"`
	Cursor     *Cursor           `yaml:"cursor"`
	Pagination Pagination        `yaml:"pagination"`
	DeltaQueue *DeltaQueue       `yaml:"delta_queue"`
	// Export configures a kind: export stream (validate_export.go).
	Export *Export `yaml:"export"`
	Schema string  `yaml:"schema"`
	// Reconcile optionally overrides how the full listing is read (for
	// delta-queue streams: the listing endpoint; without it reconcile skips
	// the stream).
	Reconcile *StreamReconcile `yaml:"reconcile"`
	// MaxPages bounds the pages of one walk (default 1,000,000); past it
	// the run is partial (landed pages kept, cursor not moved, exit 1).
	MaxPages int `yaml:"max_pages"`
	// MaxDuration bounds the wall time of one walk (default 24h); past it
	// the run is partial.
	MaxDuration Duration `yaml:"max_duration"`
	// Method is the listing request's method: GET (default) or POST (the
	// default when Body is set).
	Method string `yaml:"method"`
	// Body is the JSON body template of a POST listing (a YAML mapping sent
	// as JSON); pagination with in: body sets its page parameter in a copy.
	Body map[string]any `yaml:"body"`

	Name string `yaml:"-"`
	Line int    `yaml:"-"`
	// SchemaPath is Schema resolved against the config's directory; ""
	// when the stream has no schema yet (no schema key and no
	// schemas/<stream>.json): it is ingested but not transformed.
	SchemaPath string `yaml:"-"`
	// SchemaLine is the line of the schema key in the config file.
	SchemaLine int `yaml:"-"`
}

// StreamReconcile is a stream's full-listing endpoint for reconcile.
type StreamReconcile struct {
	Path       string            `yaml:"path"`
	Params     map[string]string `yaml:"params"`
	Records    string            `yaml:"records"`
	Pagination Pagination        `yaml:"pagination"`
	// Method and Body are the full listing's (not inherited from the
	// stream: the full listing is often another endpoint).
	Method string         `yaml:"method"`
	Body   map[string]any `yaml:"body"`
}

// Pagination types.
const (
	PageNone    = "none"
	PageLink    = "link"
	PageNextURL = "next_url"
	PageCursor  = "cursor"
	PageOffset  = "offset"
	PagePage    = "page"
)

// Pagination configures how a stream walks its pages.
type Pagination struct {
	Type       string `yaml:"type"`
	Field      string `yaml:"field"`       // next_url: dot path of the next URL
	Next       string `yaml:"next"`        // cursor: dot path of the next cursor (or NextFromLastRecord, NextHeader)
	Param      string `yaml:"param"`       // cursor/offset/page: query parameter
	HasMore    string `yaml:"has_more"`    // optional dot path of a boolean (every type)
	LimitParam string `yaml:"limit_param"` // offset
	Limit      int    `yaml:"limit"`       // offset
	Start      *int   `yaml:"start"`       // page: first page number (default 1)
	SizeParam  string `yaml:"size_param"`  // page
	Size       int    `yaml:"size"`        // page
	// PageSize is the number of records a full page holds, for types
	// whose request does not say it (link, next_url, cursor): a shorter
	// page is then a clear end of the walk.
	PageSize int `yaml:"page_size"`
	// Total is an optional dot path of the total number of records; a walk
	// that ends before reaching it is truncated (partial).
	Total string `yaml:"total"`
	// TotalPages is an optional dot path of the total number of pages: the
	// walk ends on that page; one that ends before it is truncated.
	TotalPages string `yaml:"total_pages"`
	// EndFlag is an optional dot path of a flag that is true on the last
	// page (the inverse of HasMore, e.g. Zendesk's end_of_stream).
	EndFlag string `yaml:"end_flag"`
	// EndStatuses (offset, page) are 4xx statuses that, past the first
	// page, mean "no more pages" (an API that answers 404 past the end).
	EndStatuses []int `yaml:"end_statuses"`
	// NextFromLastRecord (cursor) is the dot path, in the page's last
	// record, of the token for the next page (Stripe's starting_after).
	NextFromLastRecord string `yaml:"next_from_last_record"`
	// NextHeader (cursor) is the response header that carries the token
	// for the next page.
	NextHeader string `yaml:"next_header"`
	// In is where the page parameter (and the incremental cursor's)
	// goes: query (default for GET), body (default for POST; param may
	// be a dot path into the body, e.g. variables.after) or header.
	In string `yaml:"in"`
}

// Where the page parameter goes (Pagination.In).
const (
	InQuery  = "query"
	InBody   = "body"
	InHeader = "header"
)

// RecordsWhole is the records path that lands the whole response body as
// one record (single-object endpoints such as /me).
const RecordsWhole = "."

// DeltaQueue configures a list → fetch → clear source.
type DeltaQueue struct {
	List     DQList   `yaml:"list"`
	Fetch    DQFetch  `yaml:"fetch"`
	Clear    DQClear  `yaml:"clear"`
	Batch    int      `yaml:"batch"`
	Deadline Duration `yaml:"deadline"`
}

// DQList is the delta queue's list call.
type DQList struct {
	Path       string `yaml:"path"`
	IDs        string `yaml:"ids"`
	LimitParam string `yaml:"limit_param"`
}

// DQFetch is the delta queue's per-record fetch.
type DQFetch struct {
	Path string `yaml:"path"`
}

// DQClear is the delta queue's clear call.
type DQClear struct {
	Method string `yaml:"method"`
	Path   string `yaml:"path"`
	IDs    string `yaml:"ids"`
}

// Reconcile configures the scheduled full resync.
type Reconcile struct {
	Every Duration `yaml:"every"`
}

// Transform configures the transform stage.
type Transform struct {
	// LockWait is how long transform waits for another rawland process
	// to finish with the private working database before it exits 75
	// (default 30s). Readers of the published warehouse never make it wait.
	LockWait Duration `yaml:"lock_wait"`
	// StaleAfter: a stream whose landed records have not reached the
	// published warehouse for longer than this (they cannot be
	// transformed or published) makes `run` exit 1 (default 24h).
	StaleAfter Duration `yaml:"stale_after"`
	// BatchSize is the number of records per Arrow batch (default 2000).
	BatchSize int `yaml:"batch_size"`
	// WorkerNice: transform's validation workers run this many steps of
	// nice below the process (default 10; 0 = as the process; Linux), so
	// that DuckDB's one writing thread, which every record passes, gets a
	// core whenever it can run. On a machine busy with other work the
	// workers yield to that work too.
	WorkerNice int `yaml:"worker_nice"`
	// MemoryLimit caps DuckDB's memory while transforming (default
	// 128MiB); above it DuckDB spills to DATA/state/warehouse/tmp (private,
	// removed when the transform ends), so a run of any size transforms in
	// bounded memory.
	MemoryLimit Size `yaml:"memory_limit"`
	// SchemaRefDirs are directories (relative to the config file's) whose
	// files a schema's $ref may name besides the config's own directory
	// tree. A $ref never reaches the network.
	SchemaRefDirs []string `yaml:"schema_ref_dirs"`
}

// Landing configures raw files.
type Landing struct {
	// RollBytes starts a new part file after this many bytes (default 64MiB).
	RollBytes Size `yaml:"roll_bytes"`
	// Compression is "none" (default), "gzip" or "zstd".
	Compression string `yaml:"compression"`
	// Backend is where runs land: "dir" (default: DATA/raw, DATA/staging)
	// or "s3" (an S3-compatible bucket, configured by S3). See landing.go.
	Backend string `yaml:"backend"`
	// S3 configures backend: s3.
	S3 LandingS3 `yaml:"s3"`
}

// Defaults applied by Load.
const (
	DefaultConcurrency      = 5
	DefaultMaxAttempts      = 6
	DefaultInitialBackoff   = 500 * time.Millisecond
	DefaultMaxBackoff       = time.Minute
	DefaultTimeout          = 30 * time.Second
	DefaultMaxResponseBytes = 64 << 20
	DefaultLeaseTTL         = time.Minute
	DefaultReconcileEvery   = 168 * time.Hour
	DefaultLockWait         = 30 * time.Second
	DefaultStaleAfter       = 24 * time.Hour
	DefaultBatchSize        = 2000
	DefaultWorkerNice       = 10
	DefaultMemoryLimit      = 128 << 20
	DefaultRollBytes        = 64 << 20
	DefaultDQBatch          = 100
	DefaultDQDeadline       = 2 * time.Minute
	DefaultMaxPages         = 1_000_000
	DefaultMaxDuration      = 24 * time.Hour
)

// HasSchema reports whether the stream has a JSON Schema (set or found at
// schemas/<stream>.json).
func (s *Stream) HasSchema() bool { return s.SchemaPath != "" }
