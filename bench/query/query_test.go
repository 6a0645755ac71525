package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/memory"
)

// TestBench loads a small data set into the memory store and runs every
// kind a few times: each must run without error, find results, and get the
// same count through the API as from storage.
func TestBench(t *testing.T) {
	ctx := context.Background()
	s := memory.New()
	defer s.Close()
	lo := loadOptions{spans: 20_000, perTrace: 10, extraAttrs: len(extraAttrs), batch: 3000, hours: 24 * time.Hour, seed: 1}
	if _, err := load(ctx, s, lo, time.Now().Add(-time.Minute), io.Discard); err != nil {
		t.Fatalf("load: %v", err)
	}
	o := benchOptions{hours: 24 * time.Hour, runs: 4, limit: 20, seed: 2}
	results, err := bench(ctx, s, o, slog.New(slog.DiscardHandler), io.Discard)
	if err != nil {
		t.Fatalf("bench: %v", err)
	}
	if got, want := len(results), 12; got != want {
		t.Fatalf("got %d kinds, want %d", got, want)
	}
	for _, r := range results {
		t.Run(r.kind, func(t *testing.T) {
			if r.err != nil {
				t.Fatalf("error: %v", r.err)
			}
			want := o.runs
			if r.budget == budgetDeps || strings.HasPrefix(r.kind, "RED") {
				want = heavyRuns(o.runs)
			}
			if len(r.store) != want || len(r.api) != want {
				t.Errorf("got %d storage and %d API runs, want %d", len(r.store), len(r.api), want)
			}
			if r.results == 0 {
				t.Error("no results in any run")
			}
			if r.mismatches != 0 {
				t.Errorf("%d mismatches, first: %s", r.mismatches, r.mismatch)
			}
		})
	}
	var out bytes.Buffer
	printTable(&out, results)
	for _, r := range results {
		if !strings.Contains(out.String(), r.kind) {
			t.Errorf("table without %q:\n%s", r.kind, out.String())
		}
	}
}

// recorder is a storage.Writer that keeps what it is given.
type recorder struct{ spans []storage.Span }

func (w *recorder) WriteSpans(ctx context.Context, spans []storage.Span) error {
	w.spans = append(w.spans, spans...)
	return nil
}

func TestLoad(t *testing.T) {
	tests := []struct {
		name string
		o    loadOptions
	}{
		{"default shape", loadOptions{spans: 5000, perTrace: 10, extraAttrs: len(extraAttrs), batch: 1000, hours: 24 * time.Hour, seed: 1}},
		{"generator's attributes only", loadOptions{spans: 999, perTrace: 3, extraAttrs: 0, batch: 100, hours: 2 * time.Hour, seed: 2}},
		{"one span per trace", loadOptions{spans: 10, perTrace: 1, extraAttrs: 1, batch: 7, hours: time.Hour, seed: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w recorder
			end := time.Now()
			st, err := load(context.Background(), &w, tt.o, end, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := len(w.spans), tt.o.spans; got != want || st.spans != want {
				t.Fatalf("got %d spans written (%d reported), want %d", got, st.spans, want)
			}
			sizes := make(map[storage.TraceID]int)
			byID := make(map[storage.SpanID]*storage.Span)
			for i := range w.spans {
				sizes[w.spans[i].TraceID]++
				byID[w.spans[i].SpanID] = &w.spans[i]
			}
			if st.traces != len(sizes) {
				t.Errorf("got %d traces reported, %d written", st.traces, len(sizes))
			}
			crossService := 0
			for i := range w.spans {
				sp := &w.spans[i]
				if sp.StartTime < end.Add(-tt.o.hours).UnixNano() || sp.StartTime > end.Add(time.Second).UnixNano() {
					t.Fatalf("span starts at %s, outside [%s, %s]", time.Unix(0, sp.StartTime), end.Add(-tt.o.hours), end)
				}
				if got, want := len(sp.Attributes), 5+tt.o.extraAttrs; got != want {
					t.Fatalf("span has %d attributes, want %d", got, want)
				}
				if n := sizes[sp.TraceID]; n > 2*tt.o.perTrace-1 {
					t.Fatalf("trace of %d spans, want at most %d", n, 2*tt.o.perTrace-1)
				}
				if p, ok := byID[sp.ParentSpanID]; ok && p.Service != sp.Service {
					crossService++
				}
			}
			if tt.o.perTrace > 1 && crossService == 0 {
				t.Error("no parent and child in different services: no dependencies")
			}
		})
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // in the error; "" for none
	}{
		{"defaults", nil, ""},
		{"clickhouse", []string{"-backend", "clickhouse", "-spans", "10000000"}, ""},
		{"unknown backend", []string{"-backend", "cassandra"}, `-backend "cassandra"`},
		{"skip-load badger without dir", []string{"-skip-load"}, "-skip-load needs -dir"},
		{"skip-load memory", []string{"-backend", "memory", "-skip-load"}, "keeps nothing"},
		{"no spans", []string{"-spans", "0"}, "-spans 0"},
		{"no runs", []string{"-runs", "0"}, "-runs 0"},
		{"short range", []string{"-window", "10m"}, "-window 10m0s"},
		{"too many extra attributes", []string{"-extra-attrs", "99"}, "-extra-attrs 99"},
		{"stray argument", []string{"x"}, "unexpected arguments"},
		{"bad flag", []string{"-nope"}, "not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parse(tt.args, io.Discard)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("got error %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("got error %v, want one containing %q", err, tt.want)
			case tt.want == "" && o.load.batch == 0:
				t.Fatal("batch size not defaulted")
			}
		})
	}
}

