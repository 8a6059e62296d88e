package fetch

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/klauspost/compress/gzip"
)

// errUnsupportedEncoding is a Content-Encoding the Client did not ask for.
var errUnsupportedEncoding = errors.New("unsupported Content-Encoding")

// CapReader reads at most Max bytes from R; reading more fails with
// ErrOverCap (never io.EOF, so an oversize body is not taken for a complete
// or a truncated one). Over reports whether the cap was passed. The Client
// caps every body with it; the export download caps whole files with it.
type CapReader struct {
	R    io.Reader
	Max  int64
	n    int64
	over bool
}

// ErrOverCap is what a CapReader returns past its cap.
var ErrOverCap = errors.New("over size cap")

// Over reports whether more than Max bytes were offered.
func (c *CapReader) Over() bool { return c.over }

func (c *CapReader) Read(p []byte) (int, error) {
	if c.over {
		return 0, ErrOverCap
	}
	if room := c.Max + 1 - c.n; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := c.R.Read(p)
	c.n += int64(n)
	if c.n > c.Max {
		c.over = true
		return n, ErrOverCap
	}
	return n, err
}

// readBody reads and decodes resp's body, holding at most MaxResponseBytes
// of decoded data (a gzip bomb stops there) and a little more than that of
// raw data (a stream of empty deflate blocks stops too).
func (c *Client) readBody(resp *http.Response) ([]byte, error) {
	raw := &CapReader{R: resp.Body, Max: c.maxBody + c.maxBody/64 + 64<<10}
	var src io.Reader = raw
	switch enc := strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(raw)
		switch {
		case raw.Over():
			return nil, c.tooLarge()
		case errors.Is(err, io.EOF):
			return nil, nil // empty body (HEAD, 204) despite the header
		case err != nil:
			return nil, fmt.Errorf("gzip body: %w", err)
		}
		defer zr.Close()
		src = zr
	default:
		return nil, fmt.Errorf("%w %q (only gzip was asked for)", errUnsupportedEncoding, enc)
	}
	dec := &CapReader{R: src, Max: c.maxBody}
	var buf bytes.Buffer
	if resp.ContentLength > 0 && resp.ContentLength <= c.maxBody {
		buf.Grow(int(resp.ContentLength))
	}
	_, err := buf.ReadFrom(dec)
	if raw.Over() || dec.Over() {
		return nil, c.tooLarge()
	}
	if err != nil {
		return buf.Bytes(), fmt.Errorf("read body (%d bytes in): %w", buf.Len(), err)
	}
	return buf.Bytes(), nil
}

func (c *Client) tooLarge() error {
	return fmt.Errorf("body over the %d byte limit (max_response_bytes): %w", c.maxBody, ErrResponseTooLarge)
}

// bodyStartLen is how much of an error body HTTPError keeps.
const bodyStartLen = 200

// bodyStart returns the first ~200 bytes of body as one line of valid UTF-8.
// Secrets are redacted from a much longer prefix before cutting, so that no
// part of a secret survives the cut.
func bodyStart(body []byte, secrets []string) string {
	head := body[:min(len(body), 64<<10)]
	s := strings.Join(strings.Fields(Redact(string(head), secrets)), " ")
	if len(s) > bodyStartLen {
		cut := bodyStartLen
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return strings.ToValidUTF8(s, "?")
}
