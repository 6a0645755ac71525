package storage_test

import (
	"errors"
	"testing"

	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/vclock"
)

func TestSpanClocks(t *testing.T) {
	attr := func(k, v string) storage.Attribute {
		typ := storage.TypeString
		if k == vclock.AttrTick || k == vclock.AttrEndTick {
			typ = storage.TypeInt
		}
		return storage.Attribute{Key: k, Type: typ, Value: v}
	}
	tests := []struct {
		name       string
		attrs      []storage.Attribute
		start, end string
		order      vclock.Order // of start vs end
	}{
		{
			// The SDK leaves end_deps out when the other entries did not change.
			name:  "end tick without end deps",
			attrs: []storage.Attribute{attr(vclock.AttrNode, "a-1"), attr(vclock.AttrTick, "4"), attr(vclock.AttrDeps, "b-2:2"), attr(vclock.AttrEndTick, "6")},
			start: "a-1:4,b-2:2", end: "a-1:6,b-2:2", order: vclock.Before,
		},
		{
			name: "end tick and end deps",
			attrs: []storage.Attribute{attr(vclock.AttrNode, "a-1"), attr(vclock.AttrTick, "4"), attr(vclock.AttrDeps, "b-2:2"),
				attr(vclock.AttrEndTick, "6"), attr(vclock.AttrEndDeps, "b-2:3,c-3:1")},
			start: "a-1:4,b-2:2", end: "a-1:6,b-2:3,c-3:1", order: vclock.Before,
		},
		{
			name:  "clock did not move",
			attrs: []storage.Attribute{attr(vclock.AttrNode, "a-1"), attr(vclock.AttrTick, "4")},
			start: "a-1:4", end: "a-1:4", order: vclock.Equal,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := storage.Span{Attributes: tt.attrs}
			c, ok := s.Clock()
			ec, eok := s.EndClock()
			if !ok || !eok {
				t.Fatalf("Clock ok %v, EndClock ok %v; want both", ok, eok)
			}
			if c.String() != tt.start || ec.String() != tt.end {
				t.Errorf("clocks = %q, %q; want %q, %q", c, ec, tt.start, tt.end)
			}
			if got := vclock.Compare(c, ec); got != tt.order {
				t.Errorf("start vs end = %v, want %v", got, tt.order)
			}
		})
	}
	// A span whose clock is larger than the default limit (sdk.WithClockLimit(40)).
	var deps []byte
	for i := range 39 {
		if i > 0 {
			deps = append(deps, ',')
		}
		deps = append(deps, 'n', byte('A'+i/26), byte('a'+i%26), ':', '1')
	}
	big := storage.Span{Attributes: []storage.Attribute{attr(vclock.AttrNode, "z"), attr(vclock.AttrTick, "1"), attr(vclock.AttrDeps, string(deps))}}
	if c, ok := big.Clock(); !ok || c.Len() != 40 {
		t.Errorf("40-entry clock: %d entries, ok %v; want 40, true", c.Len(), ok)
	}
	if _, err := (&storage.Span{}).SpanClock(); !errors.Is(err, vclock.ErrNoClock) {
		t.Errorf("span without clock: err = %v, want ErrNoClock", err)
	}
}
