package transform

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"time"
)

// structVal is a converted object: one value per struct field, in order.
type structVal []any

// converter turns a decoded record (json.Number numbers) into column values.
// It walks the whole value even after an error, so that new fields are
// found in invalid records too.
type converter struct {
	extras    map[string]any // path → value of fields the schema does not describe
	newPaths  []string       // paths of those fields (keys of extras)
	newFields []string       // the same paths with [] for array positions (drift)
	errs      []FieldError
	hashBuf   []byte    // reused by contentHash
	fast      fastState // the fast validator's scratch space
}

func (c *converter) reset() {
	c.extras, c.newPaths, c.newFields, c.errs = nil, c.newPaths[:0], c.newFields[:0], nil
}

func (c *converter) fail(path, format string, args ...any) {
	c.errs = append(c.errs, FieldError{Path: path, Reason: fmt.Sprintf(format, args...)})
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// convert returns v as a value of type t. path names the value in errors
// and in _rawland_extra; npath is the same with [] for array positions.
func (c *converter) convert(v any, t *colType, path, npath string) any {
	if v == nil {
		return nil
	}
	switch t.kind {
	case kJSON, kNull:
		s, err := jsonText(v)
		if err != nil {
			c.fail(path, "cannot encode as JSON: %v", err)
		}
		return s
	case kVarchar:
		if s, ok := v.(string); ok {
			return s
		}
	case kBool:
		if b, ok := v.(bool); ok {
			return b
		}
	case kBigint:
		if n, ok := v.(json.Number); ok {
			i, err := parseInt64(n)
			if err != nil {
				c.fail(path, "%v: the column is BIGINT; give the property a maximum/minimum beyond ±2^63 in the schema to make it HUGEINT", err)
				return nil
			}
			return i
		}
	case kHugeint:
		if n, ok := v.(json.Number); ok {
			i, err := parseBigInt(n)
			if err != nil {
				c.fail(path, "%v (the column is HUGEINT)", err)
				return nil
			}
			return i
		}
	case kDouble:
		if n, ok := v.(json.Number); ok {
			f, err := strconv.ParseFloat(string(n), 64)
			if err != nil || math.IsInf(f, 0) {
				c.fail(path, "number %s does not fit a DOUBLE", n)
				return nil
			}
			return f
		}
	case kKeyDecimal:
		if n, ok := v.(json.Number); ok {
			d, err := parseKeyDecimal(n)
			if err != nil {
				c.fail(path, "%v", err)
				return nil
			}
			return d
		}
	case kTimestamp:
		if s, ok := v.(string); ok {
			ts, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				c.fail(path, "%q is not an RFC 3339 date-time", s)
				return nil
			}
			return ts
		}
	case kDate:
		if s, ok := v.(string); ok {
			d, err := time.Parse(time.DateOnly, s)
			if err != nil {
				c.fail(path, "%q is not a date (YYYY-MM-DD)", s)
				return nil
			}
			return d
		}
	case kStruct:
		if m, ok := v.(map[string]any); ok {
			return c.object(m, t, path, npath)
		}
	case kList:
		if a, ok := v.([]any); ok {
			out := make([]any, len(a))
			for i, e := range a {
				out[i] = c.convert(e, t.elem, path+"["+strconv.Itoa(i)+"]", npath+"[]")
			}
			return out
		}
	}
	c.fail(path, "want %s, got %s", t.DDL(), jsonKind(v))
	return nil
}

func (c *converter) object(m map[string]any, t *colType, path, npath string) structVal {
	out := make(structVal, len(t.fields))
	found := 0
	for i, f := range t.fields {
		if fv, ok := m[f.name]; ok {
			found++
			out[i] = c.convert(fv, f.t, join(path, f.name), join(npath, f.name))
		}
	}
	if found < len(m) {
		for k, fv := range m {
			if _, ok := t.index[k]; ok {
				continue
			}
			if c.extras == nil {
				c.extras = map[string]any{}
			}
			c.extras[join(path, k)] = fv
			c.newPaths = append(c.newPaths, join(path, k))
			c.newFields = append(c.newFields, join(npath, k))
		}
	}
	return out
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	}
	return fmt.Sprintf("%T", v)
}

// jsonText encodes v compactly without HTML escaping; numbers keep the
// digits they were landed with.
func jsonText(v any) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return string(bytes.TrimSuffix(b.Bytes(), []byte{'\n'})), nil
}

func parseInt64(n json.Number) (int64, error) {
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		return i, nil
	}
	b, err := parseBigInt(n)
	if err != nil {
		return 0, err
	}
	if !b.IsInt64() {
		return 0, fmt.Errorf("integer %s is out of range", n)
	}
	return b.Int64(), nil
}

var hugeLimit, _ = new(big.Int).SetString("99999999999999999999999999999999999999", 10)

// parseBigInt parses an integer written in any JSON number form (1, 1.0, 1e3).
func parseBigInt(n json.Number) (*big.Int, error) {
	if b, ok := new(big.Int).SetString(string(n), 10); ok {
		if b.CmpAbs(hugeLimit) > 0 {
			return nil, fmt.Errorf("integer %s is out of range", n)
		}
		return b, nil
	}
	f, _, err := big.ParseFloat(string(n), 10, 512, big.ToNearestEven)
	if err != nil || !f.IsInt() {
		return nil, fmt.Errorf("%s is not an integer", n)
	}
	b, _ := f.Int(nil)
	if b.CmpAbs(hugeLimit) > 0 {
		return nil, fmt.Errorf("integer %s is out of range", n)
	}
	return b, nil
}
