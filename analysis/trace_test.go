package analysis

import (
	"slices"
	"testing"

	"github.com/tracerdev/tracer/storage"
)

func sid(b byte) storage.SpanID { return storage.SpanID{7, 7, 7, 7, 7, 7, 7, b} }

func TestNewTrace(t *testing.T) {
	span := func(id, parent byte, start int64) storage.Span {
		s := storage.Span{SpanID: sid(id), StartTime: start, EndTime: start + 10, Service: "svc"}
		if parent != 0 {
			s.ParentSpanID = sid(parent)
		}
		return s
	}
	tests := []struct {
		name       string
		spans      []storage.Span
		wantParent []int32 // by start order
		wantRoots  []int32
	}{
		{"tree", []storage.Span{span(3, 1, 20), span(1, 0, 0), span(2, 1, 10)}, []int32{-1, 0, 0}, []int32{0}},
		{"orphan", []storage.Span{span(1, 0, 0), span(2, 9, 5)}, []int32{-1, -1}, []int32{0, 1}},
		{"duplicate keeps the first", []storage.Span{span(1, 0, 0), span(2, 1, 5), span(2, 1, 5)}, []int32{-1, 0}, []int32{0}},
		{"self parent", []storage.Span{span(1, 1, 0)}, []int32{-1}, []int32{0}},
		{"cycle cut at its earliest span", []storage.Span{span(1, 3, 0), span(2, 1, 5), span(3, 2, 7), span(4, 3, 9)}, []int32{-1, 0, 1, 2}, []int32{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := NewTrace(tt.spans)
			if got := tr.Parent; !slices.Equal(got, tt.wantParent) {
				t.Errorf("Parent = %v, want %v", got, tt.wantParent)
			}
			if !slices.Equal(tr.Roots, tt.wantRoots) {
				t.Errorf("Roots = %v, want %v", tr.Roots, tt.wantRoots)
			}
			for i, s := range tr.Spans {
				if tr.Index(s.SpanID) != i {
					t.Errorf("Index(%v) = %d, want %d", s.SpanID, tr.Index(s.SpanID), i)
				}
				if i > 0 && tr.Spans[i-1].StartTime > s.StartTime {
					t.Errorf("spans not in start order at %d", i)
				}
			}
			if len(tr.Instances) != 1 || tr.Instances[0] != (Instance{Service: "svc"}) {
				t.Errorf("Instances = %v", tr.Instances)
			}
		})
	}
}
