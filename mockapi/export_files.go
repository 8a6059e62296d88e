package mockapi

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
)

// exportFile is one generated export file: fixed-width rows, so that any
// byte range is computed without holding the file (a 1 GB export costs no
// memory). Row k is record first+k.
type exportFile struct {
	format   string
	head     []byte // "[" or the CSV header; nothing for jsonl
	tail     []byte // "]" (json) or nothing
	rowLen   int    // bytes of one row, separator included
	first    int64  // first record ID
	n        int64  // rows
	epoch    time.Time
	gz       []byte // the gzip file, when compressed (small exports only)
	lastByte int64
}

// exportPad is the padding rows are filled with.
var exportPad = []byte(strings.Repeat("x", 4096))

// exportRowOverhead is the longest row prefix without padding.
const exportRowOverhead = 112

func newExportFile(format string, first, n int64, pad int, epoch time.Time, compress bool) *exportFile {
	f := &exportFile{format: format, first: first, n: n, epoch: epoch, rowLen: exportRowOverhead + pad}
	switch format {
	case "json":
		f.head, f.tail = []byte("["), []byte("]\n")
	case "csv":
		f.head = []byte("id,updated_at,name,pad\n")
	}
	if compress {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		io.Copy(zw, io.NewSectionReader(f, 0, f.plainSize()))
		zw.Close()
		f.gz = b.Bytes()
	}
	return f
}

// plainSize is the uncompressed file's size.
func (f *exportFile) plainSize() int64 {
	return int64(len(f.head)) + f.n*int64(f.rowLen) + int64(len(f.tail))
}

// Size is the served file's size.
func (f *exportFile) Size() int64 {
	if f.gz != nil {
		return int64(len(f.gz))
	}
	return f.plainSize()
}

// exportUpdated is record id's updated_at.
func exportUpdated(epoch time.Time, id int64) time.Time {
	return epoch.Add(time.Duration(id) * time.Minute)
}

// row renders row k into buf (len rowLen).
func (f *exportFile) row(buf []byte, k int64) []byte {
	id := f.first + k
	ts := exportUpdated(f.epoch, id).UTC().Format(time.RFC3339)
	b := buf[:0]
	if f.format == "json" && k > 0 {
		b = append(b, ',')
	}
	var pre string
	switch f.format {
	case "csv":
		pre = strconv.FormatInt(id, 10) + "," + ts + ",rec-" + strconv.FormatInt(id, 10) + ","
	default:
		pre = `{"id":` + strconv.FormatInt(id, 10) + `,"updated_at":"` + ts + `","name":"rec-` + strconv.FormatInt(id, 10) + `","pad":"`
	}
	b = append(b, pre...)
	end := `"}`
	if f.format == "csv" {
		end = ""
	}
	trailing := 1 // '\n' (jsonl, csv); json rows carry a ',' in front instead
	if f.format == "json" {
		trailing = 0
	}
	fill := f.rowLen - len(b) - len(end) - trailing
	for fill > 0 {
		k := min(fill, len(exportPad))
		b = append(b, exportPad[:k]...)
		fill -= k
	}
	b = append(b, end...)
	if f.format != "json" {
		b = append(b, '\n')
	}
	return b
}

// ReadAt serves bytes of the uncompressed file.
func (f *exportFile) ReadAt(p []byte, off int64) (int, error) {
	if f.gz != nil {
		return bytes.NewReader(f.gz).ReadAt(p, off)
	}
	size := f.plainSize()
	if off >= size {
		return 0, io.EOF
	}
	n := 0
	buf := make([]byte, 0, f.rowLen+1)
	for n < len(p) && off < size {
		var chunk []byte
		var at int64
		hl := int64(len(f.head))
		body := f.n * int64(f.rowLen)
		switch {
		case off < hl:
			chunk, at = f.head, off
		case off < hl+body:
			k := (off - hl) / int64(f.rowLen)
			chunk, at = f.row(buf, k), (off-hl)%int64(f.rowLen)
		default:
			chunk, at = f.tail, off-hl-body
		}
		c := copy(p[n:], chunk[min(at, int64(len(chunk))):])
		if c == 0 {
			return n, fmt.Errorf("%s: no bytes at offset %d", f, off)
		}
		n += c
		off += int64(c)
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// String names the file in errors.
func (f *exportFile) String() string {
	return fmt.Sprintf("export file of records %d..%d", f.first, f.first+f.n-1)
}
