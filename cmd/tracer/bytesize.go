package main

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// byteUnits are the units parseBytes accepts, matched without regard to
// case: IEC binary prefixes (powers of 1024, with or without the B, as
// Kubernetes writes them) and SI decimal prefixes (powers of 1000). A B is
// always a byte, never a bit.
var byteUnits = map[string]int64{
	"": 1, "b": 1,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40, "pib": 1 << 50, "eib": 1 << 60,
	"ki": 1 << 10, "mi": 1 << 20, "gi": 1 << 30, "ti": 1 << 40, "pi": 1 << 50, "ei": 1 << 60,
	"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12, "pb": 1e15, "eb": 1e18,
}

// formatUnits are the units formatBytes writes, largest first.
var formatUnits = []struct {
	name string
	size int64
}{
	{"EiB", 1 << 60}, {"PiB", 1 << 50}, {"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10},
	{"EB", 1e18}, {"PB", 1e15}, {"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"kB", 1e3},
}

// maxByteSizeLen bounds the text parseBytes reads, so that its arithmetic
// stays small; no size that fits in an int64 needs more.
const maxByteSizeLen = 64

// parseBytes reads a size in bytes: a decimal number, optionally with a
// fraction, then optionally a unit (see byteUnits), with or without a space
// between: "1048576", "64MiB", "512KB", "1.5 GiB". The result must be a
// whole number of bytes that fits in an int64; negative sizes are refused.
// A bare k, M, G... is refused as ambiguous (Docker reads it as a power of
// 1024, Kubernetes as a power of 1000).
func parseBytes(s string) (int64, error) {
	if s == "" {
		return 0, errors.New("empty, want a size such as 64MiB")
	}
	if len(s) > maxByteSizeLen {
		return 0, fmt.Errorf("not a size: %.20q... is too long", s)
	}
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
		i++
	}
	num, unit := s[:i], strings.ToLower(strings.TrimLeft(s[i:], " "))
	whole, frac, hasDot := strings.Cut(num, ".")
	if whole == "" || strings.Contains(frac, ".") || (hasDot && frac == "") {
		if strings.HasPrefix(s, "-") {
			return 0, fmt.Errorf("not a size: %q is negative", s)
		}
		return 0, fmt.Errorf("not a size: %q (want a number of bytes, optionally with a unit: 64MiB, 512KB, 1.5GiB)", s)
	}
	mult, ok := byteUnits[unit]
	if !ok {
		switch unit {
		case "k", "m", "g", "t", "p", "e":
			return 0, fmt.Errorf("not a size: %q: write %sB (powers of 1000) or %siB (powers of 1024)", s, strings.ToUpper(unit), strings.ToUpper(unit))
		}
		return 0, fmt.Errorf("not a size: %q: unknown unit %q (want B, KiB, MiB, GiB, TiB, PiB, EiB, kB, MB, GB, TB, PB or EB)", s, s[i:])
	}
	// n = (whole.frac) * mult, exactly.
	n, _ := new(big.Int).SetString(whole+frac, 10) // digits only: cannot fail
	n.Mul(n, big.NewInt(mult))
	scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(len(frac))), nil)
	q, r := new(big.Int).QuoRem(n, scale, new(big.Int))
	if r.Sign() != 0 {
		return 0, fmt.Errorf("not a size: %q is not a whole number of bytes", s)
	}
	if !q.IsInt64() {
		return 0, fmt.Errorf("not a size: %q is larger than %s", s, formatBytes(math.MaxInt64))
	}
	return q.Int64(), nil
}

// formatBytes writes n in the largest unit that divides it exactly, binary
// units first: 67108864 is "64MiB", 1500 is "1500B". parseBytes reads it
// back unchanged.
func formatBytes(n int64) string {
	if n == 0 {
		return "0"
	}
	for _, u := range formatUnits {
		if n%u.size == 0 {
			return strconv.FormatInt(n/u.size, 10) + u.name
		}
	}
	return strconv.FormatInt(n, 10) + "B"
}
