package storage_test

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/tracerdev/tracer/storage"
)

func span(id, parent byte, svc, name string, start, end int64, status storage.StatusCode) storage.Span {
	sp := storage.Span{
		TraceID: storage.TraceID{1}, SpanID: storage.SpanID{id}, Service: svc, Name: name,
		StartTime: start, EndTime: end, StatusCode: status,
	}
	if parent != 0 {
		sp.ParentSpanID = storage.SpanID{parent}
	}
	return sp
}

func TestSummarize(t *testing.T) {
	id := storage.TraceID{1}
	unset, errc := storage.StatusUnset, storage.StatusError
	tests := []struct {
		name  string
		spans []storage.Span
		want  storage.TraceSummary
	}{
		{
			name: "one root",
			spans: []storage.Span{
				span(2, 1, "back", "get", 110, 150, errc),
				span(1, 0, "front", "GET /", 100, 200, unset),
				span(3, 2, "db", "query", 120, 130, errc),
				span(4, 2, "back", "cache", 140, 145, storage.StatusOK),
			},
			want: storage.TraceSummary{ID: id, RootService: "front", RootName: "GET /", HasRoot: true, Start: 100, End: 200, SpanCount: 4, ErrorCount: 2,
				Services: []storage.ServiceSummary{{Service: "back", SpanCount: 2, ErrorCount: 1}, {Service: "db", SpanCount: 1, ErrorCount: 1}, {Service: "front", SpanCount: 1}}},
		},
		{
			name: "root starts after its child",
			spans: []storage.Span{
				span(2, 1, "back", "early child", 90, 300, unset),
				span(1, 0, "front", "GET /", 100, 200, unset),
			},
			want: storage.TraceSummary{ID: id, RootService: "front", RootName: "GET /", HasRoot: true, Start: 90, End: 300, SpanCount: 2,
				Services: []storage.ServiceSummary{{Service: "back", SpanCount: 1}, {Service: "front", SpanCount: 1}}},
		},
		{
			name: "earliest of several roots",
			spans: []storage.Span{
				span(1, 0, "a", "late root", 300, 310, unset),
				span(3, 2, "c", "child", 50, 60, unset),
				span(2, 0, "b", "early root", 200, 400, unset),
				span(4, 0, "a", "later root", 350, 360, unset),
			},
			want: storage.TraceSummary{ID: id, RootService: "b", RootName: "early root", HasRoot: true, Start: 50, End: 400, SpanCount: 4,
				Services: []storage.ServiceSummary{{Service: "a", SpanCount: 2}, {Service: "b", SpanCount: 1}, {Service: "c", SpanCount: 1}}},
		},
		{
			name: "no root stored",
			spans: []storage.Span{
				span(3, 9, "mid", "later", 130, 140, unset),
				span(2, 9, "first", "earliest", 110, 500, errc),
				span(4, 2, "mid", "last", 150, 160, unset),
			},
			want: storage.TraceSummary{ID: id, RootService: "first", RootName: "earliest", HasRoot: false, Start: 110, End: 500, SpanCount: 3, ErrorCount: 1,
				Services: []storage.ServiceSummary{{Service: "first", SpanCount: 1, ErrorCount: 1}, {Service: "mid", SpanCount: 2}}},
		},
		{
			name:  "one span",
			spans: []storage.Span{span(5, 4, "solo", "op", 10, 20, unset)},
			want: storage.TraceSummary{ID: id, RootService: "solo", RootName: "op", Start: 10, End: 20, SpanCount: 1,
				Services: []storage.ServiceSummary{{Service: "solo", SpanCount: 1}}},
		},
	}
	r := rand.New(rand.NewPCG(7, 8))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := storage.Summarize(id, tt.spans)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Summarize =\n%+v\nwant\n%+v", got, tt.want)
			}
			if d := got.Duration(); d != time.Duration(tt.want.End-tt.want.Start) {
				t.Errorf("Duration = %s", d)
			}
			// In any order, the same summary.
			for range 10 {
				spans := append([]storage.Span(nil), tt.spans...)
				r.Shuffle(len(spans), func(i, j int) { spans[i], spans[j] = spans[j], spans[i] })
				if got := storage.Summarize(id, spans); !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("Summarize of the spans shuffled =\n%+v\nwant\n%+v", got, tt.want)
				}
			}
		})
	}
	t.Run("none", func(t *testing.T) {
		got := storage.Summarize(id, nil)
		if got.ID != id || got.SpanCount != 0 || got.HasRoot || len(got.Services) != 0 {
			t.Errorf("Summarize of no spans = %+v", got)
		}
	})
}

