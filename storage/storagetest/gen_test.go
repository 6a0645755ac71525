package storagetest

import (
	"strings"
	"testing"
	"time"

	"github.com/tracerdev/tracer/storage"
)

// TestDiffSpansSeesEveryField proves the suite's comparison is not blind:
// changing any one field of a span makes DiffSpans report it.
func TestDiffSpansSeesEveryField(t *testing.T) {
	base := FullSpan(storage.TraceID{1}, storage.SpanID{2}, storage.SpanID{3}, time.Now())
	mutations := map[string]func(s *storage.Span){
		"TraceID":           func(s *storage.Span) { s.TraceID[15] = 9 },
		"SpanID":            func(s *storage.Span) { s.SpanID[7] = 9 },
		"ParentSpanID":      func(s *storage.Span) { s.ParentSpanID[7] = 9 },
		"TraceState":        func(s *storage.Span) { s.TraceState += "x" },
		"Flags":             func(s *storage.Span) { s.Flags++ },
		"Name":              func(s *storage.Span) { s.Name += "x" },
		"Kind":              func(s *storage.Span) { s.Kind = storage.KindClient },
		"StartTime":         func(s *storage.Span) { s.StartTime++ },
		"EndTime":           func(s *storage.Span) { s.EndTime++ },
		"StatusCode":        func(s *storage.Span) { s.StatusCode = storage.StatusOK },
		"StatusMessage":     func(s *storage.Span) { s.StatusMessage += "x" },
		"Service":           func(s *storage.Span) { s.Service += "x" },
		"Resource":          func(s *storage.Span) { s.Resource[1].Value += "x" },
		"Resource type":     func(s *storage.Span) { s.Resource[2].Type = storage.TypeString },
		"Resource count":    func(s *storage.Span) { s.Resource = s.Resource[:1] },
		"ScopeName":         func(s *storage.Span) { s.ScopeName += "x" },
		"ScopeVersion":      func(s *storage.Span) { s.ScopeVersion += "x" },
		"Attributes key":    func(s *storage.Span) { s.Attributes[0].Key += "x" },
		"Attributes type":   func(s *storage.Span) { s.Attributes[2].Type = storage.TypeString },
		"Attributes order":  func(s *storage.Span) { s.Attributes[0], s.Attributes[1] = s.Attributes[1], s.Attributes[0] },
		"Event time":        func(s *storage.Span) { s.Events[1].Time++ },
		"Event name":        func(s *storage.Span) { s.Events[0].Name += "x" },
		"Event attribute":   func(s *storage.Span) { s.Events[0].Attributes[1].Value = "true" },
		"Events count":      func(s *storage.Span) { s.Events = s.Events[:1] },
		"Link trace":        func(s *storage.Span) { s.Links[1].TraceID[3] = 1 },
		"Link span":         func(s *storage.Span) { s.Links[1].SpanID[3] = 1 },
		"Link state":        func(s *storage.Span) { s.Links[0].TraceState = "" },
		"Link attribute":    func(s *storage.Span) { s.Links[0].Attributes = nil },
		"DroppedAttributes": func(s *storage.Span) { s.DroppedAttributes++ },
		"DroppedEvents":     func(s *storage.Span) { s.DroppedEvents++ },
		"DroppedLinks":      func(s *storage.Span) { s.DroppedLinks++ },
	}
	for name, mutate := range mutations {
		t.Run(name, func(t *testing.T) {
			got := base.Copy()
			mutate(&got)
			if d := DiffSpans([]storage.Span{got}, []storage.Span{base}); d == "" {
				t.Fatal("DiffSpans reports no difference")
			}
		})
	}
	if d := DiffSpans([]storage.Span{base.Copy()}, []storage.Span{base}); d != "" {
		t.Fatalf("DiffSpans of equal spans:\n%s", d)
	}
	if d := DiffSpans([]storage.Span{base}, nil); !strings.Contains(d, "got 1 spans, want 0") {
		t.Fatalf("DiffSpans(one, none) = %q", d)
	}
}

func TestDiffSpansNilIsEmpty(t *testing.T) {
	a := storage.Span{SpanID: storage.SpanID{1}}
	b := a
	b.Attributes, b.Events, b.Links, b.Resource = []storage.Attribute{}, []storage.Event{}, []storage.Link{}, []storage.Attribute{}
	if d := DiffSpans([]storage.Span{a}, []storage.Span{b}); d != "" {
		t.Fatalf("nil and empty slices differ:\n%s", d)
	}
}

func TestGeneratorDeterministic(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	a := NewGenerator(5).Trace(start, 20)
	b := NewGenerator(5).Trace(start, 20)
	if d := DiffSpans(a, b); d != "" {
		t.Fatalf("two generators with one seed differ:\n%s", d)
	}
	seen := map[storage.SpanID]bool{}
	for i, s := range a {
		if s.TraceID != a[0].TraceID || seen[s.SpanID] || s.SpanID.IsZero() {
			t.Fatalf("span %d: bad ids %s/%s", i, s.TraceID, s.SpanID)
		}
		seen[s.SpanID] = true
		if i > 0 && !seen[s.ParentSpanID] {
			t.Fatalf("span %d: parent %s is not an earlier span", i, s.ParentSpanID)
		}
		if s.EndTime <= s.StartTime {
			t.Fatalf("span %d ends before it starts", i)
		}
		if _, ok := s.Clock(); !ok {
			t.Fatalf("span %d has no clock", i)
		}
	}
}
