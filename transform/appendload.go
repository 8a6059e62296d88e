package transform

import (
	"database/sql"
	"database/sql/driver"
	"fmt"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// appender appends rows to a table through duckdb-go's Appender, inside
// the connection's open transaction. It loads rawland.quarantine and small
// temp tables; stream rows take the Arrow path (arrowload.go), except in
// BenchmarkLoad, which measures both.
type appender struct {
	conn *sql.Conn
	app  *duckdb.Appender
}

func newAppender(conn *sql.Conn, catalog, schema, table string) (*appender, error) {
	a := &appender{conn: conn}
	err := conn.Raw(func(dc any) error {
		var err error
		a.app, err = duckdb.NewAppender(dc.(driver.Conn), catalog, schema, table)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("append to %s.%s: %w", schema, table, err)
	}
	return a, nil
}

// append adds rows; values are driver values (structs as map[string]any,
// lists as []any).
func (a *appender) append(rows [][]driver.Value) error {
	return a.conn.Raw(func(any) error {
		for _, r := range rows {
			if err := a.app.AppendRow(r...); err != nil {
				return err
			}
		}
		return nil
	})
}

// close flushes the rows into the table.
func (a *appender) close() error {
	if a == nil || a.app == nil {
		return nil
	}
	err := a.conn.Raw(func(any) error { return a.app.Close() })
	a.app = nil
	return err
}

// driverRow turns a converted row into Appender values.
func driverRow(cols []field, row []any) []driver.Value {
	out := make([]driver.Value, len(row))
	for i, c := range cols {
		out[i] = driverValue(c.t, row[i])
	}
	return out
}

func driverValue(t *colType, v any) driver.Value {
	if v == nil {
		return nil
	}
	switch t.kind {
	case kStruct:
		sv := v.(structVal)
		m := make(map[string]any, len(t.fields))
		for i, f := range t.fields {
			m[f.name] = driverValue(f.t, sv[i])
		}
		return m
	case kList:
		l := v.([]any)
		out := make([]any, len(l))
		for i, e := range l {
			out[i] = driverValue(t.elem, e)
		}
		return out
	}
	return v
}
