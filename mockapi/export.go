package mockapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ExportOptions configures the mock bulk export API (NewExport). The zero
// value serves 1000 records in 3 JSON-lines files, without faults.
type ExportOptions struct {
	// Records is how many records the export holds at start (default 1000);
	// record i has id i and updated_at Epoch + i minutes.
	Records int64
	// Files is how many files a job's records are split into (default 3).
	Files int
	// Format is jsonl (default), json or csv; Gzip compresses the files.
	Format string
	Gzip   bool
	// Pad is the bytes of padding per record (default 16): 1 GB exports
	// are Records × (112 + Pad) bytes.
	Pad int
	// Token, when set, is required as "Authorization: Bearer <Token>" by
	// the API (never by the file host, whose URLs are pre-signed).
	Token string
	// PollsToDone is how many polls a job answers running before it is
	// done (slow jobs); RetryAfter is sent with those answers.
	PollsToDone int
	RetryAfter  time.Duration
	// FailJobs: the first N jobs fail. ExpireJobs: the first N jobs are
	// gone (poll answers 404) from their first poll on.
	FailJobs   int
	ExpireJobs int
	// LateJobs: the first N polls of every job answer 404, as an API that
	// lists a new job a moment late.
	LateJobs int
	// LoseCreates: the first N create requests make the job, then lose the
	// answer (the connection is dropped after StallCreate).
	LoseCreates int
	StallCreate time.Duration
	// ExpireDownloads: the first N download requests are refused 403 as
	// expired URLs. URLTTL makes every URL expire that long after the poll
	// that issued it (0: never).
	ExpireDownloads int
	URLTTL          time.Duration
	// Truncate: the first N downloads of each file are cut off halfway.
	Truncate int
	// NoRanges ignores Range headers (the whole file every time).
	NoRanges bool
	// Checksums adds each file's SHA-256 to the done answer; BadChecksum
	// makes it wrong.
	Checksums   bool
	BadChecksum bool
	// Epoch is record 0's updated_at (default DefaultEpoch).
	Epoch time.Time
}

// ExportStats counts what the export API saw.
type ExportStats struct {
	// JobsCreated counts jobs made; Creates counts create requests.
	JobsCreated, Creates int64
	// Polls, Downloads, RangeDownloads count requests.
	Polls, Downloads, RangeDownloads int64
	// Refused403 counts downloads refused as expired.
	Refused403 int64
	// FileHostCredentials counts requests to the file host that carried
	// an Authorization header, a cookie, a Referer or the API token.
	FileHostCredentials int64
}

// Export is the mock bulk export API: POST /exports (Idempotency-Key
// header, or idempotency_key in the body; since in the body selects records
// updated after it) → {"id"}; GET /exports/{id} → {"id","status":
// running|completed|failed,"error","files":[{"url","sha256"}]}. The files
// are served by Files, meant for a second listener: another origin.
type Export struct {
	opts   ExportOptions
	secret []byte

	mu        sync.Mutex
	records   int64
	filesBase string
	jobs      map[string]*exportJob
	byKey     map[string]string
	stats     ExportStats
	downloads map[string]int // file path → downloads
}

type exportJob struct {
	id    string
	n     int // job number, 1-based
	polls int
	files []*exportFile
	sums  []string
}

// NewExport builds the export API.
func NewExport(opts ExportOptions) *Export {
	if opts.Records == 0 {
		opts.Records = 1000
	}
	if opts.Files <= 0 {
		opts.Files = 3
	}
	if opts.Format == "" {
		opts.Format = "jsonl"
	}
	if opts.Pad == 0 {
		opts.Pad = 16
	}
	if opts.Epoch.IsZero() {
		opts.Epoch = DefaultEpoch
	}
	return &Export{opts: opts, secret: []byte("mock-signing-key"), records: opts.Records,
		jobs: map[string]*exportJob{}, byKey: map[string]string{}, downloads: map[string]int{}}
}

// SetFilesBase sets the origin (e.g. the second listener's URL) the done
// answers' file URLs point at.
func (e *Export) SetFilesBase(u string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.filesBase = strings.TrimSuffix(u, "/")
}

// Grow adds n records (updated after every earlier one).
func (e *Export) Grow(n int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.records += n
}

// Stats returns the counters.
func (e *Export) Stats() ExportStats {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stats
}

// API serves POST /exports and GET /exports/{id}.
func (e *Export) API() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /exports", e.create)
	mux.HandleFunc("GET /exports/{id}", e.poll)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if e.opts.Token != "" && r.Header.Get("Authorization") != "Bearer "+e.opts.Token {
			writeError(w, http.StatusUnauthorized, "bad credentials")
			return
		}
		mux.ServeHTTP(w, r)
	})
}

