package transform

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// cloneFileCtx copies a file exactly, and a cancelled copy leaves no file
// (reflink-capable filesystems clone at once and never see the cancel).
func TestCloneFileCtx(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	data := bytes.Repeat([]byte("0123456789abcdef"), (65<<20)/16+3) // over one 64 MiB step
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, "dst")
	method, err := cloneFileCtx(context.Background(), src, dst)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(dst)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("the copy (%s) differs from its source: %d bytes of %d, %v", method, len(got), len(data), err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dst2 := filepath.Join(dir, "dst2")
	if method, err := cloneFileCtx(ctx, src, dst2); method == "copy" || (err != nil && !errors.Is(err, context.Canceled)) {
		t.Errorf("a cancelled copy: %q, %v; want context.Canceled (or a clone)", method, err)
	} else if err != nil && exists(dst2) {
		t.Error("a cancelled copy left its file")
	}
}
