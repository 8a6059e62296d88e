package transform

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// quarTbl collects a run's quarantined records while the run is staged
// (outside the run's transaction); publish copies them into
// rawland.quarantine inside it.
const quarTbl = "_rawland_quar"

// quarantineWriter appends a run's invalid records to rawland.quarantine:
// the raw record exactly as landed, where it is (file, line) and every
// validation error.
//
// Writing a record can never fail on its content: record is the landed
// line as text when it is UTF-8; when it is not (or holds a NUL byte),
// record holds it with every invalid byte replaced by U+FFFD and
// record_bytes holds the exact bytes (NULL otherwise). Reasons and paths
// are made UTF-8 the same way.
type quarantineWriter struct {
	conn   *sql.Conn
	stream string
	runID  string
	now    time.Time
	app    *appender
	// busy, when set, frees the connection for the writer (it ends the
	// direct load's streamed INSERT, loadstream.go); the writer then holds
	// records until they reach quarHold bytes, so that a stream with some
	// invalid records in every batch does not end the INSERT every batch
	busy      func() error
	held      [][]driver.Value
	heldBytes int
	hold      int // bytes held before writing (0: quarHold)
}

// quarHold is how many bytes of quarantined records a writer with busy
// holds before it writes them.
const quarHold = 4 << 20

// createQuarStage creates the (empty) temp table quarantined records
// collect in, with rawland.quarantine's columns.
func createQuarStage(ctx context.Context, ex execer) error {
	if _, err := ex.ExecContext(ctx, "CREATE OR REPLACE TEMP TABLE "+quarTbl+" AS SELECT * FROM rawland.quarantine LIMIT 0"); err != nil {
		return fmt.Errorf("create quarantine staging table: %w", err)
	}
	return nil
}

func (q *quarantineWriter) write(recs []qrec) error {
	if len(recs) == 0 {
		return nil
	}
	rows := make([][]driver.Value, len(recs))
	for i, r := range recs {
		text, raw := recordText(r.data)
		rows[i] = []driver.Value{q.stream, q.runID, r.file, int64(r.line), text, errorList(r.errs), q.now, nil, raw}
	}
	if q.busy == nil {
		return q.append(rows)
	}
	q.held = append(q.held, rows...)
	for _, r := range recs {
		q.heldBytes += len(r.data)
	}
	if q.heldBytes < cmp.Or(q.hold, quarHold) {
		return nil
	}
	return q.writeHeld()
}

// writeHeld writes the rows held (busy is set).
func (q *quarantineWriter) writeHeld() error {
	if len(q.held) == 0 {
		return nil
	}
	if err := q.busy(); err != nil {
		return err
	}
	err := q.append(q.held)
	q.held, q.heldBytes = nil, 0
	return err
}

// append adds rows to the quarantine staging table.
func (q *quarantineWriter) append(rows [][]driver.Value) error {
	if q.app == nil {
		app, err := newAppender(q.conn, "temp", "main", quarTbl)
		if err != nil {
			return err
		}
		q.app = app
	}
	return q.app.append(rows)
}

func (q *quarantineWriter) close() error {
	if q.busy != nil {
		if err := q.writeHeld(); err != nil {
			q.app.close()
			return err
		}
	}
	return q.app.close()
}

// publish copies the collected records into rawland.quarantine, inside
// the run's transaction.
func (q *quarantineWriter) publish(ctx context.Context, tx execer) error {
	if err := q.close(); err != nil {
		return fmt.Errorf("quarantine: %w", err)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO rawland.quarantine SELECT * FROM temp.main."+quarTbl); err != nil {
		return fmt.Errorf("quarantine: %w", err)
	}
	return nil
}

// recordText is a landed line as rawland.quarantine's record (always
// UTF-8) and record_bytes (the exact bytes, only when they are not UTF-8
// or hold a NUL byte: DuckDB's VARCHAR reads back only up to a NUL, so a
// replay would see a shortened record).
func recordText(data []byte) (string, driver.Value) {
	if utf8.Valid(data) && bytes.IndexByte(data, 0) < 0 {
		return string(data), nil
	}
	return strings.ToValidUTF8(string(data), "\uFFFD"), append([]byte(nil), data...)
}

// errorList is the errors column value: a list of {path, reason}.
func errorList(errs []FieldError) []any {
	out := make([]any, len(errs))
	for i, e := range errs {
		out[i] = map[string]any{"path": strings.ToValidUTF8(e.Path, "\uFFFD"), "reason": strings.ToValidUTF8(e.Reason, "\uFFFD")}
	}
	return out
}
