// Package fetch is the resilient HTTP client every rawland source uses to
// pull from other companies' rate-limited APIs.
//
// It owns what goes on the wire for a source: concurrency, the client-side
// budget, the upstream's quota as its headers report it, retries, the
// lockout breaker, response size limits, per-attempt logging and secret
// redaction. It knows nothing about streams, pagination or landing; the
// ingest stage calls Do and gets bytes back.
//
// # Lifecycle
//
// Create one Client per source per process with New; every stream of the
// source shares it. Each Do then, per attempt:
//
//  1. takes one of Options.Concurrency slots (all streams together);
//  2. fails fast with ErrLockout if the breaker is open (nothing is sent),
//     and waits while the source is paused: a Retry-After, remaining=0 in
//     X-RateLimit-* or IETF RateLimit headers (until their reset), a local
//     count of the upstream's remaining requests reaching zero, or a
//     rate-limit refusal without a hint. The pause is source-wide: every
//     goroutine (and, with QuotaDir, every process) waits for the same
//     moment; nobody keeps probing. A wait longer than Options.MaxWait (or
//     the context deadline) fails at once with ErrQuotaExhausted;
//  3. takes a slot of the client budget (Options.RateLimit), paced with
//     golang.org/x/time/rate, or with QuotaDir a token bucket in a shared
//     file (see quota_file.go), then checks step 2 again;
//  4. sends with Accept-Encoding: gzip, decodes the body itself and stops
//     at Options.MaxResponseBytes of decoded bytes (ErrResponseTooLarge);
//  5. records what the answer says (remaining quota minus the requests
//     still in flight, Retry-After, refusals) in the shared state, logs one
//     line, and classifies the result.
//
// Transient failures are retried with full-jitter exponential backoff within
// Options.Retry and the context: connection errors and resets, timeouts,
// truncated bodies, JSON bodies that do not parse, proxy HTML pages on 5xx,
// and the statuses 408, 429, 500, 502, 503 and 504. Other 4xx fail at once
// with *HTTPError.
//
// # Lockout guard
//
// Upstreams disable credentials that keep hammering them after 429s. The
// breaker counts consecutive rate-limit refusals (429, or a 403 mentioning
// rate limits, quota or a disabled credential) that arrive although the
// source waited as told; at Breaker.Threshold (default 3) it opens for
// Breaker.Cooldown and every Do fails with *LockoutError, which says why and
// what to do. Three consecutive 401s open it too. After the cooldown a
// single probe request decides whether it closes.
//
// # Origins
//
// Credentials go only to the origin (scheme, host, port) of
// Options.BaseURL. A request whose URL, or any redirect hop, leads to
// another origin fails with *OriginError (ErrForeignOrigin) before anything
// is sent there, and is not retried, unless Options.AllowedOrigins lists
// that origin; an allowed origin receives the credentials only with
// Options.SendCredentialsToAllowed. Wherever the credentials may not go,
// the Client removes every trace of them (the Authorization header, the
// header-auth header, the query-auth parameter, any header or query value
// that carries a secret, as an upstream echoing the key in a link would
// write it). net/http decides on host names alone and ignores the port,
// so the Client compares whole origins itself, on the first request and on
// every redirect hop. No Referer is sent on redirects.
//
// # Secrets
//
// Auth values (and their URL-escaped forms) never appear in log lines,
// errors or Response.URL: everything the package reports goes through
// Redact, and credential-like query parameters are masked even when no
// Auth declared them.
package fetch
