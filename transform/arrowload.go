package transform

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	duckdb "github.com/duckdb/duckdb-go/v2"
)

// Valid rows reach DuckDB as Arrow record batches: each validation worker
// builds one arrow.Record per batch in parallel, and the loader registers it
// as a view (duckdb-go's Arrow interface, zero-copy through the C data
// interface) and inserts it into the staging table with one INSERT … SELECT.
// This is faster than duckdb-go's Appender, which converts every value
// through database/sql/driver on the loader's single goroutine: see
// BenchmarkLoad and the README for the figures.

// Staging columns after the data columns.
const (
	colSeq   = "_rawland_seq" // position of the record in its run (in-run ties: last landed wins)
	stageTbl = "_rawland_stage"
	batchVw  = "_rawland_batch"
)

// stageColumns are the staging table's columns: the data columns, then
// _rawland_extra, _rawland_cursor, _rawland_hash, _rawland_seq.
func (s *Schema) stageColumns() []field {
	out := append([]field(nil), s.root.fields...)
	return append(out, field{ColExtra, tJSON}, field{ColCursor, s.cursor},
		field{ColHash, &colType{kind: kOther, other: "UBIGINT"}}, field{colSeq, tBigint})
}

// arrowType is the Arrow type that DuckDB imports as (or casts to) t.
func arrowType(t *colType) arrow.DataType {
	switch t.kind {
	case kBool:
		return arrow.FixedWidthTypes.Boolean
	case kBigint:
		return arrow.PrimitiveTypes.Int64
	case kHugeint:
		return &arrow.Decimal128Type{Precision: 38, Scale: 0}
	case kDouble:
		return arrow.PrimitiveTypes.Float64
	case kKeyDecimal:
		return &arrow.Decimal128Type{Precision: keyDecimalWidth, Scale: keyDecimalScale}
	case kTimestamp:
		return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	case kDate:
		return arrow.FixedWidthTypes.Date32
	case kStruct:
		fs := make([]arrow.Field, len(t.fields))
		for i, f := range t.fields {
			fs[i] = arrow.Field{Name: f.name, Type: arrowType(f.t), Nullable: true}
		}
		return arrow.StructOf(fs...)
	case kList:
		return arrow.ListOf(arrowType(t.elem))
	case kOther: // _rawland_hash
		return arrow.PrimitiveTypes.Uint64
	}
	return arrow.BinaryTypes.String // VARCHAR and JSON text
}

func arrowSchema(cols []field) *arrow.Schema {
	fs := make([]arrow.Field, len(cols))
	for i, c := range cols {
		fs[i] = arrow.Field{Name: c.name, Type: arrowType(c.t), Nullable: true}
	}
	return arrow.NewSchema(fs, nil)
}

// execer runs statements: a *sql.Conn (autocommit) or a *sql.Tx.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// insertArrow inserts one record batch into table through an Arrow view.
func insertArrow(ctx context.Context, conn *sql.Conn, tx execer, rec arrow.Record, table string) error {
	return execArrow(ctx, conn, tx, rec, "INSERT INTO "+table+" SELECT * FROM "+batchVw)
}

// execArrow runs query, which reads the record batch as the view batchVw.
func execArrow(ctx context.Context, conn *sql.Conn, tx execer, rec arrow.Record, query string) error {
	return execArrows(ctx, conn, tx, []arrow.Record{rec}, query)
}

// execArrows runs query, which reads the record batches (one schema) as
// the view batchVw.
func execArrows(ctx context.Context, conn *sql.Conn, tx execer, recs []arrow.Record, query string) error {
	rr, err := array.NewRecordReader(recs[0].Schema(), recs)
	if err != nil {
		return err
	}
	defer rr.Release()
	return execReader(ctx, conn, tx, rr, query)
}

// execReader runs query, which reads rd's record batches as the view
// batchVw (a streamed INSERT's stream, loadstream.go, or a few batches).
func execReader(ctx context.Context, conn *sql.Conn, tx execer, rd array.RecordReader, query string) error {
	var release func()
	err := conn.Raw(func(dc any) error {
		ar, err := duckdb.NewArrowFromConn(dc.(driver.Conn))
		if err != nil {
			return err
		}
		release, err = ar.RegisterView(rd, batchVw)
		return err
	})
	if err != nil {
		return fmt.Errorf("register arrow batches: %w", err)
	}
	_, err = tx.ExecContext(ctx, query)
	release() // the view reads the stream: release only after the insert
	if _, derr := tx.ExecContext(context.WithoutCancel(ctx), "DROP VIEW IF EXISTS "+batchVw); err == nil && derr != nil {
		err = derr
	}
	if err != nil {
		return fmt.Errorf("insert arrow batches: %w", err)
	}
	return nil
}