func (e *Export) create(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Since string `json:"since"`
		Key   string `json:"idempotency_key"`
	}
	raw, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &body); err != nil {
			writeError(w, http.StatusBadRequest, "body is not JSON: "+err.Error())
			return
		}
	}
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		key = body.Key
	}
	var from int64 = 1
	if body.Since != "" {
		t, err := time.Parse(time.RFC3339, body.Since)
		if err != nil {
			writeError(w, http.StatusBadRequest, "since: "+err.Error())
			return
		}
		from = max(int64(t.Sub(e.opts.Epoch)/time.Minute)+1, 1)
	}
	e.mu.Lock()
	e.stats.Creates++
	id, ok := e.byKey[key]
	if !ok || key == "" {
		e.stats.JobsCreated++
		n := int(e.stats.JobsCreated)
		id = fmt.Sprintf("job-%d", n)
		j := &exportJob{id: id, n: n}
		total := max(e.records-from+1, 0)
		per := (total + int64(e.opts.Files) - 1) / int64(e.opts.Files)
		for first := from; first <= e.records; first += per {
			f := newExportFile(e.opts.Format, first, min(per, e.records-first+1), e.opts.Pad, e.opts.Epoch, e.opts.Gzip)
			j.files = append(j.files, f)
			sum := ""
			if e.opts.Checksums {
				h := sha256.New()
				io.Copy(h, io.NewSectionReader(f, 0, f.Size()))
				sum = hex.EncodeToString(h.Sum(nil))
				if e.opts.BadChecksum {
					sum = strings.Repeat("0", 64)
				}
			}
			j.sums = append(j.sums, sum)
		}
		e.jobs[id] = j
		if key != "" {
			e.byKey[key] = id
		}
	}
	lose := e.stats.Creates <= int64(e.opts.LoseCreates)
	e.mu.Unlock()
	if lose {
		select {
		case <-time.After(e.opts.StallCreate):
		case <-r.Context().Done():
		}
		panic(http.ErrAbortHandler) // the job exists; the answer is lost
	}
	writeJSON(w, http.StatusAccepted, []byte(`{"id":"`+id+`","status":"running"}`))
}

func (e *Export) poll(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.stats.Polls++
	j, ok := e.jobs[r.PathValue("id")]
	if !ok || j.n <= e.opts.ExpireJobs {
		writeError(w, http.StatusNotFound, "no such export job (expired?)")
		return
	}
	j.polls++
	if j.polls <= e.opts.LateJobs {
		writeError(w, http.StatusNotFound, "no such export job (yet)")
		return
	}
	out := map[string]any{"id": j.id}
	switch {
	case j.n <= e.opts.FailJobs:
		out["status"], out["error"] = "failed", "the export ran out of disk"
	case j.polls <= e.opts.PollsToDone:
		out["status"] = "running"
		if e.opts.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(e.opts.RetryAfter.Seconds())))
		}
	default:
		out["status"] = "completed"
		exp := time.Now().Add(24 * time.Hour)
		if e.opts.URLTTL > 0 {
			exp = time.Now().Add(e.opts.URLTTL)
		}
		var files []map[string]any
		for i := range j.files {
			path := fmt.Sprintf("/files/%s/%d", j.id, i)
			u := fmt.Sprintf("%s%s?exp=%d&sig=%s", e.filesBase, path, exp.UnixNano(), e.sign(path, exp.UnixNano()))
			f := map[string]any{"url": u}
			if j.sums[i] != "" {
				f["sha256"] = j.sums[i]
			}
			files = append(files, f)
		}
		out["files"] = files
	}
	b, _ := json.Marshal(out)
	writeJSON(w, http.StatusOK, b)
}

func (e *Export) sign(path string, exp int64) string {
	m := hmac.New(sha256.New, e.secret)
	fmt.Fprintf(m, "%s|%d", path, exp)
	return hex.EncodeToString(m.Sum(nil))[:32]
}

// Files serves the pre-signed file URLs: GET /files/{job}/{n}?exp=&sig=.
func (e *Export) Files() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.stats.Downloads++
		if r.Header.Get("Range") != "" {
			e.stats.RangeDownloads++
		}
		h := r.Header
		leak := h.Get("Authorization") != "" || h.Get("Cookie") != "" || h.Get("Referer") != "" || h.Get("Proxy-Authorization") != ""
		if t := e.opts.Token; t != "" && (strings.Contains(r.URL.RawQuery, t) || strings.Contains(fmt.Sprint(h), t)) {
			leak = true
		}
		if leak {
			e.stats.FileHostCredentials++
		}
		exp, _ := strconv.ParseInt(r.URL.Query().Get("exp"), 10, 64)
		valid := hmac.Equal([]byte(r.URL.Query().Get("sig")), []byte(e.sign(r.URL.Path, exp)))
		expired := e.stats.Downloads <= int64(e.opts.ExpireDownloads) || time.Now().UnixNano() > exp
		var f *exportFile
		parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/files/"), "/")
		if j, ok := e.jobs[parts[0]]; ok && len(parts) == 2 {
			if n, err := strconv.Atoi(parts[1]); err == nil && n >= 0 && n < len(j.files) {
				f = j.files[n]
			}
		}
		e.downloads[r.URL.Path]++
		truncate := e.downloads[r.URL.Path] <= e.opts.Truncate
		if expired && valid {
			e.stats.Refused403++
		}
		e.mu.Unlock()
		switch {
		case !valid || f == nil:
			writeError(w, http.StatusForbidden, "signature does not match")
			return
		case expired:
			writeError(w, http.StatusForbidden, "Request has expired")
			return
		}
		content := io.NewSectionReader(f, 0, f.Size())
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("ETag", `"`+e.sign(r.URL.Path, 0)[:16]+`"`)
		if e.opts.NoRanges || truncate {
			w.Header().Set("Content-Length", strconv.FormatInt(f.Size(), 10))
			w.WriteHeader(http.StatusOK)
			n := f.Size()
			if truncate {
				n /= 2
			}
			io.CopyN(w, content, n)
			if truncate {
				panic(http.ErrAbortHandler) // the transfer breaks off
			}
			return
		}
		w.Header().Set("Accept-Ranges", "bytes")
		http.ServeContent(w, r, "", time.Time{}, content)
	})
}
