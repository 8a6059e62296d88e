package transform

import (
	"database/sql"
	"database/sql/driver"
	"time"
)

// quarantineWriter appends a run's invalid records to rawland.quarantine:
// the raw record exactly as landed, where it is (file, line) and every
// validation error.
type quarantineWriter struct {
	conn   *sql.Conn
	stream string
	runID  string
	now    time.Time
	app    *appender
}

func (q *quarantineWriter) write(recs []qrec) error {
	if len(recs) == 0 {
		return nil
	}
	if q.app == nil {
		app, err := newAppender(q.conn, "", "rawland", "quarantine")
		if err != nil {
			return err
		}
		q.app = app
	}
	rows := make([][]driver.Value, len(recs))
	for i, r := range recs {
		rows[i] = []driver.Value{q.stream, q.runID, r.file, int64(r.line), string(r.data), errorList(r.errs), q.now, nil}
	}
	return q.app.append(rows)
}

func (q *quarantineWriter) close() error { return q.app.close() }

// errorList is the errors column value: a list of {path, reason}.
func errorList(errs []FieldError) []any {
	out := make([]any, len(errs))
	for i, e := range errs {
		out[i] = map[string]any{"path": e.Path, "reason": e.Reason}
	}
	return out
}
