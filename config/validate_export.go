package config

import (
	"net/http"
	"slices"
	"strings"
	"time"
)

// KindExport is the stream kind of bulk export jobs: create a job, poll it
// until done, download its file(s).
const KindExport = "export"

// Export configures a bulk export stream (kind: export): create a job,
// poll it until it is done, download and land the file(s) it names.
type Export struct {
	Create   ExportCreate   `yaml:"create"`
	Poll     ExportPoll     `yaml:"poll"`
	Download ExportDownload `yaml:"download"`
}

// ExportCreate is the request that starts a job. In Path, Params values
// and Body string values, "{cursor}" is replaced by where the run starts
// reading (the saved cursor minus the look-back, or cursor.start); a Body
// or Params value that is exactly "{cursor}" is left out when there is no
// cursor yet.
type ExportCreate struct {
	// Method is POST (default) or GET.
	Method string `yaml:"method"`
	// Path is the create endpoint under the source's base_url.
	Path string `yaml:"path"`
	// Params are query parameters.
	Params map[string]string `yaml:"params"`
	// Body is the JSON body template (a YAML mapping sent as JSON).
	Body map[string]any `yaml:"body"`
	// ID is the dot path of the job ID in the create answer (default id).
	ID string `yaml:"id"`
	// Idempotency says where the run's idempotency key goes.
	Idempotency ExportIdempotency `yaml:"idempotency"`
}

// ExportIdempotency says where the idempotency key goes: a header
// (default Idempotency-Key) or a body field (a dot path).
type ExportIdempotency struct {
	In   string `yaml:"in"`
	Name string `yaml:"name"`
}

// ExportPoll is the request that reads a job's status.
type ExportPoll struct {
	// Path holds {id}, where the job ID goes.
	Path string `yaml:"path"`
	// Status is the dot path of the job's status (default status).
	Status string `yaml:"status"`
	// Done, Failed and Expired are the status values that mean the job's
	// files are ready, that it failed for good (the run fails and the job
	// is dropped), and that the upstream dropped it (a new job is created,
	// with a new key); any other value means still running.
	Done    []string `yaml:"done"`
	Failed  []string `yaml:"failed"`
	Expired []string `yaml:"expired"`
	// Error is an optional dot path of the failure message.
	Error string `yaml:"error"`
	// Interval is the first wait between polls (default 2s); each wait
	// grows by half up to MaxInterval (default 1m). A Retry-After on the
	// answer replaces the next wait.
	Interval    Duration `yaml:"interval"`
	MaxInterval Duration `yaml:"max_interval"`
	// Timeout bounds the wait for the job to finish (default 6h).
	Timeout Duration `yaml:"timeout"`
}

// ExportDownload says where the job's files are and what they hold.
type ExportDownload struct {
	// URLs is the dot path, in the done poll answer, of the file URL: one
	// string, or a list of strings or of objects (see URL). Default urls.
	URLs string `yaml:"urls"`
	// URL is, for a list of objects, the dot path of the URL in each
	// (default url).
	URL string `yaml:"url"`
	// Checksum is an optional dot path (in each object, or in the answer
	// for a single URL) of the file's SHA-256, hex, optionally prefixed
	// "sha256:"; a file that does not match fails the run.
	Checksum string `yaml:"checksum"`
	// Format is jsonl (default), json (one array) or csv (a header row;
	// each row lands as an object of strings). gzip and zstd files are
	// detected from their first bytes.
	Format string `yaml:"format"`
	// Credentials sends the source's credentials with the download
	// (default false). Without it a download goes to whatever origin the
	// job names (pre-signed URLs), never with a credential or Referer;
	// with it the URL must be on the source's origin or allowed_origins.
	Credentials bool `yaml:"credentials"`
	// MaxFileBytes bounds each file, decoded (default: the source's
	// max_response_bytes).
	MaxFileBytes Size `yaml:"max_file_bytes"`
}

// Export formats.
const (
	FormatJSONL = "jsonl"
	FormatJSON  = "json"
	FormatCSV   = "csv"
)

// CursorPlaceholder is replaced by the run's cursor in an export's create
// request.
const CursorPlaceholder = "{cursor}"

// Export defaults.
const (
	DefaultExportPollInterval    = 2 * time.Second
	DefaultExportPollMaxInterval = time.Minute
	DefaultExportPollTimeout     = 6 * time.Hour
)

var (
	rangeExportInterval = durRange{def: DefaultExportPollInterval, min: time.Millisecond, max: time.Hour}
	rangeExportMaxIntvl = durRange{def: DefaultExportPollMaxInterval, min: time.Millisecond, max: 24 * time.Hour}
	rangeExportTimeout  = durRange{def: DefaultExportPollTimeout, min: time.Millisecond, max: 720 * time.Hour}
	rangeExportFile     = sizeRange{min: 1 << 10, max: 1 << 40}
)

