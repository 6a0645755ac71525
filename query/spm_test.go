package query

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/memory"
)

// The SPM routes' shapes follow Jaeger's MetricFamily
// (internal/proto/metrics/openmetrics.proto in github.com/jaegertracing/jaeger)
// as gogo's jsonpb writes it, the labels of the Prometheus reader's
// translator (internal/storage/metricstore/prometheus/metricstore/dbmodel/
// to_domain.go), and the fields the Jaeger UI reads
// (packages/jaeger-ui/src/reducers/metrics.ts, types/metrics.ts); the
// values follow the PromQL of metricstore/reader.go.

// spmSpans is the data of the SPM tests: frontend server spans in two
// operations, frontend client spans, and backend server spans.
func spmSpans() []storage.Span {
	var spans []storage.Span
	n := 0
	add := func(service, op string, kind storage.SpanKind, at time.Time, d time.Duration, count, errs int) {
		for i := range count {
			st := storage.StatusOK
			if i < errs {
				st = storage.StatusError
			}
			n++
			spans = append(spans, trSpan(n, service, op, kind, at.Add(time.Duration(i)*time.Second), d+time.Duration(i)*time.Millisecond, st))
		}
	}
	add("frontend", "GET /a", storage.KindServer, trNow.Add(-10*time.Minute), 10*time.Millisecond, 30, 6)
	add("frontend", "GET /b", storage.KindServer, trNow.Add(-5*time.Minute), 100*time.Millisecond, 10, 0)
	add("frontend", "GET /a", storage.KindServer, trNow.Add(-42*time.Minute), 20*time.Millisecond, 4, 4)
	add("frontend", "db", storage.KindClient, trNow.Add(-5*time.Minute), 3*time.Millisecond, 5, 1)
	add("backend", "rpc", storage.KindServer, trNow.Add(-3*time.Minute), 50*time.Millisecond, 20, 2)
	return spans
}

// spmWant computes a point from the spans themselves, as the PromQL of
// Jaeger's Prometheus reader defines it over [t-ratePer, t): calls per
// second, errors/calls, and the nearest-rank quantile of the durations.
// ok is false when the window holds no span.
func spmWant(spans []storage.Span, keep func(*storage.Span) bool, t time.Time, ratePer time.Duration, quantile float64) (rate, errRate float64, q time.Duration, ok bool) {
	var durs []time.Duration
	errs := 0
	for i := range spans {
		s := &spans[i]
		if !keep(s) || s.StartTime < t.Add(-ratePer).UnixNano() || s.StartTime >= t.UnixNano() {
			continue
		}
		durs = append(durs, s.Duration())
		if s.StatusCode == storage.StatusError {
			errs++
		}
	}
	if len(durs) == 0 {
		return 0, 0, 0, false
	}
	slices.Sort(durs)
	rank := max(int(math.Ceil(quantile*float64(len(durs)))), 1)
	return float64(len(durs)) / ratePer.Seconds(), float64(errs) / float64(len(durs)), durs[rank-1], true
}

// spmFamily is the JSON of an SPM answer, decoded generically so that the
// test sees every key.
type spmFamily map[string]any

func (f spmFamily) metrics(t *testing.T) []map[string]any {
	t.Helper()
	ms, ok := f["metrics"].([]any)
	if !ok {
		t.Fatalf("metrics is %T, want an array", f["metrics"])
	}
	out := make([]map[string]any, len(ms))
	for i, m := range ms {
		out[i] = m.(map[string]any)
	}
	return out
}

// spmLabels returns a metric's labels as name=value strings, in order.
func spmLabels(m map[string]any) []string {
	var out []string
	for _, l := range m["labels"].([]any) {
		lm := l.(map[string]any)
		out = append(out, fmt.Sprint(lm["name"], "=", lm["value"]))
	}
	return out
}

type spmPoint struct {
	t     time.Time
	value any // float64, or the string "NaN"
}

