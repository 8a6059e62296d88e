package transform

import (
	"regexp"
	"regexp/syntax"
	"unicode/utf8"
)

// strPattern is a schema's "pattern": Go's regexp (as gojsonschema uses),
// and for the shape API schemas mostly use, an anchored run of literal
// characters and character classes repeated a fixed number of times, the
// last one possibly open-ended (^[A-Z]{2}$, ^ORD-[0-9]{8}$, ^\+[0-9]+$), a
// matcher that needs no backtracking and runs in a few nanoseconds instead
// of regexp's one-pass machine (3% of process on the mock's streams).
// Written by hand because regexp offers no faster path for such
// patterns; fastpattern_test.go holds it to regexp.
type strPattern struct {
	re     *regexp.Regexp
	simple []patItem // nil: not of that shape, regexp decides
}

// patItem is one step of a simple pattern: a rune in one of ranges
// (lo, hi pairs), min to max times (max -1: no limit).
type patItem struct {
	ranges   []rune
	min, max int
}

func compilePattern(expr string) (*strPattern, error) {
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, err
	}
	return &strPattern{re: re, simple: simplePattern(expr)}, nil
}

func (p *strPattern) MatchString(s string) bool {
	if p.simple != nil {
		return matchSimple(p.simple, s)
	}
	return p.re.MatchString(s)
}

// simplePattern compiles expr when it is ^item…item$ where every item is a
// literal or a character class, repeated a fixed number of times except
// the last; nil otherwise.
func simplePattern(expr string) []patItem {
	re, err := syntax.Parse(expr, syntax.Perl) // the flags regexp.Compile uses
	if err != nil || re.Op != syntax.OpConcat || len(re.Sub) < 3 {
		return nil
	}
	subs := re.Sub
	if subs[0].Op != syntax.OpBeginText || subs[len(subs)-1].Op != syntax.OpEndText {
		return nil
	}
	var items []patItem
	for _, sub := range subs[1 : len(subs)-1] {
		if n := len(items); n > 0 && items[n-1].min != items[n-1].max {
			return nil // only the last item may vary in length
		}
		min, max := 1, 1
		switch sub.Op {
		case syntax.OpRepeat:
			min, max = sub.Min, sub.Max
			sub = sub.Sub[0]
		case syntax.OpPlus:
			min, max = 1, -1
			sub = sub.Sub[0]
		case syntax.OpStar:
			min, max = 0, -1
			sub = sub.Sub[0]
		case syntax.OpQuest:
			min, max = 0, 1
			sub = sub.Sub[0]
		}
		if sub.Flags&syntax.FoldCase != 0 {
			return nil
		}
		switch sub.Op {
		case syntax.OpCharClass:
			items = append(items, patItem{ranges: sub.Rune, min: min, max: max})
		case syntax.OpLiteral:
			if min != 1 || max != 1 {
				if len(sub.Rune) != 1 {
					return nil
				}
				items = append(items, patItem{ranges: []rune{sub.Rune[0], sub.Rune[0]}, min: min, max: max})
				continue
			}
			for _, r := range sub.Rune {
				items = append(items, patItem{ranges: []rune{r, r}, min: 1, max: 1})
			}
		default:
			return nil
		}
	}
	if len(items) == 0 {
		return nil
	}
	return items
}

func matchSimple(items []patItem, s string) bool {
	i := 0
	for _, it := range items {
		n := 0
		for (it.max < 0 || n < it.max) && i < len(s) {
			r, size := rune(s[i]), 1
			if r >= utf8.RuneSelf {
				r, size = utf8.DecodeRuneInString(s[i:])
			}
			if !inRanges(it.ranges, r) {
				break
			}
			i += size
			n++
		}
		if n < it.min {
			return false
		}
	}
	return i == len(s)
}

func inRanges(ranges []rune, r rune) bool {
	for j := 0; j+1 < len(ranges); j += 2 {
		if r >= ranges[j] && r <= ranges[j+1] {
			return true
		}
	}
	return false
}
