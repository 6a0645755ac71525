package vclock

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// entries returns the text of a clock of n entries with the longest node
// ids and counts.
func entries(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s%03d:18446744073709551615", strings.Repeat("n", MaxNodeLen-3), i)
	}
	return b.String()
}

// One size limit: whatever a process may be configured to keep (up to
// MaxLimit), every decoder accepts.
func TestOneSizeLimit(t *testing.T) {
	tests := []struct {
		name string
		n    int
		ok   bool
	}{
		{"default", DefaultLimit, true},
		{"40 entries", 40, true},
		{"ceiling", MaxLimit, true},
		{"above the ceiling", MaxLimit + 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := entries(tt.n)
			if tt.ok && len("!"+text) > MaxTextLen {
				t.Fatalf("%d entries take %d bytes, more than MaxTextLen %d", tt.n, len(text), MaxTextLen)
			}
			_, perr := Parse(text)
			verr := Validate(text, 0)
			_, cerr := Compose("zz", 1, text)
			var m, u Clock
			_, merr := m.MergeText(text, "")
			uerr := u.UnmarshalText([]byte(text))
			for name, err := range map[string]error{"Parse": perr, "Validate": verr, "Compose": cerr, "MergeText": merr, "UnmarshalText": uerr} {
				if (err == nil) != tt.ok {
					t.Errorf("%s of %d entries: err = %v, want ok = %v", name, tt.n, err, tt.ok)
				}
			}
		})
	}
	if got := New(1000).Limit(); got != MaxLimit {
		t.Errorf("New(1000).Limit() = %d, want MaxLimit %d", got, MaxLimit)
	}
	if got := New(40).Limit(); got != 40 {
		t.Errorf("New(40).Limit() = %d, want 40", got)
	}
	// A clock of MaxLimit entries plus the span's own node is pruned, not refused.
	c, err := Compose("zz", 1, entries(MaxLimit))
	if err != nil || !c.Pruned() || c.Len() != MaxLimit || c.Get("zz") != 1 {
		t.Errorf("Compose over the ceiling = %d entries, pruned %v, own %d, %v", c.Len(), c.Pruned(), c.Get("zz"), err)
	}
}

func lookup(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestFromAttributes(t *testing.T) {
	tests := []struct {
		name       string
		attrs      map[string]string
		start, end string
		wantErr    string
	}{
		{name: "tick only", attrs: map[string]string{AttrNode: "a", AttrTick: "3"}, start: "a:3", end: "a:3"},
		{name: "with deps", attrs: map[string]string{AttrNode: "b", AttrTick: "4", AttrDeps: "a:2,c:1"},
			start: "a:2,b:4,c:1", end: "a:2,b:4,c:1"},
		// The SDK leaves end_deps out when the other entries did not change.
		{name: "end tick without end deps keeps the start's deps",
			attrs: map[string]string{AttrNode: "b", AttrTick: "4", AttrDeps: "a:2", AttrEndTick: "9"},
			start: "a:2,b:4", end: "a:2,b:9"},
		{name: "end tick and end deps",
			attrs: map[string]string{AttrNode: "b", AttrTick: "4", AttrDeps: "a:2", AttrEndTick: "9", AttrEndDeps: "a:5,c:1"},
			start: "a:2,b:4", end: "a:5,b:9,c:1"},
		{name: "pruned deps", attrs: map[string]string{AttrNode: "c", AttrTick: "1", AttrDeps: "!"}, start: "!c:1", end: "!c:1"},
		{name: "no clock", attrs: map[string]string{"http.method": "GET"}, wantErr: ErrNoClock.Error()},
		{name: "no tick", attrs: map[string]string{AttrNode: "a"}, wantErr: "no " + AttrTick},
		{name: "zero tick", attrs: map[string]string{AttrNode: "a", AttrTick: "0"}, wantErr: AttrTick},
		{name: "negative tick", attrs: map[string]string{AttrNode: "a", AttrTick: "-1"}, wantErr: AttrTick},
		{name: "bad deps", attrs: map[string]string{AttrNode: "a", AttrTick: "1", AttrDeps: "b:1,b:2"}, wantErr: AttrDeps},
		{name: "end tick below start", attrs: map[string]string{AttrNode: "a", AttrTick: "5", AttrEndTick: "4"}, wantErr: "below"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FromAttributes(lookup(tt.attrs))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Start.String() != tt.start || got.End.String() != tt.end {
				t.Errorf("start, end = %q, %q; want %q, %q", got.Start, got.End, tt.start, tt.end)
			}
			if o := Compare(got.Start, got.End); o != Before && o != Equal && !got.Start.Pruned() {
				t.Errorf("start vs end = %v, want before or equal", o)
			}
		})
	}
	if _, err := FromAttributes(lookup(nil)); !errors.Is(err, ErrNoClock) {
		t.Errorf("err = %v, want ErrNoClock", err)
	}
}

func TestCompareStarts(t *testing.T) {
	span := func(node string, tick uint64, deps string) SpanClock {
		c, err := Compose(node, tick, deps)
		if err != nil {
			t.Fatal(err)
		}
		return SpanClock{Node: node, Tick: tick, Start: c, End: c}
	}
	tests := []struct {
		name string
		a, b SpanClock
		want Order
	}{
		{"same span", span("a", 2, ""), span("a", 2, ""), Equal},
		{"one process", span("a", 2, ""), span("a", 5, ""), Before},
		{"one process, pruned clocks", span("c", 1, "!"), span("c", 2, "!"), Before},
		{"across processes", span("a", 2, ""), span("b", 1, "a:2"), Before},
		{"later", span("b", 1, "a:2"), span("a", 2, ""), After},
		{"concurrent", span("a", 3, ""), span("b", 1, "a:2"), Concurrent},
		// Behind a hop without clock: c's clock is pruned, so no claim.
		{"behind a hop without clock", span("a", 3, ""), span("c", 1, "!"), Unknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CompareStarts(tt.a, tt.b); got != tt.want {
				t.Errorf("CompareStarts = %v, want %v", got, tt.want)
			}
		})
	}
}