// spmPoints checks every point's keys and returns its time and value.
func spmPoints(t *testing.T, m map[string]any) []spmPoint {
	t.Helper()
	raw, _ := m["metricPoints"].([]any)
	out := make([]spmPoint, len(raw))
	for i, p := range raw {
		pm := p.(map[string]any)
		if got := trKeys(t, pm); !slices.Equal(got, []string{"gaugeValue", "timestamp"}) {
			t.Fatalf("point keys %v, want gaugeValue, timestamp", got)
		}
		gv := pm["gaugeValue"]
		if got := trKeys(t, gv); !slices.Equal(got, []string{"doubleValue"}) {
			t.Fatalf("gaugeValue keys %v, want doubleValue", got)
		}
		ts, _ := pm["timestamp"].(string)
		tm, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil || !strings.HasSuffix(ts, "Z") {
			t.Fatalf("timestamp %q: want RFC 3339 in UTC (%v)", ts, err)
		}
		out[i] = spmPoint{t: tm, value: gv.(map[string]any)["doubleValue"]}
	}
	return out
}

func TestSPMShapeAndValues(t *testing.T) {
	f := newTrFixture(t, DefaultConfig())
	spans := spmSpans()
	f.write(t, spans...)
	end := trNow.UnixMilli()
	base := fmt.Sprintf("service=frontend&endTs=%d&lookback=3600000&step=60000&ratePer=600000", end)
	server := func(s *storage.Span) bool { return s.Service == "frontend" && s.Kind == storage.KindServer }

	tests := []struct {
		name, path, metric, help string
		value                    func(t *testing.T, at time.Time, v any)
	}{
		{"calls", "/api/metrics/calls?" + base, "service_call_rate", "calls/sec, grouped by service",
			func(t *testing.T, at time.Time, v any) {
				rate, _, _, ok := spmWant(spans, server, at, 10*time.Minute, 0)
				if !ok {
					rate = 0
				}
				if got, isNum := v.(float64); !isNum || math.Abs(got-rate) > 1e-12 {
					t.Errorf("calls at %s: %v, want %v", at, v, rate)
				}
			}},
		{"errors", "/api/metrics/errors?" + base, "service_error_rate", "error rate, computed as a fraction of errors/sec over calls/sec, grouped by service",
			func(t *testing.T, at time.Time, v any) {
				_, er, _, ok := spmWant(spans, server, at, 10*time.Minute, 0)
				if !ok {
					if v != "NaN" {
						t.Errorf("errors at %s without calls: %v, want \"NaN\"", at, v)
					}
					return
				}
				if got, isNum := v.(float64); !isNum || math.Abs(got-er) > 1e-12 {
					t.Errorf("errors at %s: %v, want %v", at, v, er)
				}
			}},
		{"latencies", "/api/metrics/latencies?quantile=0.95&" + base, "service_latencies", "0.95th quantile latency, grouped by service",
			func(t *testing.T, at time.Time, v any) {
				_, _, q, ok := spmWant(spans, server, at, 10*time.Minute, 0.95)
				if !ok {
					if v != "NaN" {
						t.Errorf("latency at %s without calls: %v, want \"NaN\"", at, v)
					}
					return
				}
				lo, hi := storage.LatencyBucketBounds(storage.LatencyBucket(q))
				got, isNum := v.(float64)
				if !isNum || got < durationMillis(lo) || got >= durationMillis(hi) {
					t.Errorf("p95 at %s: %v ms, want within the bucket of %s: [%v, %v) ms", at, v, q, durationMillis(lo), durationMillis(hi))
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var fam spmFamily
			f.getJSON(t, tc.path, 200, &fam)
			if got := trKeys(t, map[string]any(fam)); !slices.Equal(got, []string{"help", "metrics", "name", "type"}) {
				t.Fatalf("keys %v, want help, metrics, name, type", got)
			}
			if fam["name"] != tc.metric || fam["type"] != "GAUGE" || fam["help"] != tc.help {
				t.Errorf("name, type, help = %v, %v, %q", fam["name"], fam["type"], fam["help"])
			}
			ms := fam.metrics(t)
			if len(ms) != 1 {
				t.Fatalf("%d metrics, want 1", len(ms))
			}
			if got := trKeys(t, ms[0]); !slices.Equal(got, []string{"labels", "metricPoints"}) {
				t.Fatalf("metric keys %v", got)
			}
			if got := spmLabels(ms[0]); !slices.Equal(got, []string{"service_name=frontend"}) {
				t.Errorf("labels %v", got)
			}
			pts := spmPoints(t, ms[0])
			if len(pts) != 61 {
				t.Fatalf("%d points, want 61 (one a minute over the hour, both ends)", len(pts))
			}
			withData := 0
			for i, p := range pts {
				if want := trNow.Add(-time.Hour + time.Duration(i)*time.Minute); !p.t.Equal(want) {
					t.Fatalf("point %d at %s, want %s", i, p.t, want)
				}
				if _, _, _, ok := spmWant(spans, server, p.t, 10*time.Minute, 0); ok {
					withData++
				}
				tc.value(t, p.t, p.value)
			}
			if withData < 15 {
				t.Fatalf("only %d points cover spans: the data does not test the windows", withData)
			}
		})
	}
}

func TestSPMGroupByOperationAndKinds(t *testing.T) {
	f := newTrFixture(t, DefaultConfig())
	spans := spmSpans()
	f.write(t, spans...)
	end := trNow.UnixMilli()
	tests := []struct {
		name, query, metric string
		labels              [][]string
		keep                func(*storage.Span) bool
	}{
		{"by operation", "service=frontend&groupByOperation=true", "service_operation_call_rate",
			[][]string{{"service_name=frontend", "operation=GET /a"}, {"service_name=frontend", "operation=GET /b"}},
			func(s *storage.Span) bool { return s.Service == "frontend" && s.Kind == storage.KindServer }},
		{"client kind", "service=frontend&spanKind=client", "service_call_rate",
			[][]string{{"service_name=frontend"}},
			func(s *storage.Span) bool { return s.Service == "frontend" && s.Kind == storage.KindClient }},
		{"kind in capitals, as Jaeger's StringToProtoSpanKind", "service=frontend&spanKind=CLIENT", "service_call_rate",
			[][]string{{"service_name=frontend"}},
			func(s *storage.Span) bool { return s.Service == "frontend" && s.Kind == storage.KindClient }},
		{"two kinds", "service=frontend&spanKind=client&spanKind=server", "service_call_rate",
			[][]string{{"service_name=frontend"}},
			func(s *storage.Span) bool { return s.Service == "frontend" }},
		{"two services", "service=frontend&service=backend", "service_call_rate",
			[][]string{{"service_name=backend"}, {"service_name=frontend"}},
			func(s *storage.Span) bool { return s.Kind == storage.KindServer }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var fam spmFamily
			f.getJSON(t, fmt.Sprintf("/api/metrics/calls?%s&endTs=%d&lookback=1800000&step=120000&ratePer=300000", tc.query, end), 200, &fam)
			if fam["name"] != tc.metric {
				t.Errorf("name %v, want %s", fam["name"], tc.metric)
			}
			if strings.HasSuffix(tc.metric, "operation_call_rate") != strings.HasSuffix(fam["help"].(string), " & operation") {
				t.Errorf("help %q", fam["help"])
			}
			ms := fam.metrics(t)
			if len(ms) != len(tc.labels) {
				t.Fatalf("%d metrics, want %d", len(ms), len(tc.labels))
			}
			for i, m := range ms {
				labels := spmLabels(m)
				if !slices.Equal(labels, tc.labels[i]) {
					t.Errorf("metric %d labels %v, want %v", i, labels, tc.labels[i])
				}
				keep := func(s *storage.Span) bool {
					if !tc.keep(s) || "service_name="+s.Service != labels[0] {
						return false
					}
					return len(labels) == 1 || "operation="+s.Name == labels[1]
				}
				pts := spmPoints(t, m)
				if len(pts) != 16 { // 30 minutes at 2-minute steps, both ends
					t.Fatalf("%d points, want 16", len(pts))
				}
				sum := 0.0
				for _, p := range pts {
					want, _, _, _ := spmWant(spans, keep, p.t, 5*time.Minute, 0)
					if got := p.value.(float64); math.Abs(got-want) > 1e-12 {
						t.Errorf("%v at %s: %v, want %v", labels, p.t, got, want)
					}
					sum += want
				}
				if sum == 0 {
					t.Errorf("%v: no point covers a span", labels)
				}
			}
		})
	}
}

