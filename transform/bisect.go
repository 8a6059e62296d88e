package transform

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	duckdb "github.com/duckdb/duckdb-go/v2"
)

// A batch is staged outside the run's transaction (loadrun.go), one
// autocommit statement per batch, so that a statement DuckDB refuses
// leaves nothing behind and the next one can run. When DuckDB refuses a
// batch because of its data, the batch is split in halves and each half
// is inserted again, down to single records: every record DuckDB refuses
// is quarantined with DuckDB's message, the rest are staged. Any other
// failure (I/O, out of memory, interrupted, cancelled) fails the run.

// maxRefusal is the longest DuckDB message kept as a quarantine reason
// (DuckDB quotes the input, which may be megabytes).
const maxRefusal = 500

// refused is a row of a batch that DuckDB would not insert.
type refused struct {
	row int
	msg string
}

// loadArrow stages a batch's record batch, quarantining the rows DuckDB
// refuses (moved from out.valid to out.quar).
func (st *stager) loadArrow(ctx context.Context, out *batchOut) error {
	bad, err := st.insertBisect(ctx, out.rec, 0)
	if err != nil || len(bad) == 0 {
		return err
	}
	var c converter
	valid := out.valid[:0:0]
	next := 0
	for i, r := range out.valid {
		if next < len(bad) && bad[next].row == i {
			vd := st.s.check(r.data, &c)
			out.quar = append(out.quar, qrec{rawRec: r, keys: vd.keys,
				errs: []FieldError{{Reason: "DuckDB refused the record: " + bad[next].msg}}})
			next++
			continue
		}
		valid = append(valid, r)
	}
	out.valid = valid
	return nil
}

// insertBisect inserts rec into the staging table; on a data error it
// bisects. It returns the refused rows (positions offset by off), in order.
func (st *stager) insertBisect(ctx context.Context, rec arrow.Record, off int) ([]refused, error) {
	err := insertArrow(ctx, st.w.conn, st.tx, rec, stageTbl)
	if err == nil {
		return nil, nil
	}
	msg, data := dataError(ctx, err)
	if !data {
		return nil, err
	}
	n := rec.NumRows()
	if n == 1 {
		return []refused{{row: off, msg: msg}}, nil
	}
	half := n / 2
	var out []refused
	for _, part := range [][2]int64{{0, half}, {half, n}} {
		sub := rec.NewSlice(part[0], part[1])
		bad, err := st.insertBisect(ctx, sub, off+int(part[0]))
		sub.Release()
		if err != nil {
			return nil, err
		}
		out = append(out, bad...)
	}
	if len(out) == 0 {
		// the halves went in one by one: the refusal was not about one
		// record (e.g. the batch as a whole); treat it as a failure
		return nil, fmt.Errorf("DuckDB refused the batch but each half of it loaded: %w", err)
	}
	return out, nil
}

// dataError reports whether err is DuckDB refusing the data of a statement
// (a value it cannot convert, store or parse), as opposed to a failure of
// the warehouse (I/O, memory, lock, interrupt) or a cancelled context. It
// also returns DuckDB's message, shortened.
func dataError(ctx context.Context, err error) (string, bool) {
	if ctx.Err() != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return "", false
	}
	var de *duckdb.Error
	if !errors.As(err, &de) {
		return "", false
	}
	switch de.Type {
	case duckdb.ErrorTypeInvalidInput, duckdb.ErrorTypeConversion, duckdb.ErrorTypeOutOfRange,
		duckdb.ErrorTypeMismatchType, duckdb.ErrorTypeInvalidType, duckdb.ErrorTypeDecimal,
		duckdb.ErrorTypeObjectSize, duckdb.ErrorTypeConstraint, duckdb.ErrorTypeDivideByZero:
	default:
		return "", false
	}
	msg := strings.ToValidUTF8(de.Error(), "\uFFFD")
	if len(msg) > maxRefusal {
		msg = strings.ToValidUTF8(msg[:maxRefusal], "") + "…"
	}
	return msg, true
}
