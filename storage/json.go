package storage

import (
	"math"
	"strconv"
	"unicode/utf8"
)

// The canonical forms of array and map attribute values (TypeArray,
// TypeMap) are JSON written by these functions, so that every path into
// storage (the collector's OTLP decoder, the direct exporter) writes the same
// text for the same value.

// MaxValueDepth is how deeply array and map values may nest, counted in
// values: a scalar is one level, an array of scalars two, and so on. It is
// the one limit for every path into storage: a value nested deeper is not
// stored (the collector's OTLP scanner rejects the span that carries it,
// with the reason nesting_too_deep). OTLP senders never come close; the
// bound keeps the recursion that writes the JSON form shallow.
const MaxValueDepth = 64

// AppendJSONString appends s as a JSON string. Invalid UTF-8 becomes
// U+FFFD, as encoding/json does.
func AppendJSONString[S ~string | ~[]byte](js []byte, s S) []byte {
	const hex = "0123456789abcdef"
	js = append(js, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				js = append(js, '\\', c)
			case c == '\n':
				js = append(js, '\\', 'n')
			case c == '\r':
				js = append(js, '\\', 'r')
			case c == '\t':
				js = append(js, '\\', 't')
			case c < 0x20:
				js = append(js, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				js = append(js, c)
			}
			i++
			continue
		}
		// At most utf8.UTFMax bytes: the conversion stays on the stack.
		r, size := utf8.DecodeRuneInString(string(s[i:min(i+utf8.UTFMax, len(s))]))
		if r == utf8.RuneError && size == 1 {
			js = append(js, `\ufffd`...)
		} else {
			js = append(js, s[i:i+size]...)
		}
		i += size
	}
	return append(js, '"')
}

// AppendJSONFloat appends f as a JSON number; NaN and the infinities, which
// JSON lacks, become the strings "NaN", "Infinity" and "-Infinity" (as in
// OTLP/JSON).
func AppendJSONFloat(js []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(js, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(js, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(js, `"-Infinity"`...)
	}
	return strconv.AppendFloat(js, f, 'g', -1, 64)
}