func TestSPMRounding(t *testing.T) {
	// Jaeger's default step is 5 s; Tracer's finest is a minute. Points
	// sit at multiples of the step since the epoch.
	f := newTrFixture(t, DefaultConfig())
	f.write(t, spmSpans()...)
	tests := []struct {
		name, query string
		first, last time.Time
		step        time.Duration
	}{
		{"defaults", "", trNow.Add(-time.Hour), trNow, time.Minute},
		{"step rounded up", "&step=90000&lookback=1800000", trNow.Add(-30 * time.Minute), trNow, 2 * time.Minute},
		{"end inside a minute", fmt.Sprintf("&endTs=%d&lookback=600000", trNow.Add(-90*time.Second).UnixMilli()),
			trNow.Add(-11 * time.Minute), trNow.Add(-2 * time.Minute), time.Minute},
		{"lookback under a step", "&lookback=1000&step=300000", trNow, trNow, 5 * time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var fam spmFamily
			f.getJSON(t, "/api/metrics/calls?service=frontend"+tc.query, 200, &fam)
			pts := spmPoints(t, fam.metrics(t)[0])
			if len(pts) == 0 || !pts[0].t.Equal(tc.first) || !pts[len(pts)-1].t.Equal(tc.last) {
				t.Fatalf("points %v .. %v, want %s .. %s", pts[0].t, pts[len(pts)-1].t, tc.first, tc.last)
			}
			for i := 1; i < len(pts); i++ {
				if d := pts[i].t.Sub(pts[i-1].t); d != tc.step {
					t.Fatalf("step %s between points %d and %d, want %s", d, i-1, i, tc.step)
				}
			}
		})
	}
}

