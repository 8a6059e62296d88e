package transform

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
)

// A publish records, while the working database is still private and
// exactly what rawland wrote, the pages in which it differs from the
// snapshot it replaces: a delta file. The next working database is that
// previous snapshot with the delta applied (writes only), so it never
// depends on bytes a reader's read-write session could have written into
// the published snapshot since.

// patchBlock is how much diffFiles compares at a time (DuckDB's block
// size); patchPage is the unit it records within a block that differs.
const (
	patchBlock = 256 << 10
	patchPage  = 4 << 10
)

// deltaMagic starts every delta file.
const deltaMagic = "RAWLAND-DELTA-1\n"

// deltaEnd is the offset of the record that ends a delta file.
const deltaEnd = ^uint64(0)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// errDeltaTooBig says that the files differ in more than the delta's limit.
var errDeltaTooBig = errors.New("the files differ too much for a delta")

// deltaHeader says what a delta turns into what.
type deltaHeader struct {
	// Base is the file the delta applies to (the previous snapshot, as read).
	Base seal `json:"base"`
	// Target is the file it makes (the published working database).
	Target seal `json:"target"`
}

// full reports whether the delta holds the whole target (it applies to an
// empty file: there was no previous snapshot to diff against, or the run
// rewrote most of the warehouse).
func (h deltaHeader) full() bool { return h.Base.Bytes == 0 }

// diffFiles calls emit with each run of pages of want that differ from
// have (have may be shorter or longer, or nil: empty), in order of offset,
// and returns want's size.
func diffFiles(ctx context.Context, want, have *os.File, emit func(off int64, b []byte) error) (int64, error) {
	bw, bh := make([]byte, patchBlock), make([]byte, patchBlock)
	var off int64
	for i := 0; ; i++ {
		if i%64 == 0 {
			if err := ctx.Err(); err != nil {
				return off, err
			}
		}
		nw, err := want.ReadAt(bw, off)
		if err != nil && err != io.EOF {
			return off, fmt.Errorf("read %s: %w", want.Name(), err)
		}
		if nw == 0 {
			return off, nil
		}
		nh := 0
		if have != nil {
			if nh, err = have.ReadAt(bh[:nw], off); err != nil && err != io.EOF {
				return off, fmt.Errorf("read %s: %w", have.Name(), err)
			}
		}
		if nh < nw || !bytes.Equal(bw[:nw], bh[:nw]) {
			if err := emitDiffering(bw[:nw], bh[:nh], off, emit); err != nil {
				return off, err
			}
		}
		off += int64(nw)
		if nw < patchBlock {
			return off, nil
		}
	}
}

// emitDiffering emits the runs of pages of want that differ from have
// (have may be shorter: beyond it everything differs); off is want's offset.
func emitDiffering(want, have []byte, off int64, emit func(int64, []byte) error) error {
	runStart := -1
	for p := 0; p < len(want); p += patchPage {
		end := min(p+patchPage, len(want))
		same := end <= len(have) && bytes.Equal(want[p:end], have[p:end])
		switch {
		case !same && runStart < 0:
			runStart = p
		case same && runStart >= 0:
			if err := emit(off+int64(runStart), want[runStart:p]); err != nil {
				return err
			}
			runStart = -1
		}
	}
	if runStart >= 0 {
		return emit(off+int64(runStart), want[runStart:])
	}
	return nil
}

