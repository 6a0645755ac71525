package memory_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/memory"
	"github.com/tracerdev/tracer/storage/storagetest"
)

// ownedStore writes through WriteOwned: each WriteSpans hands over a deep
// copy of the spans, in groups of three.
type ownedStore struct{ *memory.Store }

func (s ownedStore) WriteSpans(ctx context.Context, spans []storage.Span) error {
	own := cloneSpans(spans)
	var groups []memory.Group
	for end := 3; ; end += 3 {
		groups = append(groups, memory.Group{End: min(end, len(own)), Bytes: 100})
		if end >= len(own) {
			break
		}
	}
	return s.WriteOwned(ctx, own, groups)
}

func cloneAttrs(a []storage.Attribute) []storage.Attribute {
	if a == nil {
		return nil
	}
	out := make([]storage.Attribute, len(a))
	for i, x := range a {
		out[i] = storage.Attribute{Key: strings.Clone(x.Key), Type: x.Type, Value: strings.Clone(x.Value)}
	}
	return out
}

func cloneSpans(spans []storage.Span) []storage.Span {
	out := slices.Clone(spans)
	for i := range out {
		sp := &out[i]
		sp.TraceState, sp.Name, sp.StatusMessage = strings.Clone(sp.TraceState), strings.Clone(sp.Name), strings.Clone(sp.StatusMessage)
		sp.Service, sp.ScopeName, sp.ScopeVersion = strings.Clone(sp.Service), strings.Clone(sp.ScopeName), strings.Clone(sp.ScopeVersion)
		sp.Resource, sp.Attributes = cloneAttrs(sp.Resource), cloneAttrs(sp.Attributes)
		sp.Events, sp.Links = slices.Clone(sp.Events), slices.Clone(sp.Links)
		for j := range sp.Events {
			sp.Events[j].Name = strings.Clone(sp.Events[j].Name)
			sp.Events[j].Attributes = cloneAttrs(sp.Events[j].Attributes)
		}
		for j := range sp.Links {
			sp.Links[j].TraceState = strings.Clone(sp.Links[j].TraceState)
			sp.Links[j].Attributes = cloneAttrs(sp.Links[j].Attributes)
		}
	}
	return out
}

func TestConformanceOwned(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, limits storage.ReaderLimits) storage.Store {
		s := memory.New(memory.WithReaderLimits(limits))
		t.Cleanup(func() { s.Close() })
		return ownedStore{s}
	})
}

// TestWriteOwnedKeepsStrings: WriteOwned keeps the spans' strings and
// slices instead of copying them, reads return the spans written, and
// WriteSpans still copies.
func TestWriteOwnedKeepsStrings(t *testing.T) {
	ctx := t.Context()
	for _, owned := range []bool{true, false} {
		s := memory.New()
		spans := cloneSpans(storagetest.NewGenerator(21).Trace(time.Now().Add(-time.Minute), 10)) // a string each
		want := cloneSpans(spans)
		var err error
		if owned {
			err = s.WriteOwned(ctx, spans, []memory.Group{{End: 4, Bytes: 1000}, {End: 10, Bytes: 1000}})
		} else {
			err = s.WriteSpans(ctx, spans)
		}
		if err != nil {
			t.Fatal(err)
		}
		tr, err := s.Trace(ctx, spans[0].TraceID)
		if err != nil {
			t.Fatal(err)
		}
		storagetest.SortSpans(tr.Spans)
		storagetest.SortSpans(want)
		if diff := storagetest.DiffSpans(tr.Spans, want); diff != "" {
			t.Fatalf("owned %v: read back differs:\n%s", owned, diff)
		}
		names := map[*byte]bool{}
		for i := range spans {
			names[unsafe.StringData(spans[i].Name)] = true
		}
		kept := 0
		for i := range tr.Spans {
			if names[unsafe.StringData(tr.Spans[i].Name)] {
				kept++
			}
		}
		if want := map[bool]int{true: len(spans), false: 0}[owned]; kept != want {
			t.Errorf("owned %v: %d spans' names are the caller's strings, want %d", owned, kept, want)
		}
		s.Close()
	}
}