func TestSPMEmpty(t *testing.T) {
	f := newTrFixture(t, DefaultConfig())
	f.write(t, spmSpans()...)
	for _, path := range []string{
		"/api/metrics/calls?service=nobody",
		"/api/metrics/errors?service=nobody",
		"/api/metrics/latencies?service=nobody&quantile=0.5",
		"/api/metrics/calls?service=frontend&spanKind=producer",
	} {
		t.Run(path, func(t *testing.T) {
			code, body, _ := f.get(t, path)
			if code != 200 {
				t.Fatalf("status %d: %s", code, body)
			}
			// The Prometheus reader's translator makes a non-nil slice,
			// which jsonpb writes as [].
			if !strings.Contains(string(body), `"metrics":[]`) {
				t.Errorf("body %s, want \"metrics\":[]", body)
			}
		})
	}
}

func TestSPMMinStep(t *testing.T) {
	f := newTrFixture(t, DefaultConfig())
	var got map[string]any
	f.getJSON(t, "/api/metrics/minstep", 200, &got)
	if got := trKeys(t, got); !slices.Equal(got, []string{"data", "errors", "limit", "offset", "total"}) {
		t.Errorf("keys %v", got)
	}
	if got["data"] != float64(storage.REDResolution.Milliseconds()) {
		t.Errorf("data %v, want %d", got["data"], storage.REDResolution.Milliseconds())
	}
}

