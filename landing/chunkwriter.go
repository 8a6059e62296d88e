package landing

import (
	"errors"
	"io"
	"sync/atomic"

	"github.com/sourcegraph/conc/pool"
)

// chunkWriter buffers one part's bytes and hands each full buffer to a
// single background goroutine, which writes it on (to the file and the
// part's SHA-256): the caller fills the next buffer, the records of the
// next page, while the last buffer goes to disk. Bytes reach dst whole
// and in order. Memory is two buffers. A background write's error is
// returned by the next Write or Flush; after an error nothing more is
// written. Not safe for concurrent use; one chunkWriter serves one part.
type chunkWriter struct {
	dst   io.Writer
	buf   []byte // being filled
	spare []byte // the other buffer: free once the write in flight is done
	bg    *pool.ErrorPool
	// failed is set by the background writer on an error; the error itself
	// comes from bg.Wait.
	failed atomic.Bool
	err    error
}

func newChunkWriter(dst io.Writer, size int) *chunkWriter {
	return &chunkWriter{
		dst:   dst,
		buf:   make([]byte, 0, size),
		spare: make([]byte, 0, size),
		bg:    pool.New().WithErrors().WithMaxGoroutines(1),
	}
}

// Write appends p, handing full buffers to the background writer.
func (c *chunkWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		if c.failed.Load() {
			return n, c.wait()
		}
		if c.err != nil {
			return n, c.err
		}
		k := copy(c.buf[len(c.buf):cap(c.buf)], p)
		c.buf = c.buf[:len(c.buf)+k]
		n += k
		p = p[k:]
		if len(c.buf) == cap(c.buf) {
			c.handOff()
		}
	}
	return n, nil
}

// WriteByte appends one byte.
func (c *chunkWriter) WriteByte(b byte) error {
	if len(c.buf) < cap(c.buf)-1 && c.err == nil && !c.failed.Load() {
		c.buf = append(c.buf, b) // room left after it: no hand-off due
		return nil
	}
	_, err := c.Write([]byte{b})
	return err
}

// handOff gives the filled buffer to the background writer and continues in
// the other one. The pool runs one task at a time and Go returns once its
// worker has taken the task, so the write before this one is done: the
// other buffer is free.
func (c *chunkWriter) handOff() {
	full := c.buf
	c.bg.Go(func() error {
		if _, err := c.dst.Write(full); err != nil {
			c.failed.Store(true)
			return err
		}
		return nil
	})
	c.buf, c.spare = c.spare[:0], full
}

// Flush writes what is buffered and waits until every byte has been written
// to dst; the chunkWriter takes no more bytes after it.
func (c *chunkWriter) Flush() error {
	if c.err == nil && !c.failed.Load() && len(c.buf) > 0 {
		c.handOff()
	}
	return c.wait()
}

// wait waits for the background writer and keeps its first error.
func (c *chunkWriter) wait() error {
	if c.bg != nil {
		if err := c.bg.Wait(); err != nil {
			c.err = err
		} else if c.err == nil {
			c.err = errChunkWriterDone
		}
		c.bg = nil
	}
	if c.err == errChunkWriterDone {
		return nil
	}
	return c.err
}

// errChunkWriterDone marks a flushed chunkWriter: writing to it again is a
// bug of the caller.
var errChunkWriterDone = errors.New("landing: write after the part was flushed")
