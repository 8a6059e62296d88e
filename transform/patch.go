package transform

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
)

// patchBlock is how much patchFile compares at a time (DuckDB's block
// size); patchPage is the unit it rewrites within a block that differs.
const (
	patchBlock = 256 << 10
	patchPage  = 4 << 10
)

// patchFile makes dst's content equal to src's by rewriting only the pages
// that differ, then truncating dst to src's size. Consecutive checkpoints
// of a DuckDB file differ in few blocks (new and rewritten row groups,
// metadata, the header), so after a small run this writes a few MB of a
// file of any size. It returns the bytes written; it does not sync dst.
func patchFile(ctx context.Context, dst, src *os.File) (int64, error) {
	bs, bd := make([]byte, patchBlock), make([]byte, patchBlock)
	var off, written int64
	for i := 0; ; i++ {
		if i%64 == 0 {
			if err := ctx.Err(); err != nil {
				return written, err
			}
		}
		ns, err := src.ReadAt(bs, off)
		if err != nil && err != io.EOF {
			return written, fmt.Errorf("read %s: %w", src.Name(), err)
		}
		if ns == 0 {
			break
		}
		nd, err := dst.ReadAt(bd[:ns], off)
		if err != nil && err != io.EOF {
			return written, fmt.Errorf("read %s: %w", dst.Name(), err)
		}
		if nd < ns || !bytes.Equal(bs[:ns], bd[:ns]) {
			n, err := writeDiffering(dst, bs[:ns], bd[:nd], off)
			written += n
			if err != nil {
				return written, fmt.Errorf("write %s: %w", dst.Name(), err)
			}
		}
		off += int64(ns)
		if ns < patchBlock {
			break
		}
	}
	st, err := dst.Stat()
	if err != nil {
		return written, err
	}
	if st.Size() != off {
		if err := dst.Truncate(off); err != nil {
			return written, fmt.Errorf("truncate %s: %w", dst.Name(), err)
		}
	}
	return written, nil
}

// writeDiffering writes the runs of pages of want that differ from have
// (have may be shorter: beyond it everything differs) at off.
func writeDiffering(dst *os.File, want, have []byte, off int64) (int64, error) {
	var written int64
	runStart := -1
	flush := func(end int) error {
		if runStart < 0 {
			return nil
		}
		n, err := dst.WriteAt(want[runStart:end], off+int64(runStart))
		written += int64(n)
		runStart = -1
		return err
	}
	for p := 0; p < len(want); p += patchPage {
		end := min(p+patchPage, len(want))
		same := end <= len(have) && bytes.Equal(want[p:end], have[p:end])
		if !same && runStart < 0 {
			runStart = p
		}
		if same {
			if err := flush(p); err != nil {
				return written, err
			}
		}
	}
	return written, flush(len(want))
}
