package transform

import (
	"math/big"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	duckdb "github.com/duckdb/duckdb-go/v2"
)

// The tests' reference for the batches the transform builds (colBuf,
// colbuild.go): the same rows through arrow-go's own builders.

// buildRecord turns converted rows into one Arrow record batch. The caller
// releases it.
func buildRecord(sch *arrow.Schema, cols []field, rows [][]any) arrow.Record {
	b := array.NewRecordBuilder(memory.DefaultAllocator, sch)
	defer b.Release()
	b.Reserve(len(rows))
	for _, row := range rows {
		for i, c := range cols {
			appendArrow(b.Field(i), c.t, row[i])
		}
	}
	return b.NewRecord()
}

func appendArrow(b array.Builder, t *colType, v any) {
	if v == nil {
		b.AppendNull()
		return
	}
	switch t.kind {
	case kBool:
		b.(*array.BooleanBuilder).Append(v.(bool))
	case kBigint:
		b.(*array.Int64Builder).Append(v.(int64))
	case kHugeint:
		b.(*array.Decimal128Builder).Append(decimal128.FromBigInt(v.(*big.Int)))
	case kDouble:
		b.(*array.Float64Builder).Append(v.(float64))
	case kKeyDecimal:
		b.(*array.Decimal128Builder).Append(decimal128.FromBigInt(v.(duckdb.Decimal).Value))
	case kTimestamp:
		b.(*array.TimestampBuilder).Append(arrow.Timestamp(v.(time.Time).UnixMicro()))
	case kDate:
		b.(*array.Date32Builder).Append(arrow.Date32FromTime(v.(time.Time)))
	case kStruct:
		sb := b.(*array.StructBuilder)
		sb.Append(true)
		sv := v.(structVal)
		for i, f := range t.fields {
			appendArrow(sb.FieldBuilder(i), f.t, sv[i])
		}
	case kList:
		lb := b.(*array.ListBuilder)
		lb.Append(true)
		vb := lb.ValueBuilder()
		for _, e := range v.([]any) {
			appendArrow(vb, t.elem, e)
		}
	case kOther:
		b.(*array.Uint64Builder).Append(v.(uint64))
	default:
		b.(*array.StringBuilder).Append(v.(string))
	}
}
