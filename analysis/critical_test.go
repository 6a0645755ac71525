package analysis

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/tracerdev/tracer/storage"
)

var cpTraceID = storage.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}

// cpSpec describes a crafted span: its name (one letter or more; also its id),
// its parent's name ("" for a root, a name not in the trace for an orphan),
// its interval and the names it links to.
type cpSpec struct {
	name, parent string
	start, end   int64
	links        []string
}

// cpSpanID makes a span id from a name.
func cpSpanID(name string) storage.SpanID {
	var id storage.SpanID
	copy(id[:], name)
	id[7] = 0xee // never zero
	return id
}

func cpCraft(specs ...cpSpec) []storage.Span {
	out := make([]storage.Span, 0, len(specs))
	for _, c := range specs {
		s := storage.Span{TraceID: cpTraceID, SpanID: cpSpanID(c.name), Name: c.name,
			Service: "svc", StartTime: c.start, EndTime: c.end}
		if c.parent != "" {
			s.ParentSpanID = cpSpanID(c.parent)
		}
		for _, l := range c.links {
			s.Links = append(s.Links, storage.Link{TraceID: cpTraceID, SpanID: cpSpanID(l)})
		}
		out = append(out, s)
	}
	return out
}

// cpPathString writes the segments as "name:start-end", gaps as "-".
func cpPathString(t *Trace, p CriticalPath) string {
	var b strings.Builder
	for k, s := range p.Segments {
		if k > 0 {
			b.WriteByte(' ')
		}
		name := "-"
		if s.Span >= 0 {
			name = t.Spans[s.Span].Name
		}
		fmt.Fprintf(&b, "%s:%d-%d", name, s.Start, s.End)
	}
	return b.String()
}

// cpByName returns a per-span slice's values by span name, for spans whose
// value is non-zero.
func cpByName(t *Trace, v []int64) map[string]int64 {
	m := map[string]int64{}
	for i, x := range v {
		if x != 0 {
			m[t.Spans[i].Name] = x
		}
	}
	return m
}

