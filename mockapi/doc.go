// Package mockapi is rawland's built-in mock upstream: an HTTP server that
// behaves like the third-party APIs rawland ingests from, including the ways
// they misbehave. Tests use it through httptest, `rawland mockapi` serves it
// alone, and `rawland demo` runs the whole pipeline against it.
//
// # What it serves
//
// Six REST streams, one per pagination type of the config contract, plus a
// delta queue:
//
//	GET /users?since=&page=&per_page=          JSON array + Link: <…>; rel="next"   (link)
//	GET /orders?since=&offset=&limit=          {"data":[…],"total":N}               (offset)
//	GET /events?since=&cursor=&page_size=      {"results":[…],"next_cursor":…,"has_more":…} (cursor)
//	GET /products?since=&page=&size=           {"items":[…]}, empty items ends it   (page)
//	GET /tickets?since=&after=&limit=          {"records":[…],"next":"<url>"|null}  (next_url)
//	GET /countries                             small static JSON array              (none)
//	GET /delta?limit=N                         {"ids":[…]}  lease changed certificate IDs
//	GET /records/{id}                          one certificate
//	POST /delta/clear  {"ids":[…]}             {"cleared":n}
//	GET /certificates?since=&page=&size=       {"page":N,"data":[…]}  full listing for reconcile
//
// Under /dialects/ the tickets records are served again in other APIs'
// request and pagination dialects (a Stripe list, a POST search with the
// token in the body, GraphQL, a header cursor, OData's @odata.nextLink,
// 404 past the end, total_pages, Zendesk's end_of_stream, a feed whose
// token repeats at its end, a single object): see dialects.go.
//
// Listings order records by (updated_at, id); since (RFC 3339) keeps
// updated_at >= since. Config writes a matching rawland.yaml and Schemas
// the JSON Schemas it names.
//
// # Lifecycle
//
// New builds a Server from Options; it implements http.Handler, so mount
// it on an httptest.Server, or call Serve / ListenAndServe, which stop when
// their context is cancelled. Each stream's history (Options.Size records
// over four years ending at Options.Epoch) is generated on first use. Only a
// few int32 per record are kept (timestamps, version, liveness); the JSON is
// rendered on demand from (seed, stream, id, version), so a million records
// per stream cost a few megabytes and a page costs a binary search.
//
// While it serves, a test drives the upstream with Advance (records change
// and new ones appear; certificates are queued), Backdate (changes that keep
// an old updated_at), Delete and Resurrect, or Mutate for one stream; Truth
// and Record tell what the upstream holds now, and Stats what it saw:
// requests per path and status, the highest concurrency, quota violations,
// a disabled credential, delta-queue re-deliveries and clears.
//
// # Faults
//
// Options.Faults switches on misbehaviour, each switch independently: 503
// and 429 with Retry-After, a request quota with rate-limit headers that
// disables the credential after repeated violations, a concurrency limit,
// latency with jitter and spikes, connection resets, truncated bodies, HTML
// error pages, a delta-queue deadline, and full listings that break after
// some pages. Options.Drift renames an enum value in some users records.
// Every decision derives from the seed, so a run is reproducible. Each
// concern is one middleware in the chain New builds.
//
// Everything is safe for concurrent use.
package mockapi
