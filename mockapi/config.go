package mockapi

import (
	"fmt"
	"strings"
	"time"
)

// Names Config writes into rawland.yaml.
const (
	// SourceName is the source every mock stream belongs to.
	SourceName = "mock"
	// TokenEnv is the environment variable the generated config reads the
	// bearer token from when Options.Token is set.
	TokenEnv = "RAWLAND_MOCK_TOKEN"
)

// Config returns a complete rawland.yaml (the contract's format) for every
// mock stream, certificates included, against baseURL (the server's root,
// e.g. an httptest URL; PathPrefix is appended). Schemas are expected at
// schemas/<stream>.json (see Schemas) and data goes to data/. Page sizes
// stay within the server's maxima, so short pages really mean the end.
func (s *Server) Config(baseURL string) string {
	o := s.opts
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("# rawland.yaml for the built-in mock upstream (mockapi): seed %d, %d records per stream.", o.Seed, o.Size)
	w("data_dir: data")
	w("sources:")
	w("  %s:", SourceName)
	w("    base_url: %s", strings.TrimRight(baseURL, "/")+o.PathPrefix)
	w("    headers: {Accept: application/json}")
	if o.Token != "" {
		w("    auth: {type: bearer, token_env: %s}", TokenEnv)
	} else {
		w("    auth: {type: none}")
	}
	w("    concurrency: 5")
	if o.Faults.Quota > 0 {
		w("    rate_limit: {requests: %d, per: %s}", o.Faults.Quota, durString(o.Faults.QuotaWindow))
	}
	w("    retry: {max_attempts: 6, initial_backoff: 100ms, max_backoff: 5s}")
	w("    timeout: 30s")
	w("    tracking_header: %s", TrackingHeader)
	w("    max_response_bytes: 64MiB")
	w("streams:")
	// Before every generated timestamp: the history spans the four years up to Epoch.
	start := time.Date(o.Epoch.UTC().Year()-5, 1, 1, 0, 0, 0, 0, time.UTC).Format(time.RFC3339)
	rest := func(name, params, records, pagination string) {
		w("  %s:", name)
		w("    source: %s", SourceName)
		w("    path: /%s", name)
		if params != "" {
			w("    params: {%s}", params)
		}
		if records != "" {
			w("    records: %s", records)
		}
		w("    primary_key: [id]")
		if name != StreamCountries {
			w("    cursor:")
			w("      field: updated_at")
			w("      param: since")
			w("      start: %q", start)
			w("      lookback: 10m")
		}
		w("    pagination:")
		for _, line := range strings.Split(pagination, "\n") {
			w("      %s", line)
		}
		w("    schema: schemas/%s.json", name)
	}
	rest(StreamUsers, `per_page: "100"`, "", "type: link")
	rest(StreamOrders, "", "data", "type: offset\nparam: offset\nlimit_param: limit\nlimit: 200\ntotal: total")
	rest(StreamEvents, `page_size: "100"`, "results", "type: cursor\nnext: next_cursor\nparam: cursor\nhas_more: has_more")
	rest(StreamProducts, "", "items", "type: page\nparam: page\nstart: 1\nsize_param: size\nsize: 100")
	rest(StreamTickets, `limit: "100"`, "records", "type: next_url\nfield: next")
	rest(StreamCountries, "", "", "type: none")
	w("  %s:", StreamCertificates)
	w("    source: %s", SourceName)
	w("    kind: delta_queue")
	w("    delta_queue:")
	w("      list: {path: /delta, ids: ids, limit_param: limit}")
	w("      fetch: {path: \"/records/{id}\"}")
	w("      clear: {method: POST, path: /delta/clear, ids: ids}")
	w("      batch: 100")
	w("      deadline: %s", durString(o.Faults.DeltaDeadline))
	w("    reconcile:")
	w("      path: /certificates")
	w("      records: data")
	w("      pagination: {type: page, param: page, start: 1, size_param: size, size: 500}")
	w("    primary_key: [id]")
	w("    schema: schemas/%s.json", StreamCertificates)
	w("reconcile:")
	w("  every: 168h")
	return b.String()
}

// durString prints a duration the short way Go parses back ("2m", "1h").
func durString(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
