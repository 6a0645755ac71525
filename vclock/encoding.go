package vclock

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// MaxTextLen is the longest text encoding of a clock: the pruned mark and
// MaxLimit entries of the longest node id and count, comma separated.
// Longer text is refused unread.
const MaxTextLen = 1 + MaxLimit*(MaxNodeLen+len(":18446744073709551615")+1) - 1

// String returns the text encoding (see the package doc).
func (c Clock) String() string { return string(c.AppendText(make([]byte, 0, c.TextLen()))) }

// TextLen returns the length of the text encoding.
func (c Clock) TextLen() int {
	n := 0
	if c.pruned {
		n++
	}
	for i, e := range c.entries {
		if i > 0 {
			n++
		}
		n += len(e.Node) + 1 + uintLen(e.Count)
	}
	return n
}

// AppendText appends the text encoding to b.
func (c Clock) AppendText(b []byte) []byte {
	if c.pruned {
		b = append(b, '!')
	}
	for i, e := range c.entries {
		b = appendEntry(b, i, e.Node, e.Count)
	}
	return b
}

// MarshalText implements encoding.TextMarshaler.
func (c Clock) MarshalText() ([]byte, error) { return c.AppendText(nil), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseLimit's
// rules: up to the limit c was made with (New), else up to MaxLimit, as
// Parse.
func (c *Clock) UnmarshalText(b []byte) error {
	p, err := ParseLimit(string(b), c.limit)
	if err != nil {
		return err
	}
	*c = p
	return nil
}

func uintLen(n uint64) int {
	l := 1
	for n >= 10 {
		n /= 10
		l++
	}
	return l
}

// Parse decodes the text encoding of any clock a process may send: up to
// MaxLimit entries. The result's limit is MaxLimit.
func Parse(s string) (Clock, error) { return ParseLimit(s, MaxLimit) }

// ParseLimit decodes the text encoding of a clock of at most limit entries
// (MaxLimit if limit < 1 or larger); the result has that limit. Input longer
// than MaxTextLen, with more entries than limit, or not exactly in the
// encoding's form is an error. The node ids of the result share s's memory.
func ParseLimit(s string, limit int) (Clock, error) { return parse(s, limit, 0) }

// parse is ParseLimit with room for spare more entries in the result.
func parse(s string, limit, spare int) (Clock, error) {
	limit = clampLimit(limit, MaxLimit)
	c := Clock{limit: limit}
	if len(s) > MaxTextLen {
		return c, fmt.Errorf("vclock: text of %d bytes exceeds %d", len(s), MaxTextLen)
	}
	if len(s) > 0 && s[0] == '!' {
		c.pruned = true
		s = s[1:]
	}
	if s == "" {
		if spare > 0 {
			c.entries = make([]Entry, 0, spare)
		}
		return c, nil
	}
	n := 1 + strings.Count(s, ",")
	if n > limit {
		return c, fmt.Errorf("vclock: %d entries exceed the limit of %d", n, limit)
	}
	c.entries = make([]Entry, 0, n+spare)
	for len(s) > 0 {
		var e Entry
		var err error
		e, s, err = parseEntry(s)
		if err != nil {
			return Clock{limit: limit}, err
		}
		if k := len(c.entries); k > 0 && c.entries[k-1].Node >= e.Node {
			return Clock{limit: limit}, fmt.Errorf("vclock: node %q out of order or repeated", e.Node)
		}
		c.entries = append(c.entries, e)
	}
	return c, nil
}

var errEmptyEntry = errors.New("vclock: empty entry")

// parseEntry reads "node:count" and the comma after it, if any.
func parseEntry(s string) (Entry, string, error) {
	i := 0
	for i < len(s) && isNodeByte(s[i]) {
		i++
	}
	if i == 0 {
		if len(s) == 0 || s[0] == ',' {
			return Entry{}, "", errEmptyEntry
		}
		return Entry{}, "", fmt.Errorf("vclock: unexpected byte %q in node id", s[0])
	}
	if i > MaxNodeLen {
		return Entry{}, "", fmt.Errorf("vclock: node id of %d bytes exceeds %d", i, MaxNodeLen)
	}
	node := s[:i]
	if i == len(s) || s[i] != ':' {
		return Entry{}, "", fmt.Errorf("vclock: entry for %q lacks \":count\"", node)
	}
	s = s[i+1:]
	j := 0
	var count uint64
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		d := uint64(s[j] - '0')
		if count > (1<<64-1-d)/10 {
			return Entry{}, "", fmt.Errorf("vclock: count for %q overflows", node)
		}
		count = count*10 + d
		j++
	}
	if j == 0 || s[0] == '0' {
		return Entry{}, "", fmt.Errorf("vclock: bad count for %q", node)
	}
	s = s[j:]
	if len(s) > 0 {
		if s[0] != ',' {
			return Entry{}, "", fmt.Errorf("vclock: unexpected byte %q after count", s[0])
		}
		s = s[1:]
		if s == "" {
			return Entry{}, "", errEmptyEntry
		}
	}
	return Entry{Node: node, Count: count}, s, nil
}

