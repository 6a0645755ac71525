package query

import (
	"encoding/binary"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/tracerdev/tracer/storage"
)

// anomalyData is seven hours of traffic up to trNow, 25 requests a minute:
// api "GET /" (about 10ms) calls db "select". In the last 30 minutes api
// also calls cache "get"; in the last 20, "GET /" is three times as slow
// and every select fails.
func anomalyData() []storage.Span {
	var spans []storage.Span
	var n uint64
	span := func(tid storage.TraceID, parent storage.SpanID, service, name string, start time.Time, d time.Duration, status storage.StatusCode) storage.Span {
		n++
		var sid storage.SpanID
		binary.BigEndian.PutUint64(sid[:], n)
		return storage.Span{
			TraceID: tid, SpanID: sid, ParentSpanID: parent, Service: service, Name: name, Kind: storage.KindServer,
			StartTime: start.UnixNano(), EndTime: start.Add(d).UnixNano(), StatusCode: status,
			Resource: []storage.Attribute{{Key: "service.name", Value: service}},
		}
	}
	from := trNow.Add(-7 * time.Hour)
	for m := range 7 * 60 {
		minute := from.Add(time.Duration(m) * time.Minute)
		late := trNow.Sub(minute)
		for i := range 25 {
			var tid storage.TraceID
			binary.BigEndian.PutUint64(tid[:8], uint64(m+1))
			binary.BigEndian.PutUint64(tid[8:], uint64(i+1))
			start := minute.Add(time.Duration(i) * 2 * time.Second)
			d := 10*time.Millisecond + time.Duration((m*7+i*13)%11)*200*time.Microsecond
			status := storage.StatusOK
			if late <= 20*time.Minute {
				d *= 3
				status = storage.StatusError
			}
			root := span(tid, storage.SpanID{}, "api", "GET /", start, d, storage.StatusOK)
			spans = append(spans, root, span(tid, root.SpanID, "db", "select", start.Add(time.Millisecond), time.Millisecond, status))
			if late <= 30*time.Minute {
				spans = append(spans, span(tid, root.SpanID, "cache", "get", start.Add(2*time.Millisecond), time.Millisecond, storage.StatusOK))
			}
		}
	}
	return spans
}

type anomalyAnswer struct {
	Start     string `json:"startTimeUnixNano"`
	End       string `json:"endTimeUnixNano"`
	BaseStart string `json:"baselineStartTimeUnixNano"`
	Step      int64  `json:"stepNano"`
	Anomalies []struct {
		Kind      string `json:"kind"`
		Service   string `json:"service"`
		Operation string `json:"operation"`
		Edge      *struct {
			ParentService   string `json:"parentService"`
			ParentOperation string `json:"parentOperation"`
			ChildService    string `json:"childService"`
			ChildOperation  string `json:"childOperation"`
		} `json:"edge"`
		Since    string   `json:"sinceUnixNano"`
		Last     string   `json:"lastUnixNano"`
		Score    float64  `json:"score"`
		Baseline float64  `json:"baseline"`
		Current  float64  `json:"current"`
		Unit     string   `json:"unit"`
		Count    uint64   `json:"count"`
		Examples []string `json:"examples"`
	} `json:"anomalies"`
}