func TestCriticalPath(t *testing.T) {
	tests := []struct {
		name         string
		spans        []storage.Span
		want         string
		wantSelf     map[string]int64
		wantContrib  map[string]int64 // nil: the same as the segments give (checked by checkCriticalPath)
		wantGap      int64
		wantLinkedTo map[string]string
	}{
		{name: "single span", spans: cpCraft(cpSpec{"R", "", 0, 100, nil}),
			want: "R:0-100", wantSelf: map[string]int64{"R": 100}},
		{name: "sequential children: both on the path, the parent's gaps too",
			spans: cpCraft(cpSpec{"R", "", 0, 100, nil}, cpSpec{"A", "R", 10, 40, nil}, cpSpec{"B", "R", 40, 90, nil}),
			want:  "R:0-10 A:10-40 B:40-90 R:90-100", wantSelf: map[string]int64{"R": 20, "A": 30, "B": 50}},
		{name: "parallel children: only the last to finish",
			spans: cpCraft(cpSpec{"R", "", 0, 100, nil}, cpSpec{"A", "R", 10, 80, nil}, cpSpec{"B", "R", 10, 60, nil}, cpSpec{"C", "R", 20, 90, nil}),
			want:  "R:0-20 C:20-90 R:90-100", wantSelf: map[string]int64{"R": 20, "A": 70, "B": 50, "C": 70}},
		{name: "parallel then sequential: the chain of the last one",
			spans: cpCraft(cpSpec{"R", "", 0, 100, nil}, cpSpec{"A", "R", 0, 30, nil}, cpSpec{"B", "R", 0, 20, nil}, cpSpec{"C", "R", 30, 100, nil}),
			want:  "A:0-30 C:30-100", wantSelf: map[string]int64{"A": 30, "B": 20, "C": 70}},
		{name: "nested",
			spans:    cpCraft(cpSpec{"R", "", 0, 100, nil}, cpSpec{"A", "R", 10, 90, nil}, cpSpec{"B", "A", 20, 80, nil}, cpSpec{"C", "B", 30, 70, nil}),
			want:     "R:0-10 A:10-20 B:20-30 C:30-70 B:70-80 A:80-90 R:90-100",
			wantSelf: map[string]int64{"R": 20, "A": 20, "B": 20, "C": 40}},
		{name: "overlapping siblings: the earlier one's overlap is the parent's",
			spans: cpCraft(cpSpec{"R", "", 0, 100, nil}, cpSpec{"A", "R", 0, 60, nil}, cpSpec{"B", "R", 50, 100, nil}),
			want:  "R:0-50 B:50-100", wantSelf: map[string]int64{"A": 60, "B": 50}},
		{name: "a child outliving its parent inside the trace is clipped",
			spans:    cpCraft(cpSpec{"R", "", 0, 100, nil}, cpSpec{"A", "R", 10, 50, nil}, cpSpec{"X", "A", 40, 70, nil}, cpSpec{"B", "R", 60, 100, nil}),
			want:     "R:0-10 A:10-40 X:40-50 R:50-60 B:60-100",
			wantSelf: map[string]int64{"R": 20, "A": 30, "X": 30, "B": 40}},
		{name: "a child outliving its parent that ends the trace is followed",
			spans: cpCraft(cpSpec{"R", "", 0, 100, nil}, cpSpec{"A", "R", 10, 50, nil}, cpSpec{"X", "A", 40, 150, nil}),
			want:  "R:0-10 A:10-40 X:40-150", wantSelf: map[string]int64{"R": 60, "A": 30, "X": 110}},
		{name: "a child starting before its parent is clipped to it",
			spans: cpCraft(cpSpec{"R", "", 10, 100, nil}, cpSpec{"A", "R", 0, 50, nil}),
			want:  "A:10-50 R:50-100", wantSelf: map[string]int64{"R": 50, "A": 50}},
		{name: "a child entirely outside its parent is not on the path",
			spans: cpCraft(cpSpec{"R", "", 0, 300, nil}, cpSpec{"A", "R", 0, 100, nil}, cpSpec{"Y", "A", 100, 100, nil}, cpSpec{"Z", "A", 200, 210, nil}),
			want:  "A:0-100 R:100-300", wantSelf: map[string]int64{"R": 200, "A": 100, "Z": 10}},
		{name: "a chain past its ends: each instant to the deepest ancestor running",
			spans: cpCraft(cpSpec{"R", "", 0, 100, nil}, cpSpec{"A", "R", 10, 80, nil}, cpSpec{"B", "A", 20, 60, nil}, cpSpec{"C", "B", 30, 40, nil},
				cpSpec{"D", "C", 35, 50, nil}, cpSpec{"E", "D", 120, 130, nil}),
			want: "R:0-10 A:10-20 B:20-30 C:30-35 D:35-50 B:50-60 A:60-80 R:80-100 -:100-120 E:120-130", wantGap: 20,
			wantSelf: map[string]int64{"R": 30, "A": 30, "B": 30, "C": 5, "D": 15, "E": 10}},
		{name: "a zero-duration span ending the trace ends it after a gap",
			spans: cpCraft(cpSpec{"R", "", 0, 100, nil}, cpSpec{"Z", "R", 200, 200, nil}),
			want:  "R:0-100 -:100-200", wantSelf: map[string]int64{"R": 100}, wantGap: 100},
		{name: "producer and its consumer child that ends the trace: the parent, then the queue as a gap",
			spans: cpCraft(cpSpec{"R", "", 0, 100, nil}, cpSpec{"P", "R", 10, 20, nil}, cpSpec{"C", "P", 120, 150, nil}),
			want:  "R:0-10 P:10-20 R:20-100 -:100-120 C:120-150", wantGap: 20,
			wantSelf: map[string]int64{"R": 90, "P": 10, "C": 30}},
		{name: "a consumer that does not end the trace is not on the path",
			spans: cpCraft(cpSpec{"R", "", 0, 200, nil}, cpSpec{"P", "R", 10, 20, nil}, cpSpec{"C", "P", 120, 150, nil}),
			want:  "R:0-10 P:10-20 R:20-200", wantSelf: map[string]int64{"R": 190, "P": 10, "C": 30}},
		{name: "a consumer root linked to its producer is placed under it",
			spans: cpCraft(cpSpec{"R", "", 0, 100, nil}, cpSpec{"P", "R", 10, 20, nil}, cpSpec{"C", "", 120, 150, []string{"P"}}, cpSpec{"D", "C", 130, 140, nil}),
			want:  "R:0-10 P:10-20 R:20-100 -:100-120 C:120-130 D:130-140 C:140-150", wantGap: 20,
			wantSelf: map[string]int64{"R": 90, "P": 10, "C": 20, "D": 10}, wantLinkedTo: map[string]string{"C": "P"}},
		{name: "a consumer linked to several producers follows the last to end",
			spans: cpCraft(cpSpec{"R", "", 0, 100, nil}, cpSpec{"P", "R", 10, 20, nil}, cpSpec{"Q", "R", 10, 30, nil}, cpSpec{"C", "", 120, 150, []string{"P", "Q"}}),
			want:  "R:0-10 Q:10-30 R:30-100 -:100-120 C:120-150", wantGap: 20,
			wantSelf: map[string]int64{"R": 80, "P": 10, "Q": 20, "C": 30}, wantLinkedTo: map[string]string{"C": "Q"}},
		{name: "links in a cycle are cut at the earliest root",
			spans: cpCraft(cpSpec{"R", "", 0, 50, []string{"S"}}, cpSpec{"S", "", 60, 100, []string{"R"}}),
			want:  "R:0-50 -:50-60 S:60-100", wantGap: 10,
			wantSelf: map[string]int64{"R": 50, "S": 40}, wantLinkedTo: map[string]string{"S": "R"}},
		{name: "a link into the span's own tree is ignored",
			spans: cpCraft(cpSpec{"R", "", 0, 100, []string{"A"}}, cpSpec{"A", "R", 10, 20, nil}),
			want:  "R:0-10 A:10-20 R:20-100", wantSelf: map[string]int64{"R": 90, "A": 10}},
		{name: "zero-duration spans are never on the path",
			spans: cpCraft(cpSpec{"R", "", 0, 100, nil}, cpSpec{"Z", "R", 50, 50, nil}, cpSpec{"A", "R", 60, 80, nil}, cpSpec{"E", "R", 80, 80, nil}),
			want:  "R:0-60 A:60-80 R:80-100", wantSelf: map[string]int64{"R": 80, "A": 20}},
		{name: "a zero-duration trace has an empty path",
			spans: cpCraft(cpSpec{"R", "", 5, 5, nil}, cpSpec{"Z", "R", 5, 5, nil}), want: ""},
		{name: "a span ending before it starts lasts zero",
			spans: cpCraft(cpSpec{"R", "", 0, 100, nil}, cpSpec{"A", "R", 50, 10, nil}),
			want:  "R:0-100", wantSelf: map[string]int64{"R": 100}},
		{name: "overlapping roots: the one running before the later one's start",
			spans: cpCraft(cpSpec{"R", "", 0, 100, nil}, cpSpec{"O", "missing", 50, 150, nil}),
			want:  "R:0-50 O:50-150", wantSelf: map[string]int64{"R": 100, "O": 100}},
		{name: "disjoint roots: a gap between them",
			spans: cpCraft(cpSpec{"R", "", 0, 40, nil}, cpSpec{"O", "missing", 60, 100, nil}),
			want:  "R:0-40 -:40-60 O:60-100", wantGap: 20, wantSelf: map[string]int64{"R": 40, "O": 40}},
		{name: "an orphan inside the root's time is not on the path",
			spans: cpCraft(cpSpec{"R", "", 0, 100, nil}, cpSpec{"O", "missing", 20, 60, nil}),
			want:  "R:0-100", wantSelf: map[string]int64{"R": 100, "O": 40}},
		{name: "the chain ending the trace is the one nearest the root",
			spans: cpCraft(cpSpec{"R", "", 0, 100, nil}, cpSpec{"A", "R", 50, 100, nil}, cpSpec{"B", "A", 60, 100, nil}),
			want:  "R:0-50 A:50-60 B:60-100", wantSelf: map[string]int64{"R": 50, "A": 10, "B": 40}},
		{name: "async work inside a followed chain is clipped to its own span",
			spans: cpCraft(cpSpec{"R", "", 0, 100, nil}, cpSpec{"A", "R", 10, 50, nil}, cpSpec{"X", "A", 40, 150, nil},
				cpSpec{"Y", "A", 20, 35, nil}, cpSpec{"Z", "Y", 30, 80, nil}),
			want:     "R:0-10 A:10-20 Y:20-30 Z:30-35 A:35-40 X:40-150",
			wantSelf: map[string]int64{"R": 60, "A": 15, "X": 110, "Y": 10, "Z": 50}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := NewTrace(tt.spans)
			p := tr.CriticalPath()
			if got := cpPathString(tr, p); got != tt.want {
				t.Errorf("path = %q, want %q", got, tt.want)
			}
			checkCriticalPath(t, tr, p)
			if got := cpByName(tr, p.SelfTime); fmt.Sprint(got) != fmt.Sprint(tt.wantSelf) {
				t.Errorf("SelfTime = %v, want %v", got, tt.wantSelf)
			}
			if p.Gap != tt.wantGap {
				t.Errorf("Gap = %d, want %d", p.Gap, tt.wantGap)
			}
			linked := map[string]string{}
			for i, j := range p.LinkParent {
				if j >= 0 {
					linked[tr.Spans[i].Name] = tr.Spans[j].Name
				}
			}
			if fmt.Sprint(linked) != fmt.Sprint(tt.wantLinkedTo) && (len(linked) > 0 || len(tt.wantLinkedTo) > 0) {
				t.Errorf("LinkParent = %v, want %v", linked, tt.wantLinkedTo)
			}
		})
	}
}

