package landing_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rawland/rawland/landing"
	"github.com/rawland/rawland/state"
)

// FuzzWriteRead writes arbitrary records (the fuzz input split at NUL
// bytes) through a Writer, rolled small and compressed one of three ways,
// and reads them back with landing.Records. Every record Write accepts must
// come back exactly once, in order: byte for byte, except that
// insignificant whitespace of a valid JSON record may be compacted away.
// Write may refuse a record that is not one JSON value, never a valid one.
func FuzzWriteRead(f *testing.F) {
	for _, s := range []string{
		`{"id":1}` + "\x00" + `{"id":2,"s":"a b"}`,
		"{\n  \"id\": 3,\n  \"nested\": [1, 2]\n}",
		`{"text":"line\nbreak"}` + "\x00" + `[1,2,3]` + "\x00" + `"just a string"`,
		"{\"broken\":\"raw\nnewline\"}",
		"not json at all\x00{\"id\":4}",
		"",
		"\x00\x00",
		"{\"a\":\"\xff\xfe\"}",
		strings.Repeat(`{"pad":"`+strings.Repeat("x", 1000)+`"}`+"\x00", 5),
	} {
		f.Add([]byte(s), uint8(0), uint16(100))
		f.Add([]byte(s), uint8(1), uint16(1))
		f.Add([]byte(s), uint8(2), uint16(4096))
	}
	f.Fuzz(func(t *testing.T, data []byte, comp uint8, roll uint16) {
		compression := []string{"none", "gzip", "zstd"}[int(comp)%3]
		z := landing.Zone{Dir: t.TempDir()}
		id := state.NewRunID(time.Now())
		w, err := landing.NewWriter(z, "s", id, landing.Manifest{Kind: "ingest"}, landing.Options{RollBytes: int64(roll) + 1, Compression: compression})
		if err != nil {
			t.Fatal(err)
		}
		var want [][]byte
		for _, rec := range bytes.Split(data, []byte{0}) {
			if err := w.Write(rec); err != nil {
				if json.Valid(rec) {
					t.Fatalf("Write refused valid JSON %q: %v", rec, err)
				}
				continue
			}
			want = append(want, rec)
		}
		if _, err := w.Finish("", true); err != nil {
			t.Fatal(err)
		}
		var got [][]byte
		if _, err := landing.Records(context.Background(), z.StagingDir("s", id), func(r landing.Record) error {
			got = append(got, bytes.Clone(r.Data))
			return nil
		}); err != nil {
			t.Fatalf("reading back %d records written (%s): %v", len(want), compression, err)
		}
		if len(got) != len(want) {
			t.Fatalf("wrote %d records, read %d back (%s):\nwrote %q\nread  %q", len(want), len(got), compression, want, got)
		}
		for i := range want {
			if !sameRecord(want[i], got[i]) {
				t.Fatalf("record %d: wrote %q, read %q", i+1, want[i], got[i])
			}
		}
	})
}

// sameRecord: the bytes are equal, or the record is valid JSON and the
// landed line is its compact form.
func sameRecord(wrote, read []byte) bool {
	if bytes.Equal(wrote, read) {
		return true
	}
	var c bytes.Buffer
	return json.Valid(wrote) && json.Compact(&c, wrote) == nil && bytes.Equal(c.Bytes(), read)
}

// FuzzRecordsReader puts arbitrary bytes into a part file with a matching
// manifest and checks that landing.Records returns exactly the file's
// lines (split at '\n', a final newline ending the last line), whatever
// size the manifest gives the part (the reader sizes its buffer by it:
// none, the true one, one that understates it), and that a manifest whose
// count or checksum is wrong is reported as ErrCorrupt.
func FuzzRecordsReader(f *testing.F) {
	for _, s := range []string{
		"{\"id\":1}\n{\"id\":2}\n",
		"no final newline",
		"\n\n\n",
		"a\r\nb\r\n",
		"\x00\xff\n\xfe",
		strings.Repeat("y", 300<<10) + "\nshort\n" + strings.Repeat("z", 600<<10),
		strings.Repeat("w", 9000) + "\n" + strings.Repeat("{\"id\":1}\n", 2000) + strings.Repeat("v", 5000),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, content []byte) {
		dir := t.TempDir()
		want := lines(content)
		sum := sha256.Sum256(content)
		write := func(records int64, sha string, rawBytes int64) {
			t.Helper()
			m := landing.Manifest{Version: landing.ManifestVersion, Files: []landing.FileInfo{{
				Name: "part-00001.jsonl", Records: records, Bytes: int64(len(content)), RawBytes: rawBytes, SHA256: sha,
			}}}
			data, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, landing.ManifestFile), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, "part-00001.jsonl"), content, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, rawBytes := range []int64{0, int64(len(content)), 1} {
			write(int64(len(want)), hex.EncodeToString(sum[:]), rawBytes)
			var got [][]byte
			_, err := landing.Records(context.Background(), dir, func(r landing.Record) error {
				if r.Line != len(got)+1 {
					t.Fatalf("record %d says it is on line %d", len(got)+1, r.Line)
				}
				got = append(got, bytes.Clone(r.Data))
				return nil
			})
			if err != nil {
				t.Fatalf("reading %d lines (raw_bytes %d): %v", len(want), rawBytes, err)
			}
			if len(got) != len(want) {
				t.Fatalf("%d lines in the file, %d read (raw_bytes %d)", len(want), len(got), rawBytes)
			}
			for i := range want {
				if !bytes.Equal(got[i], want[i]) {
					t.Fatalf("line %d (raw_bytes %d): file has %q, read %q", i+1, rawBytes, want[i], got[i])
				}
			}
		}
		write(int64(len(want))+1, hex.EncodeToString(sum[:]), 0)
		if _, err := landing.Records(context.Background(), dir, func(landing.Record) error { return nil }); !errors.Is(err, landing.ErrCorrupt) {
			t.Fatalf("a manifest that counts one line too many: %v, want ErrCorrupt", err)
		}
		write(int64(len(want)), strings.Repeat("0", 64), 0)
		if _, err := landing.Records(context.Background(), dir, func(landing.Record) error { return nil }); !errors.Is(err, landing.ErrCorrupt) {
			t.Fatalf("a manifest with a wrong checksum: %v, want ErrCorrupt", err)
		}
	})
}

// lines splits content the way a JSON-lines reader must: at every '\n',
// the newline after the last line being optional.
func lines(content []byte) [][]byte {
	if len(content) == 0 {
		return nil
	}
	parts := bytes.Split(content, []byte{'\n'})
	if len(parts[len(parts)-1]) == 0 {
		parts = parts[:len(parts)-1]
	}
	return parts
}