func TestTracerAnomalies(t *testing.T) {
	f := newTrFixture(t, DefaultConfig())
	spans := anomalyData()
	f.write(t, spans...)
	stored := map[string]bool{}
	for i := range spans {
		stored[spans[i].TraceID.String()] = true
	}
	ns := func(tm time.Time) string { return strconv.FormatInt(tm.UnixNano(), 10) }
	tests := []struct {
		name, query string
		want        []string // kind where, sorted
		examples    bool     // every anomaly but service edges has examples
	}{
		{"defaults", "", []string{
			"error-path api/GET /", "error-path db/select", "errors db/select",
			"latency api/GET /", "new-edge api/ → cache/", "new-edge api/GET / → cache/get",
		}, true},
		{"one service", "service=db", []string{"error-path db/select", "errors db/select"}, true},
		{"no sample", "sample=0", []string{"errors db/select", "latency api/GET /", "new-edge api/ → cache/"}, false},
		{"a window before the changes", "end=" + ns(trNow.Add(-40*time.Minute)), nil, true},
		{"a five-minute step", "step=5m", []string{
			"error-path api/GET /", "error-path db/select", "errors db/select",
			"latency api/GET /", "new-edge api/ → cache/", "new-edge api/GET / → cache/get",
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got anomalyAnswer
			f.getJSON(t, "/api/tracer/anomalies?"+tt.query, 200, &got)
			if got.Anomalies == nil {
				t.Fatal("anomalies is null, want an array")
			}
			var where []string
			for _, a := range got.Anomalies {
				w := a.Kind + " " + a.Service + "/" + a.Operation
				if a.Edge != nil {
					w += " → " + a.Edge.ChildService + "/" + a.Edge.ChildOperation
				}
				where = append(where, w)
				if a.Examples == nil {
					t.Errorf("%s: examples null", w)
				}
				serviceEdge := a.Edge != nil && a.Edge.ParentOperation == ""
				if tt.examples && !serviceEdge && len(a.Examples) == 0 {
					t.Errorf("%s: no examples", w)
				}
				for _, id := range a.Examples {
					if !stored[id] {
						t.Errorf("%s: example %s is no stored trace", w, id)
					}
				}
				if a.Score < 4 && a.Score > -4 {
					t.Errorf("%s: score %v under the threshold", w, a.Score)
				}
			}
			slices.Sort(where)
			if !slices.Equal(where, tt.want) {
				t.Fatalf("got %q\nwant %q", where, tt.want)
			}
		})
	}

	t.Run("the latency anomaly", func(t *testing.T) {
		var got anomalyAnswer
		f.getJSON(t, "/api/tracer/anomalies?service=api", 200, &got)
		if got.Start != ns(trNow.Add(-time.Hour)) || got.End != ns(trNow) || got.BaseStart != ns(trNow.Add(-7*time.Hour)) || got.Step != int64(time.Minute) {
			t.Errorf("windows %s %s %s step %d", got.BaseStart, got.Start, got.End, got.Step)
		}
		for _, a := range got.Anomalies {
			if a.Kind != "latency" {
				continue
			}
			if a.Since != ns(trNow.Add(-20*time.Minute)) || a.Last != ns(trNow.Add(-time.Minute)) {
				t.Errorf("since %s last %s, want the last 20 minutes", a.Since, a.Last)
			}
			if a.Unit != "ns" || a.Score <= 0 || a.Current < 2.5*a.Baseline || a.Baseline < float64(9*time.Millisecond) || a.Baseline > float64(13*time.Millisecond) {
				t.Errorf("got %v %s → %v score %v, want about 11ms → 33ms", a.Baseline, a.Unit, a.Current, a.Score)
			}
			if a.Count != 20*25 {
				t.Errorf("count %d, want %d", a.Count, 20*25)
			}
			return
		}
		t.Fatal("no latency anomaly")
	})

	bad := []struct{ name, query, want string }{
		{"baseline", "baseline=abc", "baseline"},
		{"baseline under a minute", "baseline=30s", "baseline"},
		{"baseline past the lookback", "baseline=800h", "baseline"},
		{"step", "step=30s", "step"},
		{"sample", "sample=5000", "sample"},
		{"negative sample", "sample=-1", "sample"},
		{"start", "start=yesterday", "start"},
	}
	for _, tt := range bad {
		t.Run("bad "+tt.name, func(t *testing.T) {
			code, body, h := f.get(t, "/api/tracer/anomalies?"+tt.query)
			if code != 400 {
				t.Fatalf("status %d, want 400: %s", code, body)
			}
			trTracerError(t, body, h, 400, tt.want)
		})
	}
	t.Run("over the RED point limit", func(t *testing.T) {
		small := newTrFixture(t, DefaultConfig(), trREDLimit(100))
		small.write(t, spans...)
		code, body, h := small.get(t, "/api/tracer/anomalies")
		if code != 400 {
			t.Fatalf("status %d, want 400: %s", code, body)
		}
		trTracerError(t, body, h, 400, "red")
	})
}