func TestCriticalPathEmpty(t *testing.T) {
	p := NewTrace(nil).CriticalPath()
	if len(p.Segments) != 0 || p.Duration() != 0 || len(p.SelfTime) != 0 {
		t.Errorf("empty trace: %+v", p)
	}
}

// checkCriticalPath checks what holds for every critical path: the segments are in
// order, non-empty, contiguous and tile [Start, End]; each lies within its
// span's interval; the contributions are the segments' sums and with the
// gaps make up the duration; the path ends in a span that ends the trace;
// no self time exceeds its span's duration. (A path ends in a gap only
// when a zero-duration span ends the trace.)
func checkCriticalPath(t *testing.T, tr *Trace, p CriticalPath) {
	t.Helper()
	contrib := make([]int64, tr.Len())
	var gap, sum int64
	at := p.Start
	for k, s := range p.Segments {
		if s.Start != at || s.End <= s.Start {
			t.Fatalf("segment %d %+v: want a non-empty one starting at %d", k, s, at)
		}
		at = s.End
		sum += s.End - s.Start
		if s.Span < 0 {
			gap += s.End - s.Start
			continue
		}
		sp := &tr.Spans[s.Span]
		if s.Start < sp.StartTime || s.End > sp.EndTime {
			t.Fatalf("segment %d %+v lies outside its span [%d, %d]", k, s, sp.StartTime, sp.EndTime)
		}
		contrib[s.Span] += s.End - s.Start
		if k > 0 && p.Segments[k-1].Span == s.Span {
			t.Errorf("segments %d and %d of one span are not merged", k-1, k)
		}
	}
	if len(p.Segments) > 0 && at != p.End {
		t.Fatalf("segments end at %d, want %d", at, p.End)
	}
	if sum != p.Duration() {
		t.Fatalf("segments sum to %d, want %d", sum, p.Duration())
	}
	if gap != p.Gap {
		t.Errorf("Gap = %d, segments say %d", p.Gap, gap)
	}
	for i := range contrib {
		if contrib[i] != p.Contribution[i] {
			t.Errorf("Contribution[%d] = %d, segments say %d", i, p.Contribution[i], contrib[i])
		}
		if d := max(tr.Spans[i].EndTime-tr.Spans[i].StartTime, 0); p.SelfTime[i] < 0 || p.SelfTime[i] > d {
			t.Errorf("SelfTime[%d] = %d, outside [0, %d]", i, p.SelfTime[i], d)
		}
	}
	if n := len(p.Segments); n > 0 {
		last := p.Segments[n-1]
		ends := func(i int) bool { return tr.Spans[i].EndTime == p.End }
		if last.Span >= 0 && !ends(int(last.Span)) ||
			last.Span < 0 && !slices.ContainsFunc(tr.Spans, func(s storage.Span) bool { return s.StartTime == p.End && s.EndTime <= p.End }) {
			t.Errorf("the path ends in %+v, not in a span that ends the trace at %d", last, p.End)
		}
	}
}