func TestSummaryBuilderReset(t *testing.T) {
	var b storage.SummaryBuilder
	b.Reset(storage.TraceID{1})
	for _, sp := range []storage.Span{span(1, 0, "a", "root", 10, 20, storage.StatusError), span(2, 1, "b", "x", 11, 12, storage.StatusUnset)} {
		b.Add(&sp)
	}
	first := b.Summary()
	// A second trace with the same builder: nothing of the first remains.
	b.Reset(storage.TraceID{2})
	sp := span(7, 6, "c", "orphan", 500, 600, storage.StatusUnset)
	b.Add(&sp)
	want := storage.TraceSummary{ID: storage.TraceID{2}, RootService: "c", RootName: "orphan", Start: 500, End: 600, SpanCount: 1,
		Services: []storage.ServiceSummary{{Service: "c", SpanCount: 1}}}
	if got := b.Summary(); !reflect.DeepEqual(got, want) {
		t.Errorf("after Reset:\n%+v\nwant\n%+v", got, want)
	}
	// The first summary is its own.
	if first.SpanCount != 2 || first.ErrorCount != 1 || len(first.Services) != 2 || first.Services[0] != (storage.ServiceSummary{Service: "a", SpanCount: 1, ErrorCount: 1}) {
		t.Errorf("first summary changed by the builder's reuse: %+v", first)
	}
}

func TestStatusFilter(t *testing.T) {
	codes := []storage.StatusCode{storage.StatusUnset, storage.StatusOK, storage.StatusError}
	tests := []struct {
		text string
		f    storage.StatusFilter
		pass []bool // for codes
	}{
		{"", storage.AnyStatus, []bool{true, true, true}},
		{"unset", storage.OnlyUnset, []bool{true, false, false}},
		{"ok", storage.OnlyOK, []bool{false, true, false}},
		{"error", storage.OnlyError, []bool{false, false, true}},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			f, err := storage.ParseStatusFilter(tt.text)
			if err != nil || f != tt.f {
				t.Fatalf("ParseStatusFilter(%q) = %v, %v; want %v", tt.text, f, err, tt.f)
			}
			for i, c := range codes {
				if got := f.Matches(c); got != tt.pass[i] {
					t.Errorf("%v.Matches(%v) = %v, want %v", f, c, got, tt.pass[i])
				}
			}
		})
	}
	for _, bad := range []string{"ERROR", "Ok", "2", "failed", " error", "any"} {
		if f, err := storage.ParseStatusFilter(bad); err == nil {
			t.Errorf("ParseStatusFilter(%q) = %v, want an error", bad, f)
		}
	}
	var zero storage.StatusFilter
	if zero != storage.AnyStatus {
		t.Error("the zero StatusFilter is not AnyStatus")
	}
}

