package vclock

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

func mustParse(t testing.TB, s string) Clock {
	t.Helper()
	c, err := Parse(s)
	if err != nil {
		t.Fatalf("Parse(%q): %v", s, err)
	}
	return c
}

func TestCompare(t *testing.T) {
	tests := []struct {
		a, b string
		want Order
	}{
		{"", "", Equal},
		{"a:1", "a:1", Equal},
		{"a:1", "a:2", Before},
		{"a:2", "a:1", After},
		{"", "a:1", Before},
		{"a:1", "a:1,b:1", Before},
		{"a:1,b:2", "a:2,b:1", Concurrent},
		{"a:1", "b:1", Concurrent},
		{"a:3,c:1", "a:3,b:1,c:1", Before},
		// A pruned clock cannot claim an order that a dropped entry could contradict.
		{"!a:1", "a:2", Unknown},
		{"!a:2", "a:1", After},
		{"a:1", "!a:2", Before},
		{"a:2", "!a:1", Unknown},
		{"!a:1", "!a:1", Unknown},
		{"!a:1", "a:1,b:1", Unknown},
		// ...but concurrency shown by counters both have is proven.
		{"!a:1,b:2", "a:2,b:1", Concurrent},
	}
	for _, tt := range tests {
		t.Run(tt.a+" vs "+tt.b, func(t *testing.T) {
			got := Compare(mustParse(t, tt.a), mustParse(t, tt.b))
			if got != tt.want {
				t.Errorf("Compare = %v, want %v", got, tt.want)
			}
			if inv := Compare(mustParse(t, tt.b), mustParse(t, tt.a)); inv != inverse(tt.want) {
				t.Errorf("reverse Compare = %v, want %v", inv, inverse(tt.want))
			}
		})
	}
}

func inverse(o Order) Order {
	switch o {
	case Before:
		return After
	case After:
		return Before
	}
	return o
}

func TestTickAndSet(t *testing.T) {
	var c Clock
	if got := c.Tick("b"); got != 1 {
		t.Errorf("first Tick = %d, want 1", got)
	}
	c.Tick("a")
	c.Tick("b")
	c.Set("c", 7)
	c.Set("c", 3) // never goes down
	if got, want := c.String(), "a:1,b:2,c:7"; got != want {
		t.Errorf("clock = %q, want %q", got, want)
	}
	d := c.Copy()
	d.Tick("a")
	if c.Get("a") != 1 || d.Get("a") != 2 {
		t.Errorf("Copy shares storage: c=%v d=%v", c, d)
	}
}

func TestPrune(t *testing.T) {
	c := New(3)
	c.Set("a", 5)
	c.Set("b", 1)
	c.Set("c", 9)
	if c.Pruned() {
		t.Fatal("pruned before the limit")
	}
	c.Tick("d") // over the limit: the smallest other entry (b:1) goes
	if got, want := c.String(), "!a:5,c:9,d:1"; got != want {
		t.Errorf("after prune = %q, want %q", got, want)
	}
	m := New(2)
	m.Merge(mustParse(t, "x:1,y:2,z:3"))
	if got, want := m.String(), "!y:2,z:3"; got != want {
		t.Errorf("merge over limit = %q, want %q", got, want)
	}
	if Compare(m, mustParse(t, "y:2,z:3")) != Unknown {
		t.Error("a pruned clock claimed an order")
	}
}

func TestParseErrors(t *testing.T) {
	bad := []string{
		",", "a", "a:", ":1", "a:0", "a:01", "a:-1", "a:1,", ",a:1", "a:1,,b:2",
		"b:1,a:1", "a:1,a:2", "a b:1", "a:1 ", "a:18446744073709551616",
		"!!a:1", "a:1!", "é:1", strings.Repeat("x", MaxNodeLen+1) + ":1",
		strings.Repeat("a", MaxTextLen+1),
	}
	for _, s := range bad {
		if c, err := Parse(s); err == nil {
			t.Errorf("Parse(%q) = %v, want error", s, c)
		}
		if Validate(s, DefaultLimit) == nil {
			t.Errorf("Validate(%q) = nil, want error", s)
		}
	}
	if _, err := Parse(entries(MaxLimit + 1)); err == nil {
		t.Error("Parse accepted more entries than MaxLimit")
	}
	if _, err := ParseLimit(entries(DefaultLimit+1), DefaultLimit); err == nil {
		t.Error("ParseLimit accepted more entries than its limit")
	}
	if _, err := ParseLimit(entries(DefaultLimit+1), DefaultLimit+1); err != nil {
		t.Errorf("ParseLimit with room: %v", err)
	}
}

// randomClock draws a clock over a small node set so that clocks overlap.
func randomClock(r *rand.Rand) Clock {
	c := New(8)
	for i := range r.IntN(6) {
		c.Set(fmt.Sprintf("n%d", r.IntN(8)), uint64(r.IntN(5)+1+i))
	}
	return c
}

func merged(a, b Clock) Clock {
	m := a.Copy()
	m.Merge(b)
	return m
}

func TestMergeProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		a, b, c := randomClock(r), randomClock(r), randomClock(r)
		if x, y := merged(a, b), merged(b, a); x.String() != y.String() {
			t.Fatalf("#%d not commutative: %v vs %v", i, x, y)
		}
		if x, y := merged(merged(a, b), c), merged(a, merged(b, c)); x.String() != y.String() {
			t.Fatalf("#%d not associative: %v vs %v", i, x, y)
		}
		if x := merged(a, a); x.String() != a.String() {
			t.Fatalf("#%d not idempotent: %v vs %v", i, x, a)
		}
		// Compare agrees with merge: a <= b exactly when merging a into b changes nothing.
		m := merged(a, b)
		switch Compare(a, b) {
		case Before:
			if m.String() != b.String() {
				t.Fatalf("#%d %v before %v but merge = %v", i, a, b, m)
			}
		case Equal:
			if a.String() != b.String() {
				t.Fatalf("#%d %v equal %v", i, a, b)
			}
		case After:
			if m.String() != a.String() {
				t.Fatalf("#%d %v after %v but merge = %v", i, a, b, m)
			}
		case Concurrent:
			if m.String() == a.String() || m.String() == b.String() {
				t.Fatalf("#%d %v concurrent with %v but merge = %v", i, a, b, m)
			}
		default:
			t.Fatalf("#%d unpruned clocks compared Unknown", i)
		}
		if o := Compare(a, m); o != Before && o != Equal {
			t.Fatalf("#%d a=%v vs merge=%v: %v", i, a, m, o)
		}
		// MergeText is Merge.
		mt := a.Copy()
		if _, err := mt.MergeText(b.String(), ""); err != nil || mt.String() != m.String() {
			t.Fatalf("#%d MergeText = %v, %v; want %v", i, mt, err, m)
		}
	}
}

func TestEncodeParseRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		c := randomClock(r)
		if r.IntN(4) == 0 {
			c.pruned = true
		}
		s := c.String()
		if len(s) != c.TextLen() {
			t.Fatalf("TextLen = %d, len(%q) = %d", c.TextLen(), s, len(s))
		}
		p, err := Parse(s)
		if err != nil {
			t.Fatalf("Parse(%q): %v", s, err)
		}
		if p.String() != s || p.Pruned() != c.Pruned() || p.Len() != c.Len() {
			t.Fatalf("round trip of %q gave %q", s, p.String())
		}
		node := fmt.Sprintf("n%d", r.IntN(10))
		tick := uint64(r.IntN(9) + 1)
		want := c.Copy()
		want.limit = 100
		want.Set(node, tick)
		if got := string(c.AppendTextWith(nil, node, tick)); got != want.String() {
			t.Fatalf("AppendTextWith(%v, %s, %d) = %q, want %q", c, node, tick, got, want.String())
		}
		comp, err := Compose(node, tick, s)
		if err != nil || comp.String() != want.String() {
			t.Fatalf("Compose(%s, %d, %q) = %q, %v; want %q", node, tick, s, comp, err, want.String())
		}
		if got := string(Splice([]byte("x"), s, node, tick)); got != "x"+want.String() {
			t.Fatalf("Splice(%q, %s, %d) = %q, want %q", s, node, tick, got, "x"+want.String())
		}
	}
}

func TestCompose(t *testing.T) {
	c, err := Compose("b", 4, "a:2,c:1")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.String(), "a:2,b:4,c:1"; got != want {
		t.Errorf("Compose = %q, want %q", got, want)
	}
	if _, err := Compose("bad node", 1, ""); err == nil {
		t.Error("Compose accepted an invalid node id")
	}
	if _, err := Compose("b", 1, "junk"); err == nil {
		t.Error("Compose accepted malformed deps")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "a:1", "!a:1,b:2", "a:1,a:2", "a:0", "x:18446744073709551615", ",", "!"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := Parse(s)
		if verr := Validate(s, DefaultLimit); (verr == nil) != (err == nil) {
			t.Fatalf("Parse err %v but Validate err %v for %q", err, verr, s)
		}
		var m Clock
		_, merr := m.MergeText(s, "")
		if err != nil {
			if merr == nil && len(s) <= MaxTextLen && strings.Count(s, ",") < MaxLimit {
				t.Fatalf("MergeText accepted %q that Parse rejected: %v", s, err)
			}
			return
		}
		if got := c.String(); got != s {
			t.Fatalf("Parse(%q).String() = %q", s, got)
		}
		if merr != nil || m.String() != s {
			t.Fatalf("MergeText(%q) = %q, %v", s, m.String(), merr)
		}
	})
}

func BenchmarkTick(b *testing.B) {
	c := New(0)
	for i := range 15 {
		c.Set(fmt.Sprintf("node-%02d", i), uint64(i+1))
	}
	b.ReportAllocs()
	for b.Loop() {
		c.Tick("node-07")
	}
}

func BenchmarkParseString16(b *testing.B) {
	c := New(0)
	for i := range 16 {
		c.Set(fmt.Sprintf("%016x", i*7919), uint64(1000+i))
	}
	s := c.String()
	b.ReportAllocs()
	for b.Loop() {
		p, err := Parse(s)
		if err != nil {
			b.Fatal(err)
		}
		_ = p.String()
	}
}

func TestAllAndComposeAllocs(t *testing.T) {
	c := mustParse(t, "a:1,b:2,c:3")
	var got []Entry
	for n, v := range c.All() {
		got = append(got, Entry{n, v})
		if n == "b" {
			break
		}
	}
	if len(got) != 2 || got[0] != (Entry{"a", 1}) || got[1] != (Entry{"b", 2}) {
		t.Errorf("All stopped at b gave %v", got)
	}
	// Composing a span's clock is one allocation: its entries.
	if n := testing.AllocsPerRun(100, func() { _, _ = Compose("m", 9, "a:1,b:2,z:3") }); n != 1 {
		t.Errorf("Compose allocated %v times, want 1", n)
	}
}