func TestSPMBadParameters(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxLookback = 48 * time.Hour
	f := newTrFixture(t, cfg)
	tests := []struct {
		name, path, want string
	}{
		{"no service", "/api/metrics/calls", `parameter service="": want at least one service name`},
		{"empty service", "/api/metrics/calls?service=", `parameter service="": want a service name`},
		{"no quantile", "/api/metrics/latencies?service=a", `parameter quantile="": want a number from 0 to 1`},
		{"quantile over 1", "/api/metrics/latencies?service=a&quantile=1.5", `parameter quantile="1.5"`},
		{"quantile NaN", "/api/metrics/latencies?service=a&quantile=NaN", `parameter quantile="NaN"`},
		{"bad groupByOperation", "/api/metrics/calls?service=a&groupByOperation=maybe", `parameter groupByOperation="maybe": want true or false`},
		{"bad spanKind", "/api/metrics/calls?service=a&spanKind=sever", `parameter spanKind="sever"`},
		{"empty spanKind", "/api/metrics/calls?service=a&spanKind=", `parameter spanKind=""`},
		{"bad endTs", "/api/metrics/calls?service=a&endTs=now", `parameter endTs="now": want unix milliseconds`},
		{"negative endTs", "/api/metrics/calls?service=a&endTs=-1", `parameter endTs="-1"`},
		{"bad lookback", "/api/metrics/calls?service=a&lookback=1h", `parameter lookback="1h": want a positive number of milliseconds`},
		{"zero step", "/api/metrics/calls?service=a&step=0", `parameter step="0"`},
		{"bad ratePer", "/api/metrics/errors?service=a&ratePer=x", `parameter ratePer="x"`},
		{"lookback over the maximum", "/api/metrics/calls?service=a&lookback=172800001", `parameter lookback="172800001": want at most 172800000 milliseconds`},
		{"ratePer over the maximum", "/api/metrics/calls?service=a&ratePer=172800001", `parameter ratePer="172800001"`},
		{"step over the maximum", "/api/metrics/calls?service=a&step=172800001", `parameter step="172800001"`},
		{"step past a time.Duration", "/api/metrics/calls?service=a&step=9223372036854775", `parameter step="9223372036854775"`},
		{"endTs past 2255", "/api/metrics/calls?service=a&endTs=9000000000001", `parameter endTs="9000000000001"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got v1Response
			f.getJSON(t, tc.path, 400, &got)
			if len(got.Errors) != 1 || got.Errors[0].Code != 400 || !strings.Contains(got.Errors[0].Msg, tc.want) {
				t.Errorf("errors %+v, want code 400 and a message containing %q", got.Errors, tc.want)
			}
			if strings.Contains(got.Errors[0].Msg, "strconv") {
				t.Errorf("message %q shows Go's parser text", got.Errors[0].Msg)
			}
		})
	}
}

func TestSPMLimits(t *testing.T) {
	t.Run("storage points", func(t *testing.T) {
		f := newTrFixture(t, DefaultConfig(), trREDLimit(2))
		f.write(t, spmSpans()...)
		var got v1Response
		f.getJSON(t, "/api/metrics/calls?service=frontend&service=backend&groupByOperation=true&lookback=3600000&step=60000&ratePer=60000", 400, &got)
		if len(got.Errors) != 1 || !strings.Contains(got.Errors[0].Msg, "invalid query") {
			t.Errorf("errors %+v, want the reader's invalid query", got.Errors)
		}
	})
	t.Run("answer points", func(t *testing.T) {
		f := newTrFixture(t, DefaultConfig())
		var services url.Values = url.Values{}
		for i := range 12 {
			svc := fmt.Sprintf("svc-%02d", i)
			services.Add("service", svc)
			f.write(t, trSpan(1000+i, svc, "op", storage.KindServer, trNow.Add(-time.Hour), time.Millisecond, storage.StatusOK))
		}
		// 12 series of 44,641 points (31 days at one-minute steps).
		var got v1Response
		f.getJSON(t, "/api/metrics/calls?"+services.Encode()+"&lookback=2678400000&step=60000", 400, &got)
		if len(got.Errors) != 1 || !strings.Contains(got.Errors[0].Msg, "535692 points, more than 500000") {
			t.Errorf("errors %+v", got.Errors)
		}
	})
}

// TestSPMJSONExact checks the bytes of a small answer: jsonpb's field
// order, "NaN", a doubleValue of 0 written (a oneof), whole-second
// timestamps without a fraction.
func TestSPMJSONExact(t *testing.T) {
	fam := spmFamilyJSON{name: "service_error_rate", help: "h",
		times: []time.Time{trNow, trNow.Add(time.Minute + 10*time.Millisecond)},
		metrics: []spmSeriesJSON{{
			service: "a", operation: "op", byOp: true,
			values: []float64{spmNaN, 0},
		}, {service: "b"}}}
	got := string(fam.appendJSON(nil))
	want := `{"name":"service_error_rate","type":"GAUGE","help":"h","metrics":[` +
		`{"labels":[{"name":"service_name","value":"a"},{"name":"operation","value":"op"}],"metricPoints":[` +
		`{"gaugeValue":{"doubleValue":"NaN"},"timestamp":"2026-12-01T12:00:00Z"},` +
		`{"gaugeValue":{"doubleValue":0},"timestamp":"2026-12-01T12:01:00.010Z"}]},` +
		`{"labels":[{"name":"service_name","value":"b"}]}]}` + "\n"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	var v any
	if err := json.Unmarshal([]byte(got), &v); err != nil {
		t.Errorf("not JSON: %v", err)
	}
}

// BenchmarkSPM measures /api/metrics/latencies as the Jaeger UI asks for
// it (48 hours, one-minute steps, a ten-minute window, by operation) over
// 20 operations with a span a minute each, and the RED call alone: the
// difference is the route's own cost.
func BenchmarkSPM(b *testing.B) {
	st := memory.New()
	defer st.Close()
	api, err := New(st, DefaultConfig(), nil, WithClock(func() time.Time { return trNow }))
	if err != nil {
		b.Fatal(err)
	}
	h := api.Handler()
	var spans []storage.Span
	for op := range 20 {
		for m := range 48 * 60 {
			s := trSpan(op*10_000+m, "frontend", fmt.Sprintf("op-%02d", op), storage.KindServer,
				trNow.Add(-time.Duration(m)*time.Minute), time.Duration(1+m%50)*time.Millisecond, storage.StatusCode(m%3))
			s.TraceID[1] = byte(op)
			spans = append(spans, s)
		}
	}
	if err := st.WriteSpans(b.Context(), spans); err != nil {
		b.Fatal(err)
	}
	path := fmt.Sprintf("/api/metrics/latencies?service=frontend&quantile=0.95&groupByOperation=true&endTs=%d&lookback=%d&step=60000&ratePer=600000",
		trNow.UnixMilli(), (48 * time.Hour).Milliseconds())
	b.Run("route", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
			if rec.Code != 200 {
				b.Fatal(rec.Code, rec.Body.String())
			}
		}
	})
	b.Run("RED", func(b *testing.B) {
		b.ReportAllocs()
		q := storage.REDQuery{Services: []string{"frontend"}, Kinds: []storage.SpanKind{storage.KindServer}, GroupByOperation: true,
			Start: trNow.Add(-48*time.Hour - 10*time.Minute), End: trNow, Step: time.Minute}
		for b.Loop() {
			if _, err := st.RED(b.Context(), q); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestSPMJaegerUIRequests makes the eight requests of the Jaeger UI's
// Monitor tab (packages/jaeger-ui/src/actions/jaeger-api.ts:
// fetchAllServiceMetrics and fetchAggregatedServiceMetrics, with the
// payload of components/Monitor/ServicesView/index.tsx, written by
// api/jaeger.ts's fetchMetrics with query-string's sorted keys) and reads
// the answers as reducers/metrics.ts does.
func TestSPMJaegerUIRequests(t *testing.T) {
	f := newTrFixture(t, DefaultConfig())
	f.write(t, spmSpans()...)
	payload := fmt.Sprintf("endTs=%d&lookback=3600000&quantile=0.95&ratePer=600000&spanKind=server&step=60000", trNow.UnixMilli())
	tests := []struct {
		path, name string
		byOp       bool
	}{
		{"latencies?service=frontend&" + strings.Replace(payload, "quantile=0.95", "quantile=0.5", 1), "service_latencies", false},
		{"latencies?service=frontend&" + strings.Replace(payload, "quantile=0.95", "quantile=0.75", 1), "service_latencies", false},
		{"latencies?service=frontend&" + payload, "service_latencies", false},
		{"calls?service=frontend&" + payload, "service_call_rate", false},
		{"errors?service=frontend&" + payload, "service_error_rate", false},
		{"latencies?service=frontend&groupByOperation=true&" + payload, "service_operation_latencies", true},
		{"calls?service=frontend&groupByOperation=true&" + payload, "service_operation_call_rate", true},
		{"errors?service=frontend&groupByOperation=true&" + payload, "service_operation_error_rate", true},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			var fam spmFamily
			f.getJSON(t, "/api/metrics/"+tc.path, 200, &fam)
			if fam["name"] != tc.name {
				t.Fatalf("name %v, want %s (the reducer keys on it)", fam["name"], tc.name)
			}
			ms := fam.metrics(t)
			if len(ms) == 0 {
				t.Fatal("no metrics")
			}
			// fetchServiceMetricsDone: metrics[0].labels[0].value is the
			// service; fetchOpsMetricsDone: the label named operation.
			if l := ms[0]["labels"].([]any)[0].(map[string]any); l["value"] != "frontend" {
				t.Errorf("labels[0] %v, want the service", l)
			}
			numbers := 0
			for _, m := range ms {
				op := ""
				for _, l := range m["labels"].([]any) {
					if lm := l.(map[string]any); lm["name"] == "operation" {
						op = lm["value"].(string)
					}
				}
				if (op != "") != tc.byOp {
					t.Errorf("operation label %q with groupByOperation %v", op, tc.byOp)
				}
				for _, p := range spmPoints(t, m) {
					switch v := p.value.(type) {
					case float64: // toFixed(2) works on it
						numbers++
					case string: // toFixed throws: a gap
						if v != "NaN" {
							t.Errorf("doubleValue %q", v)
						}
					default:
						t.Errorf("doubleValue %v (%T)", v, v)
					}
				}
			}
			if numbers == 0 {
				t.Errorf("no point has a number")
			}
		})
	}
}