func TestREDQueryValidate(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	end := start.Add(time.Hour)
	tests := []struct {
		name string
		q    storage.REDQuery
		ok   bool
	}{
		{"minute", storage.REDQuery{Start: start, End: end, Step: time.Minute}, true},
		{"hour", storage.REDQuery{Start: start, End: end, Step: time.Hour}, true},
		{"step longer than range", storage.REDQuery{Start: start, End: end, Step: 24 * time.Hour}, true},
		{"no step", storage.REDQuery{Start: start, End: end}, false},
		{"negative step", storage.REDQuery{Start: start, End: end, Step: -time.Minute}, false},
		{"step under resolution", storage.REDQuery{Start: start, End: end, Step: time.Second}, false},
		{"step not a multiple", storage.REDQuery{Start: start, End: end, Step: 90 * time.Second}, false},
		{"no start", storage.REDQuery{End: end, Step: time.Minute}, false},
		{"no end", storage.REDQuery{Start: start, Step: time.Minute}, false},
		{"empty range", storage.REDQuery{Start: start, End: start, Step: time.Minute}, false},
		{"inverted range", storage.REDQuery{Start: end, End: start, Step: time.Minute}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.q.Validate()
			if tt.ok && err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if !tt.ok && !errors.Is(err, storage.ErrInvalidQuery) {
				t.Fatalf("Validate: err = %v, want ErrInvalidQuery", err)
			}
		})
	}
}

func TestREDQueryMatches(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	end := start.Add(time.Hour)
	sp := storage.Span{Service: "api", Name: "GET /", Kind: storage.KindServer, StartTime: start.Add(time.Minute).UnixNano()}
	at := func(d time.Duration) storage.Span { s := sp; s.StartTime = start.Add(d).UnixNano(); return s }
	tests := []struct {
		name string
		q    storage.REDQuery
		sp   storage.Span
		want bool
	}{
		{"no filter", storage.REDQuery{}, sp, true},
		{"at start", storage.REDQuery{}, at(0), true},
		{"before start", storage.REDQuery{}, at(-1), false},
		{"just before end", storage.REDQuery{}, at(time.Hour - 1), true},
		{"at end", storage.REDQuery{}, at(time.Hour), false},
		{"service", storage.REDQuery{Services: []string{"db", "api"}}, sp, true},
		{"other service", storage.REDQuery{Services: []string{"db"}}, sp, false},
		{"kind", storage.REDQuery{Kinds: []storage.SpanKind{storage.KindClient, storage.KindServer}}, sp, true},
		{"other kind", storage.REDQuery{Kinds: []storage.SpanKind{storage.KindClient}}, sp, false},
		{"operation", storage.REDQuery{Operation: "GET /"}, sp, true},
		{"other operation", storage.REDQuery{Operation: "GET"}, sp, false},
		{"grouping filters nothing", storage.REDQuery{GroupByOperation: true}, sp, true},
		{"all", storage.REDQuery{Services: []string{"api"}, Kinds: []storage.SpanKind{storage.KindServer}, Operation: "GET /"}, sp, true},
		{"all but one", storage.REDQuery{Services: []string{"api"}, Kinds: []storage.SpanKind{storage.KindServer}, Operation: "POST /"}, sp, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := tt.q
			q.Start, q.End, q.Step = start, end, time.Minute
			if got := q.Matches(&tt.sp); got != tt.want {
				t.Errorf("Matches = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestREDQueryPointTime(t *testing.T) {
	m := int64(time.Minute)
	tests := []struct {
		step        time.Duration
		start, want int64
	}{
		{time.Minute, 0, 0},
		{time.Minute, 1, 0},
		{time.Minute, m - 1, 0},
		{time.Minute, m, m},
		{5 * time.Minute, 7 * m, 5 * m},
		{5 * time.Minute, 10*m + 3, 10 * m},
		{time.Hour, 1_700_000_123 * int64(time.Second), 1_699_999_200 * int64(time.Second)},
		{24 * time.Hour, 1_700_000_123 * int64(time.Second), 1_699_920_000 * int64(time.Second)},
		// Before the epoch, still the multiple at or before.
		{time.Minute, -1, -m},
		{time.Minute, -m, -m},
		{time.Minute, -m - 1, -2 * m},
	}
	for _, tt := range tests {
		q := storage.REDQuery{Step: tt.step}
		if got := q.PointTime(tt.start); got != tt.want {
			t.Errorf("PointTime(%d) with step %s = %d, want %d", tt.start, tt.step, got, tt.want)
		}
	}
}