// writeDelta writes to path (temp name, fsync, rename) the pages of want
// that differ from have, and want's size, under hdr. When more than limit
// bytes differ it writes nothing and returns errDeltaTooBig. It returns the
// bytes of pages recorded.
func writeDelta(ctx context.Context, path string, want, have *os.File, hdr deltaHeader, limit int64) (int64, error) {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return 0, err
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	crc := crc32.New(crcTable)
	w := bufio.NewWriterSize(io.MultiWriter(f, crc), 1<<20)
	h, err := json.Marshal(hdr)
	if err != nil {
		return 0, err
	}
	var rec [12]byte
	w.WriteString(deltaMagic)
	binary.LittleEndian.PutUint32(rec[:4], uint32(len(h)))
	w.Write(rec[:4])
	w.Write(h)
	var pages int64
	size, err := diffFiles(ctx, want, have, func(off int64, b []byte) error {
		if pages += int64(len(b)); pages > limit {
			return errDeltaTooBig
		}
		binary.LittleEndian.PutUint64(rec[:8], uint64(off))
		binary.LittleEndian.PutUint32(rec[8:], uint32(len(b)))
		w.Write(rec[:])
		_, err := w.Write(b)
		return err
	})
	if err != nil {
		return pages, err
	}
	binary.LittleEndian.PutUint64(rec[:8], deltaEnd)
	binary.LittleEndian.PutUint32(rec[8:], 0)
	w.Write(rec[:])
	binary.LittleEndian.PutUint64(rec[:8], uint64(size))
	w.Write(rec[:8])
	if err := w.Flush(); err != nil {
		return pages, fmt.Errorf("write %s: %w", tmp, err)
	}
	binary.LittleEndian.PutUint32(rec[:4], crc.Sum32())
	if _, err := f.Write(rec[:4]); err != nil {
		return pages, fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		return pages, fmt.Errorf("sync %s: %w", tmp, err)
	}
	ok = true
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return pages, err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return pages, err
	}
	return pages, syncDir(filepath.Dir(path))
}

// readDeltaHeader reads a delta file's header after checking the whole
// file against its checksum; a missing file gives (nil, nil).
func readDeltaHeader(path string) (*deltaHeader, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() < int64(len(deltaMagic))+4+4 {
		return nil, fmt.Errorf("%s is not a delta file", path)
	}
	crc := crc32.New(crcTable)
	if _, err := io.Copy(crc, io.NewSectionReader(f, 0, fi.Size()-4)); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	var b [4]byte
	if _, err := f.ReadAt(b[:], fi.Size()-4); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if binary.LittleEndian.Uint32(b[:]) != crc.Sum32() {
		return nil, fmt.Errorf("%s is damaged (checksum mismatch)", path)
	}
	r := bufio.NewReader(io.NewSectionReader(f, 0, fi.Size()))
	hdr, err := readDeltaStart(r, path)
	return hdr, err
}

func readDeltaStart(r *bufio.Reader, path string) (*deltaHeader, error) {
	magic := make([]byte, len(deltaMagic))
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != deltaMagic {
		return nil, fmt.Errorf("%s is not a delta file", path)
	}
	var n [4]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	h := make([]byte, binary.LittleEndian.Uint32(n[:]))
	if _, err := io.ReadFull(r, h); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	var hdr deltaHeader
	if err := json.Unmarshal(h, &hdr); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return &hdr, nil
}

// applyDelta writes the delta at path (checked by readDeltaHeader) into
// dst and truncates dst to the size it records. It only writes dst, never
// reads it, and may be applied again after an interruption. It returns
// the bytes written; it does not sync dst.
func applyDelta(ctx context.Context, path string, dst *os.File) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	if _, err := readDeltaStart(r, path); err != nil {
		return 0, err
	}
	var rec [12]byte
	buf := make([]byte, patchBlock)
	var written int64
	for i := 0; ; i++ {
		if i%64 == 0 {
			if err := ctx.Err(); err != nil {
				return written, err
			}
		}
		if _, err := io.ReadFull(r, rec[:]); err != nil {
			return written, fmt.Errorf("read %s: %w", path, err)
		}
		off, n := binary.LittleEndian.Uint64(rec[:8]), binary.LittleEndian.Uint32(rec[8:])
		if off == deltaEnd {
			break
		}
		if int(n) > len(buf) {
			return written, fmt.Errorf("%s is damaged (a %d-byte record)", path, n)
		}
		if _, err := io.ReadFull(r, buf[:n]); err != nil {
			return written, fmt.Errorf("read %s: %w", path, err)
		}
		if _, err := dst.WriteAt(buf[:n], int64(off)); err != nil {
			return written, fmt.Errorf("write %s: %w", dst.Name(), err)
		}
		written += int64(n)
	}
	if _, err := io.ReadFull(r, rec[:8]); err != nil {
		return written, fmt.Errorf("read %s: %w", path, err)
	}
	if err := dst.Truncate(int64(binary.LittleEndian.Uint64(rec[:8]))); err != nil {
		return written, fmt.Errorf("truncate %s: %w", dst.Name(), err)
	}
	return written, nil
}