func isNodeByte(b byte) bool { return nodeBytes[b] }

var nodeBytes = func() (t [256]bool) {
	for b := range 256 {
		t[b] = b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '.' || b == '_' || b == '-'
	}
	return t
}()

// ValidNode reports whether id can be a node id.
func ValidNode(id string) bool {
	if id == "" || len(id) > MaxNodeLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if !isNodeByte(id[i]) {
			return false
		}
	}
	return true
}

// Validate checks that s is a well-formed clock of at most limit entries
// (MaxLimit if limit < 1 or larger), as ParseLimit would, without
// allocating.
func Validate(s string, limit int) error {
	limit = clampLimit(limit, MaxLimit)
	if len(s) > MaxTextLen {
		return fmt.Errorf("vclock: text of %d bytes exceeds %d", len(s), MaxTextLen)
	}
	if len(s) > 0 && s[0] == '!' {
		s = s[1:]
	}
	prev, n := "", 0
	for len(s) > 0 {
		var e Entry
		var err error
		e, s, err = parseEntry(s)
		if err != nil {
			return err
		}
		if n > 0 && prev >= e.Node {
			return fmt.Errorf("vclock: node %q out of order or repeated", e.Node)
		}
		if n++; n > limit {
			return fmt.Errorf("vclock: more than %d entries", limit)
		}
		prev = e.Node
	}
	return nil
}

// MergeText merges the clock encoded in s into c, leaving out the entry of
// node except (pass "" to keep all). It reports whether c changed. It
// allocates only when s names nodes c does not have. On error c is
// unchanged.
func (c *Clock) MergeText(s, except string) (bool, error) {
	if err := Validate(s, MaxLimit); err != nil {
		return false, err
	}
	changed := false
	if len(s) > 0 && s[0] == '!' {
		if !c.pruned {
			c.pruned, changed = true, true
		}
		s = s[1:]
	}
	added := false
	for len(s) > 0 {
		e, rest, _ := parseEntry(s) // validated above
		s = rest
		if e.Node == except {
			continue
		}
		i, ok := c.find(e.Node)
		switch {
		case ok && e.Count > c.entries[i].Count:
			c.entries[i].Count = e.Count
			changed = true
		case !ok:
			e.Node = strings.Clone(e.Node) // do not keep the whole header alive
			c.entries = slices.Insert(c.entries, i, e)
			changed, added = true, true
		}
	}
	if added {
		c.prune(except)
	}
	return changed, nil
}

// AppendTextWith appends the text encoding of c with node's counter raised
// to count, without changing c.
func (c Clock) AppendTextWith(b []byte, node string, count uint64) []byte {
	if c.pruned {
		b = append(b, '!')
	}
	n := 0
	done := node == "" || count == 0
	for _, e := range c.entries {
		if !done && node <= e.Node {
			done = true
			if node == e.Node {
				b = appendEntry(b, n, e.Node, max(e.Count, count))
				n++
				continue
			}
			b = appendEntry(b, n, node, count)
			n++
		}
		b = appendEntry(b, n, e.Node, e.Count)
		n++
	}
	if !done {
		b = appendEntry(b, n, node, count)
	}
	return b
}

func appendEntry(b []byte, i int, node string, count uint64) []byte {
	if i > 0 {
		b = append(b, ',')
	}
	b = append(b, node...)
	b = append(b, ':')
	return strconv.AppendUint(b, count, 10)
}