// seasonalData is api "GET /" at 25 requests a minute for the seven hours
// up to trNow, three times as slow in the last hour, and the same hour
// yesterday as slow: a daily pattern.
func seasonalData() []storage.Span {
	var spans []storage.Span
	var n uint64
	hour := func(from time.Time, minutes int, slowFrom time.Time) {
		for m := range minutes {
			minute := from.Add(time.Duration(m) * time.Minute)
			for i := range 25 {
				n++
				var tid storage.TraceID
				var sid storage.SpanID
				binary.BigEndian.PutUint64(tid[8:], n)
				binary.BigEndian.PutUint64(sid[:], n)
				start := minute.Add(time.Duration(i) * 2 * time.Second)
				d := 10*time.Millisecond + time.Duration((m*7+i*13)%11)*200*time.Microsecond
				if !minute.Before(slowFrom) {
					d *= 3
				}
				spans = append(spans, storage.Span{
					TraceID: tid, SpanID: sid, Service: "api", Name: "GET /", Kind: storage.KindServer,
					StartTime: start.UnixNano(), EndTime: start.Add(d).UnixNano(),
					Resource: []storage.Attribute{{Key: "service.name", Value: "api"}},
				})
			}
		}
	}
	hour(trNow.Add(-7*time.Hour), 7*60, trNow.Add(-time.Hour))
	yesterday := trNow.Add(-25 * time.Hour)
	hour(yesterday, 60, yesterday)
	return spans
}

func TestTracerAnomaliesSeasonal(t *testing.T) {
	f := newTrFixture(t, DefaultConfig())
	f.write(t, seasonalData()...)
	tests := []struct {
		name, query string
		want        []string // kind since-minutes-ago
	}{
		{"against the hours before", "", []string{"latency 60"}},
		{"against the same hour yesterday", "days=1", nil},
		{"against two days, one without data", "days=2", nil},
		{"a shorter baseline before", "baseline=2h", []string{"latency 60"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got anomalyAnswer
			f.getJSON(t, "/api/tracer/anomalies?"+tt.query, 200, &got)
			var found []string
			for _, a := range got.Anomalies {
				since, err := strconv.ParseInt(a.Since, 10, 64)
				if err != nil {
					t.Fatal(err)
				}
				found = append(found, a.Kind+" "+strconv.FormatInt(int64(trNow.Sub(time.Unix(0, since))/time.Minute), 10))
			}
			if !slices.Equal(found, tt.want) {
				t.Fatalf("got %q, want %q", found, tt.want)
			}
		})
	}
	bad := []struct{ name, query string }{
		{"days over 28", "days=29"},
		{"days not a number", "days=one"},
	}
	for _, tt := range bad {
		t.Run("bad "+tt.name, func(t *testing.T) {
			code, body, h := f.get(t, "/api/tracer/anomalies?"+tt.query)
			trTracerError(t, body, h, code, "days")
			if code != 400 {
				t.Fatalf("status %d, want 400", code)
			}
		})
	}
	t.Run("days past the lookback", func(t *testing.T) {
		cfg := DefaultConfig()
		cfg.MaxLookback = 24 * time.Hour
		short := newTrFixture(t, cfg)
		code, body, h := short.get(t, "/api/tracer/anomalies?days=1")
		if code != 400 {
			t.Fatalf("status %d, want 400: %s", code, body)
		}
		trTracerError(t, body, h, 400, "days")
	})
}
