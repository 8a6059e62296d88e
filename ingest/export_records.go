package ingest

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/tidwall/gjson"

	"github.com/rawland/rawland/config"
	"github.com/rawland/rawland/landing"
)

// decompress detects a gzip or zstd file by its first bytes and returns a
// reader of its content (the reader itself for anything else).
func decompress(r io.Reader) (io.Reader, func(), error) {
	br := bufio.NewReaderSize(r, 256<<10)
	head, err := br.Peek(4)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, nil, err
	}
	switch {
	case len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b:
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("gzip file: %w", err)
		}
		return zr, func() { zr.Close() }, nil
	case len(head) >= 4 && bytes.Equal(head, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxWindow(32<<20))
		if err != nil {
			return nil, nil, fmt.Errorf("zstd file: %w", err)
		}
		return zr, zr.Close, nil
	}
	return br, func() {}, nil
}

// Batching of export records: one landed page per batch.
const (
	exportBatchRecords = 2000
	exportBatchBytes   = 4 << 20
)

// cutter cuts records out of a file's content and lands them in batches.
type cutter struct {
	sink      func(batch) error
	format    string
	maxRecord int64
	file      string // the file's shown URL
	line      int64  // line (jsonl, csv) or element (json) of the last record
	records   int64
	pages     int64

	arena []byte
	ends  []int
	recs  []json.RawMessage
}

// add copies one record into the batch, landing the batch when full.
func (c *cutter) add(rec []byte) error {
	c.arena = append(c.arena, rec...)
	c.ends = append(c.ends, len(c.arena))
	if len(c.ends) >= exportBatchRecords || len(c.arena) >= exportBatchBytes {
		return c.flush()
	}
	return nil
}

// flush lands the batch.
func (c *cutter) flush() error {
	if len(c.ends) == 0 {
		return nil
	}
	c.recs = c.recs[:0]
	start := 0
	for _, e := range c.ends {
		c.recs = append(c.recs, c.arena[start:e])
		start = e
	}
	c.pages++
	c.records += int64(len(c.recs))
	err := c.sink(batch{page: landing.Page{N: c.pages, URL: c.file, Status: 200, Records: len(c.recs), Bytes: len(c.arena)}, records: c.recs})
	c.arena, c.ends = c.arena[:0], c.ends[:0]
	return err
}

// cut lands every record of r, then the last partial batch.
func (c *cutter) cut(r io.Reader) error {
	var err error
	switch c.format {
	case config.FormatJSON:
		err = c.jsonArray(r)
	case config.FormatCSV:
		err = c.csv(r)
	default:
		err = c.jsonl(r)
	}
	if err != nil {
		return err
	}
	return c.flush()
}

// jsonl lands each non-blank line, which must be one JSON value.
func (c *cutter) jsonl(r io.Reader) error {
	br := bufio.NewReaderSize(r, 1<<20)
	var long []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long, chunk...)
			if int64(len(long)) > c.maxRecord {
				return fmt.Errorf("%s line %d: a record over %d bytes (max_response_bytes)", c.file, c.line+1, c.maxRecord)
			}
			continue
		}
		line := chunk
		if long != nil {
			line = append(long, chunk...)
			long = nil
		}
		if len(line) > 0 {
			c.line++
			rec := bytes.TrimRight(line, "\r\n")
			if len(bytes.TrimSpace(rec)) > 0 {
				if !gjson.ValidBytes(rec) {
					if err == io.EOF {
						return fmt.Errorf("%s line %d: the last line is not valid JSON (the file is cut short?): %.60q", c.file, c.line, rec)
					}
					return fmt.Errorf("%s line %d: not valid JSON: %.60q", c.file, c.line, rec)
				}
				if err := c.add(rec); err != nil {
					return err
				}
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s after line %d: %w", c.file, c.line, err)
		}
	}
}

// jsonArray lands each element of one top-level JSON array, read as a
// stream.
func (c *cutter) jsonArray(r io.Reader) error {
	dec := json.NewDecoder(r)
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("%s: %w", c.file, jsonErr(err))
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return fmt.Errorf("%s: format json wants one top-level array, the file starts with %v", c.file, tok)
	}
	for dec.More() {
		var rec json.RawMessage
		if err := dec.Decode(&rec); err != nil {
			return fmt.Errorf("%s element %d: %w", c.file, c.line+1, jsonErr(err))
		}
		c.line++
		if err := c.add(rec); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("%s after element %d: %w", c.file, c.line, jsonErr(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%s: more after the array's end", c.file)
	}
	return nil
}

func jsonErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("the array ends early (the file is cut short?): %w", err)
	}
	return err
}

// csv lands each row after the header as a JSON object keyed by the
// header, every value a string.
func (c *cutter) csv(r io.Reader) error {
	cr := csv.NewReader(bufio.NewReaderSize(r, 1<<20))
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s header: %w", c.file, err)
	}
	keys := make([][]byte, len(header))
	seen := map[string]bool{}
	for i, h := range header {
		if i == 0 {
			h = string(bytes.TrimPrefix([]byte(h), []byte("\xef\xbb\xbf"))) // a byte-order mark
		}
		if seen[h] {
			return fmt.Errorf("%s header: column %q appears twice", c.file, h)
		}
		seen[h] = true
		keys[i] = appendJSONString(nil, h)
	}
	c.line = 1
	var obj []byte
	for {
		row, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", c.file, err)
		}
		ln, _ := cr.FieldPos(0)
		c.line = int64(ln)
		obj = append(obj[:0], '{')
		for i, v := range row {
			if i > 0 {
				obj = append(obj, ',')
			}
			obj = append(obj, keys[i]...)
			obj = append(obj, ':')
			obj = appendJSONString(obj, v)
		}
		obj = append(obj, '}')
		if err := c.add(obj); err != nil {
			return err
		}
	}
}

// appendJSONString appends s as a JSON string (invalid UTF-8 replaced).
func appendJSONString(b []byte, s string) []byte {
	if !utf8.ValidString(s) {
		s = string(bytes.ToValidUTF8([]byte(s), []byte("\uFFFD")))
	}
	simple := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' {
			simple = false
			break
		}
	}
	if simple {
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	q, _ := json.Marshal(s) // a string always marshals
	return append(b, q...)
}
