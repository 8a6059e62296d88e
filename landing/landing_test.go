package landing_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/rawland/rawland/landing"
	"github.com/rawland/rawland/landing/landingtest"
	"github.com/rawland/rawland/state"
)

// exotic records whose bytes a re-encoding would change.
var exotic = []string{
	`{"id":9223372036854775807,"n":0.1,"big":123456789012345678901234567890,"s":"caf\u00e9 \ud83d\ude00","z":1e400}`,
	`{"b":1,"a":2,"nested":{"y":[1,2.50,-0.0],"x":null}}`,
	`{"id":2,"text":"line\nbreak \"quoted\" \/ slash"}`,
}

func TestWriterKeepsBytesAndRolls(t *testing.T) {
	for _, comp := range []string{"none", "gzip", "zstd"} {
		t.Run(comp, func(t *testing.T) {
			z := landing.Zone{Dir: t.TempDir()}
			id := state.NewRunID(time.Now())
			w, err := landing.NewWriter(z, "s", id, landing.Manifest{Kind: "ingest"}, landing.Options{RollBytes: 150, Compression: comp})
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for i := range 20 {
				rec := exotic[i%len(exotic)]
				want = append(want, rec)
				// pretty-printed input must land compacted, tokens untouched
				pretty := strings.Replace(rec, `{"`, "{\n  \"", 1)
				if err := w.Write([]byte(pretty)); err != nil {
					t.Fatal(err)
				}
			}
			w.Page(landing.Page{N: 1, Records: 20, TrackingID: "abc"})
			m, err := w.Finish("c2", true)
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Files) < 3 || m.Records != 20 || m.FirstTrackingID != "abc" {
				t.Fatalf("manifest: %d files, %d records, tracking %q", len(m.Files), m.Records, m.FirstTrackingID)
			}
			// nothing is visible in raw/ before Publish
			if _, err := os.Stat(z.RawDir("s", id)); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("run visible in raw/ before publish: %v", err)
			}
			if err := z.Publish("s", id); err != nil {
				t.Fatal(err)
			}
			if err := z.Publish("s", id); err != nil {
				t.Fatalf("publish is not idempotent: %v", err)
			}
			var got []string
			if _, err := landing.Records(context.Background(), z.RawDir("s", id), func(r landing.Record) error {
				got = append(got, string(r.Data))
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("landed bytes differ:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			tmp, _ := filepath.Glob(filepath.Join(z.RawDir("s", id), "*.tmp"))
			if len(tmp) != 0 {
				t.Fatalf("temporary files left: %v", tmp)
			}
		})
	}
}

// landExotic lands the exotic records as one published run of stream s.
func landExotic(t *testing.T) (landing.Zone, string, landing.Manifest) {
	t.Helper()
	z := landing.Zone{Dir: t.TempDir()}
	id := state.NewRunID(time.Now())
	w, _ := landing.NewWriter(z, "s", id, landing.Manifest{}, landing.Options{})
	for _, r := range exotic {
		w.Write([]byte(r))
	}
	m, err := w.Finish("", true)
	if err != nil {
		t.Fatal(err)
	}
	if err := z.Publish("s", id); err != nil {
		t.Fatal(err)
	}
	return z, id, m
}

func TestRecordsDetectsCorruption(t *testing.T) {
	z, id, m := landExotic(t)
	part := filepath.Join(z.RawDir("s", id), m.Files[0].Name)
	data, _ := os.ReadFile(part)
	os.WriteFile(part, append(data, []byte(`{"id":"smuggled"}`+"\n")...), 0o644)
	_, err := landing.Records(context.Background(), z.RawDir("s", id), func(landing.Record) error { return nil })
	if !errors.Is(err, landing.ErrCorrupt) {
		t.Fatalf("got %v, want ErrCorrupt", err)
	}
}

func TestAbortRemovesStaging(t *testing.T) {
	z := landing.Zone{Dir: t.TempDir()}
	id := state.NewRunID(time.Now())
	w, _ := landing.NewWriter(z, "s", id, landing.Manifest{}, landing.Options{})
	w.Write([]byte(exotic[0]))
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if ids, _ := z.StagedRuns("s"); len(ids) != 0 {
		t.Fatalf("staging still holds %v", ids)
	}
}

func TestWriteRejectsNonJSON(t *testing.T) {
	z := landing.Zone{Dir: t.TempDir()}
	w, _ := landing.NewWriter(z, "s", state.NewRunID(time.Now()), landing.Manifest{}, landing.Options{})
	defer w.Abort()
	if err := w.Write([]byte("{\"a\": tru e}")); err == nil {
		t.Fatal("a record that is not one JSON value was landed")
	}
}

func TestConformanceDir(t *testing.T) {
	landingtest.Run(t, func(t *testing.T) landing.Zone { return landing.Zone{Dir: t.TempDir()} })
}

// TestRecordsChecksXXH64AndOlderSHA256: a part's manifest entry carries
// both checksums; a byte changed inside a record (the record count
// unchanged) is caught by the xxHash64 the reader checks, and, for a
// manifest written before parts had one, by the SHA-256.
func TestRecordsChecksXXH64AndOlderSHA256(t *testing.T) {
	z, id, m := landExotic(t)
	dir := z.RawDir("s", id)
	fi := m.Files[0]
	part := filepath.Join(dir, fi.Name)
	data, _ := os.ReadFile(part)
	if sum := sha256.Sum256(data); fi.SHA256 != hex.EncodeToString(sum[:]) {
		t.Fatalf("manifest sha256 %s, file's %x", fi.SHA256, sum)
	}
	if x := xxhash.Sum64(data); fi.XXH64 != fmt.Sprintf("%016x", x) {
		t.Fatalf("manifest xxh64 %s, file's %016x", fi.XXH64, x)
	}
	read := func() error {
		_, err := landing.Records(context.Background(), dir, func(landing.Record) error { return nil })
		return err
	}
	if err := read(); err != nil {
		t.Fatalf("intact part: %v", err)
	}
	// one byte of a record changed: same lines, same size
	i := bytes.IndexByte(data, '"')
	bad := bytes.Clone(data)
	bad[i+1] ^= 0x01
	os.WriteFile(part, bad, 0o644)
	if err := read(); !errors.Is(err, landing.ErrCorrupt) || !strings.Contains(err.Error(), "xxh64") {
		t.Fatalf("changed byte: %v, want ErrCorrupt naming xxh64", err)
	}
	// a manifest from before parts had an xxh64: the SHA-256 decides
	m.Files[0].XXH64 = ""
	mdata, _ := json.Marshal(m)
	os.WriteFile(filepath.Join(dir, landing.ManifestFile), mdata, 0o644)
	if err := read(); !errors.Is(err, landing.ErrCorrupt) || !strings.Contains(err.Error(), "sha256") {
		t.Fatalf("changed byte, older manifest: %v, want ErrCorrupt naming sha256", err)
	}
	os.WriteFile(part, data, 0o644)
	if err := read(); err != nil {
		t.Fatalf("intact part, older manifest: %v", err)
	}
}
