package transform

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// Primary-key columns whose schema type is number (DOUBLE elsewhere) are
// DECIMAL(38,10) instead: a DOUBLE keeps 53 bits, so distinct keys such as
// 9007199254740993 and 9007199254740992 would merge into one row. A
// DECIMAL(38,10) holds every number with at most 28 integer digits and 10
// decimal places exactly; a key beyond that is quarantined, never rounded.
// Integer keys stay BIGINT (HUGEINT when the schema's bounds say so),
// exact as they are.
const (
	keyDecimalWidth = 38
	keyDecimalScale = 10
)

// keyType is the column type of a primary-key column derived as t.
func keyType(t *colType) *colType {
	if t.kind == kDouble {
		return tKeyDecimal
	}
	return t
}

// parseKeyDecimal reads a JSON number as a DECIMAL(38,10) exactly.
func parseKeyDecimal(n json.Number) (duckdb.Decimal, error) {
	s := string(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	mant, expStr, hasExp := strings.Cut(strings.ToLower(s), "e")
	exp := 0
	if hasExp {
		e, err := strconv.Atoi(expStr)
		if err != nil || e > 1000 || e < -1000 {
			return duckdb.Decimal{}, fmt.Errorf("number %s does not fit DECIMAL(38,10)", n)
		}
		exp = e
	}
	intPart, frac, _ := strings.Cut(mant, ".")
	digits := strings.TrimLeft(intPart+frac, "0")
	exp += keyDecimalScale - len(frac) // digits × 10^exp is the scaled value
	if digits == "" {
		return duckdb.Decimal{Width: keyDecimalWidth, Scale: keyDecimalScale, Value: new(big.Int)}, nil
	}
	for exp < 0 && strings.HasSuffix(digits, "0") {
		digits, exp = digits[:len(digits)-1], exp+1
	}
	if exp < 0 {
		return duckdb.Decimal{}, fmt.Errorf("number %s has more than %d decimal places: a number primary key is DECIMAL(38,10) and is never rounded", n, keyDecimalScale)
	}
	if len(digits)+exp > keyDecimalWidth {
		return duckdb.Decimal{}, fmt.Errorf("number %s is out of range: a number primary key is DECIMAL(38,10) (at most 28 integer digits)", n)
	}
	v, ok := new(big.Int).SetString(digits+strings.Repeat("0", exp), 10)
	if !ok {
		return duckdb.Decimal{}, fmt.Errorf("%s is not a number", n)
	}
	if neg {
		v.Neg(v)
	}
	return duckdb.Decimal{Width: keyDecimalWidth, Scale: keyDecimalScale, Value: v}, nil
}