// TestWriteOwnedBytes: a group's bytes are charged once, however many of
// its spans remain, and leave the count with its last span.
func TestWriteOwnedBytes(t *testing.T) {
	ctx := t.Context()
	s := memory.New()
	defer s.Close()
	g := storagetest.NewGenerator(22)
	a := g.Trace(time.Now().Add(-time.Minute), 5)
	b := g.Trace(time.Now().Add(-time.Minute), 5)
	spans := append(slices.Clone(a), b...)
	const groupBytes = 50_000
	if err := s.WriteOwned(ctx, spans, []memory.Group{{End: 5, Bytes: groupBytes}, {End: 10, Bytes: groupBytes}}); err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	if st.Spans != 10 || st.Bytes < 2*groupBytes || st.Bytes > 2*groupBytes+100_000 {
		t.Fatalf("Stats = %+v, want 10 spans and a little over %d bytes", st, 2*groupBytes)
	}
	// Rewriting all but one span of the first group (by copy) keeps the
	// group charged; the last one releases it.
	if err := s.WriteSpans(ctx, a[:4]); err != nil {
		t.Fatal(err)
	}
	if got := s.Stats().Bytes; got < 2*groupBytes {
		t.Fatalf("Bytes = %d after rewriting 4 of the first group's 5 spans, want both groups still charged", got)
	}
	if err := s.WriteSpans(ctx, a[4:]); err != nil {
		t.Fatal(err)
	}
	if got := s.Stats().Bytes; got >= 2*groupBytes || got < groupBytes {
		t.Fatalf("Bytes = %d after rewriting all of the first group, want the second group's only", got)
	}
	if err := s.Purge(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Spans != 0 || st.Bytes != 0 {
		t.Fatalf("Stats after purging everything = %+v, want empty", st)
	}
}

// TestWriteOwnedRejects: spans with zero ids are rejected by their index
// in spans, their group-mates stored; a group of rejected spans only
// charges nothing.
func TestWriteOwnedRejects(t *testing.T) {
	ctx := t.Context()
	s := memory.New()
	defer s.Close()
	spans := storagetest.NewGenerator(23).Trace(time.Now().Add(-time.Minute), 6)
	spans[1].SpanID = storage.SpanID{}
	spans[4].SpanID, spans[5].SpanID = storage.SpanID{}, storage.SpanID{}
	err := s.WriteOwned(ctx, spans, []memory.Group{{End: 4, Bytes: 10}, {End: 6, Bytes: 1 << 20}})
	var rej *storage.RejectedError
	if !errors.As(err, &rej) || len(rej.Spans) != 3 || rej.Spans[0].Index != 1 || rej.Spans[1].Index != 4 || rej.Spans[2].Index != 5 {
		t.Fatalf("WriteOwned: err = %v, want spans 1, 4 and 5 rejected", err)
	}
	if st := s.Stats(); st.Spans != 3 || st.Bytes >= 1<<20 {
		t.Fatalf("Stats = %+v, want 3 spans, the all-rejected group not charged", st)
	}
}

// TestWriteOwnedLargeGroupCopied: a group larger than an eighth of the byte
// cap, and spans past the last group, are copied (and stored all the same).
func TestWriteOwnedLargeGroupCopied(t *testing.T) {
	ctx := t.Context()
	s := memory.New(memory.WithMaxBytes(8 << 20))
	defer s.Close()
	spans := cloneSpans(storagetest.NewGenerator(24).Trace(time.Now().Add(-time.Minute), 6)) // a string each
	if err := s.WriteOwned(ctx, spans, []memory.Group{{End: 2, Bytes: 100}, {End: 4, Bytes: 2 << 20}}); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Spans != 6 || st.Bytes >= 1<<20 {
		t.Fatalf("Stats = %+v, want 6 spans and the large group not charged whole", st)
	}
	tr, err := s.Trace(ctx, spans[0].TraceID)
	if err != nil {
		t.Fatal(err)
	}
	kept := map[*byte]bool{}
	for i := range tr.Spans {
		kept[unsafe.StringData(tr.Spans[i].Name)] = true
	}
	for i := range spans {
		if want := i < 2; kept[unsafe.StringData(spans[i].Name)] != want {
			t.Errorf("span %d: name kept = %v, want %v", i, !want, want)
		}
	}
}