func TestAnswerCount(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		body    string
		count   func([]byte) (int, error)
		stored  int
		want    int
		wantErr string
	}{
		{"v1 traces", http.StatusOK, `{"data":[{"spans":[{},{}]},{"spans":[{}]}],"total":2}`, countV1Traces, 2, 2, ""},
		{"v1 spans", http.StatusOK, `{"data":[{"spans":[{},{}]},{"spans":[{}]}]}`, countV1Spans, 3, 3, ""},
		{"v3 traces", http.StatusOK, `{"result":{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"a"},{"traceId":"b"}]}]},{"scopeSpans":[{"spans":[{"traceId":"a"}]}]}]}}`, countV3Traces, 2, 2, ""},
		{"v3 spans", http.StatusOK, `{"result":{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"a"},{"traceId":"b"}]}]}]}}`, countV3Spans, 2, 2, ""},
		{"v3 summaries", http.StatusOK, `{"summaries":[{},{}]}`, countV3Summaries, 2, 2, ""},
		{"v3 summaries missing", http.StatusOK, `{"traces":[]}`, countV3Summaries, 0, 0, "no \"summaries\""},
		{"tracer summaries", http.StatusOK, `{"traces":[{}]}`, countTracerSummaries, 1, 1, ""},
		{"tracer RED", http.StatusOK, `{"stepNano":60000000000,"series":[]}`, countTracerRED, 0, 0, ""},
		{"metrics", http.StatusOK, `{"name":"service_latencies","metrics":[{},{},{}]}`, countSPMSeries, 3, 3, ""},
		{"empty v3 search", http.StatusNotFound, `{"error":{"httpCode":404}}`, countV3Traces, 0, 0, ""},
		{"missing route", http.StatusNotFound, "404 page not found", countV3Traces, 3, 0, "status 404: 404 page not found"},
		{"server error", http.StatusInternalServerError, `{"errors":[{"code":500,"msg":"boom"}]}`, countV1Traces, 1, 0, "status 500: {\"errors\""},
		{"not JSON", http.StatusOK, `<html>`, countV1Traces, 1, 0, "decode the answer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := answerCount(tt.status, []byte(tt.body), tt.count, tt.stored)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %d, %v; want %d", got, err, tt.want)
			}
		})
	}
}

func TestQuantile(t *testing.T) {
	d := make([]time.Duration, 200)
	for i := range d {
		d[i] = time.Duration(i + 1)
	}
	for _, tt := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 100}, {0.99, 198}, {1, 200}, {0, 1}} {
		if got := quantile(d, tt.q); got != tt.want {
			t.Errorf("quantile(%v) = %d, want %d", tt.q, got, tt.want)
		}
	}
	if got := quantile(nil, 0.5); got != 0 {
		t.Errorf("quantile of nothing = %d", got)
	}
}

// TestOpenRefusesLoadedStore: loading into a directory that holds data
// would mix two data sets; open says so (and cleans up after itself).
func TestOpenRefusesLoadedStore(t *testing.T) {
	dir := t.TempDir()
	o, err := parse([]string{"-dir", dir, "-spans", "100"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	s, _, closeStore, err := open(context.Background(), o, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("open an empty dir: %v", err)
	}
	if _, err := load(context.Background(), s, o.load, time.Now(), io.Discard); err != nil {
		t.Fatal(err)
	}
	closeStore()
	if _, _, _, err := open(context.Background(), o, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "is not empty") {
		t.Fatalf("open a loaded dir: got %v, want an error saying it is not empty", err)
	}
	o.skipLoad = true
	s, _, closeStore, err = open(context.Background(), o, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("open a loaded dir with -skip-load: %v", err)
	}
	defer closeStore()
	smp, err := sampleStore(context.Background(), s, o.bench.hours)
	if err != nil {
		t.Fatalf("sample the loaded store: %v", err)
	}
	if len(smp.ids) == 0 || len(smp.services) == 0 {
		t.Fatalf("sampled %d trace ids and %d services", len(smp.ids), len(smp.services))
	}
}