// export checks a kind: export stream's export block and fills in its
// defaults. keys is streams.NAME.
func (v *validator) export(keys []string, s *Stream) {
	k := func(ks ...string) []string { return append(slices.Clone(keys), ks...) }
	e := s.Export
	if e == nil {
		v.fail(k("export"), "kind export needs an export: block with create, poll and download")
		return
	}
	if s.DeltaQueue != nil {
		v.fail(k("delta_queue"), "delta_queue is only for kind: delta_queue")
	}
	if s.Path != "" || s.Method != "" || s.Body != nil || s.Pagination.Type != "" {
		v.fail(k("path"), "path, method, body and pagination are for kind rest: an export's requests are set under export:")
	}
	c := &e.Create
	ck := func(ks ...string) []string { return k(append([]string{"export", "create"}, ks...)...) }
	switch m := strings.ToUpper(c.Method); m {
	case "":
		c.Method = http.MethodPost
	case http.MethodPost, http.MethodGet, http.MethodPut:
		c.Method = m
	default:
		v.fail(ck("method"), "unknown method %q: use POST, PUT or GET", c.Method)
	}
	if c.Path == "" {
		v.fail(ck("path"), "missing create.path: the endpoint that starts an export job, e.g. /exports")
	}
	if c.Body != nil && c.Method == http.MethodGet {
		v.fail(ck("body"), "a body needs method: POST or PUT")
	}
	if c.ID == "" {
		c.ID = "id"
	}
	switch c.Idempotency.In {
	case "", InHeader:
		c.Idempotency.In = InHeader
		if c.Idempotency.Name == "" {
			c.Idempotency.Name = "Idempotency-Key"
		}
		if !validHeaderName(c.Idempotency.Name) {
			v.fail(ck("idempotency", "name"), "%q is not a valid header name", c.Idempotency.Name)
		}
	case InBody:
		if c.Method == http.MethodGet {
			v.fail(ck("idempotency", "in"), "in: body needs method: POST or PUT")
		}
		if c.Idempotency.Name == "" {
			v.fail(ck("idempotency", "name"), "idempotency in: body needs name: the body field (a dot path) that carries the key")
		} else if err := bodyPathFree(c.Body, SplitPath(c.Idempotency.Name)); err != nil {
			v.fail(ck("idempotency", "name"), "the key cannot be set at %q in the body: %v", c.Idempotency.Name, err)
		}
	default:
		v.fail(ck("idempotency", "in"), "unknown in %q: use header or body (where the idempotency key goes)", c.Idempotency.In)
	}
	p := &e.Poll
	pk := func(ks ...string) []string { return k(append([]string{"export", "poll"}, ks...)...) }
	if !strings.Contains(p.Path, "{id}") {
		v.fail(pk("path"), "poll.path %q must contain {id}, where the job ID goes, e.g. \"/exports/{id}\"", p.Path)
	}
	if p.Status == "" {
		p.Status = "status"
	}
	if len(p.Done) == 0 {
		v.fail(pk("done"), "poll needs done: the status values that mean the files are ready, e.g. [completed]")
	}
	for _, set := range [][2]any{{"failed", p.Failed}, {"expired", p.Expired}} {
		for _, val := range set[1].([]string) {
			if slices.Contains(p.Done, val) {
				v.fail(pk(set[0].(string)), "status %q is listed under done too", val)
			}
		}
	}
	v.checkDur(pk("interval"), &p.Interval, rangeExportInterval)
	v.checkDur(pk("max_interval"), &p.MaxInterval, rangeExportMaxIntvl)
	if p.MaxInterval < p.Interval {
		p.MaxInterval = p.Interval
	}
	v.checkDur(pk("timeout"), &p.Timeout, rangeExportTimeout)
	d := &e.Download
	dk := func(ks ...string) []string { return k(append([]string{"export", "download"}, ks...)...) }
	if d.URLs == "" {
		d.URLs = "urls"
	}
	if d.URL == "" {
		d.URL = "url"
	}
	switch d.Format {
	case "":
		d.Format = FormatJSONL
	case FormatJSONL, FormatJSON, FormatCSV:
	default:
		v.fail(dk("format"), "unknown format %q: use jsonl, json or csv (gzip and zstd files are detected)", d.Format)
	}
	if v.set(dk("max_file_bytes")) {
		v.checkSize(dk("max_file_bytes"), &d.MaxFileBytes, rangeExportFile)
	}
	if cur := s.Cursor; cur != nil && cur.Param == "" && !exportMentionsCursor(c) {
		v.fail(k("cursor"), "an incremental export must send its cursor: put %q in export.create.body, params or path, or set cursor.param (a query parameter of the create request)", CursorPlaceholder)
	}
}

// exportMentionsCursor reports whether the create request carries the
// cursor placeholder anywhere.
func exportMentionsCursor(c *ExportCreate) bool {
	if strings.Contains(c.Path, CursorPlaceholder) {
		return true
	}
	for _, v := range c.Params {
		if strings.Contains(v, CursorPlaceholder) {
			return true
		}
	}
	var walk func(any) bool
	walk = func(x any) bool {
		switch t := x.(type) {
		case string:
			return strings.Contains(t, CursorPlaceholder)
		case map[string]any:
			for _, v := range t {
				if walk(v) {
					return true
				}
			}
		case []any:
			return slices.ContainsFunc(t, walk)
		}
		return false
	}
	return walk(c.Body)
}
