package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/tracerdev/tracer/examples/demo/demopb"
	"github.com/tracerdev/tracer/interceptors"
	"github.com/tracerdev/tracer/sdk"
	"github.com/tracerdev/tracer/vclock"
)

// recorder collects the spans of the services under test in memory. Its
// Shutdown keeps them (tracetest's forgets them), so that a test reads what
// a service flushed when it stopped.
type recorder struct{ *tracetest.InMemoryExporter }

func (recorder) Shutdown(context.Context) error { return nil }

// quiet is the services' logger in tests.
var quiet = slog.New(slog.DiscardHandler)

func newRecorder() recorder { return recorder{tracetest.NewInMemoryExporter()} }

// start runs a service on a loopback listener and returns its address and
// a stop that cancels it, waits for it and checks that it stopped cleanly
// (also called at cleanup).
func start(t *testing.T, run func(context.Context, net.Listener) error) (string, func()) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, lis) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return lis.Addr().String(), stop
}

// dial connects to addr without tracing.
func dial(t *testing.T, addr string, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// startC runs service-c with cfg, its spans going to rec.
func startC(t *testing.T, rec recorder, cfg ServiceCConfig) (demopb.DataClient, func()) {
	t.Helper()
	cfg.Exporter, cfg.Logger = rec, quiet
	addr, stop := start(t, func(ctx context.Context, lis net.Listener) error { return RunServiceC(ctx, lis, cfg) })
	return demopb.NewDataClient(dial(t, addr)), stop
}

// Span helpers.

func service(s tracetest.SpanStub) string {
	for _, a := range s.Resource.Attributes() {
		if a.Key == "service.name" {
			return a.Value.AsString()
		}
	}
	return ""
}

// named returns the spans called name of svc (any service for ""), in start
// order.
func named(spans tracetest.SpanStubs, svc, name string) []tracetest.SpanStub {
	var out []tracetest.SpanStub
	for _, s := range spans {
		if s.Name == name && (svc == "" || service(s) == svc) {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b tracetest.SpanStub) int { return a.StartTime.Compare(b.StartTime) })
	return out
}

// children returns parent's children, in start order.
func children(spans tracetest.SpanStubs, parent tracetest.SpanStub) []tracetest.SpanStub {
	var out []tracetest.SpanStub
	for _, s := range spans {
		if s.Parent.SpanID() == parent.SpanContext.SpanID() && s.SpanContext.TraceID() == parent.SpanContext.TraceID() {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b tracetest.SpanStub) int { return a.StartTime.Compare(b.StartTime) })
	return out
}

// childrenNamed is children with the given name.
func childrenNamed(spans tracetest.SpanStubs, parent tracetest.SpanStub, name string) []tracetest.SpanStub {
	return slices.DeleteFunc(children(spans, parent), func(s tracetest.SpanStub) bool { return s.Name != name })
}

func attr(s tracetest.SpanStub, key string) (attribute.Value, bool) {
	for _, a := range s.Attributes {
		if string(a.Key) == key {
			return a.Value, true
		}
	}
	return attribute.Value{}, false
}

// wantAttrs checks that s has every attribute of want.
func wantAttrs(t *testing.T, s tracetest.SpanStub, want ...attribute.KeyValue) {
	t.Helper()
	for _, w := range want {
		got, ok := attr(s, string(w.Key))
		if !ok {
			t.Errorf("span %s: no %s, want %s", s.Name, w.Key, w.Value.String())
		} else if got != w.Value {
			t.Errorf("span %s: %s = %s, want %s", s.Name, w.Key, got.String(), w.Value.String())
		}
	}
}

// clock rebuilds a span's vector clock.
func clock(t *testing.T, s tracetest.SpanStub) vclock.SpanClock {
	t.Helper()
	sc, err := sdk.SpanClock(s.Attributes)
	if err != nil {
		t.Fatalf("span %s: %v", s.Name, err)
	}
	return sc
}

// constant draws the same number every time.
func constant(u float64) func() float64 { return func() float64 { return u } }

// script draws first, in order, then rest forever.
func script(rest float64, first ...float64) func() float64 {
	var mu sync.Mutex
	return func() float64 {
		mu.Lock()
		defer mu.Unlock()
		if len(first) == 0 {
			return rest
		}
		u := first[0]
		first = first[1:]
		return u
	}
}

const (
	dataGet  = "tracer.examples.demo.v1.Data/Get"
	dataPut  = "tracer.examples.demo.v1.Data/Put"
	dataScan = "tracer.examples.demo.v1.Data/Scan"
	dbSelect = "SELECT records"
	dbInsert = "INSERT records"
)

func TestServiceCGet(t *testing.T) {
	rec := newRecorder()
	c, stop := startC(t, rec, ServiceCConfig{})
	tests := []struct {
		name, key string
		want      string // the value; "" for no record
		hit       bool
	}{
		{"a miss reads the database", "alpha:1", "alpha, record 1", false},
		{"a hit does not", "alpha:1", "alpha, record 1", true},
		{"another key misses", "alpha:2", "alpha, record 2", false},
		{"an absent key has no record", "nosuch:0", "", false},
		{"and is not cached", "nosuch:0", "", false},
	}
	for _, tt := range tests {
		resp, err := c.Get(context.Background(), &demopb.GetRequest{Key: tt.key})
		if err != nil {
			t.Fatalf("%s: Get(%s): %v", tt.name, tt.key, err)
		}
		if got := resp.GetRecord().GetValue(); got != tt.want || resp.GetCacheHit() != tt.hit {
			t.Errorf("%s: Get(%s) = %q, hit %v; want %q, hit %v", tt.name, tt.key, got, resp.GetCacheHit(), tt.want, tt.hit)
		}
	}
	if _, err := c.Get(context.Background(), &demopb.GetRequest{}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("Get of no key: %v, want InvalidArgument", err)
	}
	stop()

	spans := rec.GetSpans()
	servers := named(spans, "service-c", dataGet)
	if len(servers) != len(tests)+1 {
		t.Fatalf("%d %s server spans, want %d", len(servers), dataGet, len(tests)+1)
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := servers[i]
			if srv.SpanKind != trace.SpanKindServer {
				t.Errorf("%s kind %v, want server", srv.Name, srv.SpanKind)
			}
			lookups := childrenNamed(spans, srv, "cache.get")
			if len(lookups) != 1 {
				t.Fatalf("%d cache.get spans under the call, want 1", len(lookups))
			}
			if lookups[0].SpanKind != trace.SpanKindInternal {
				t.Errorf("cache.get kind %v, want internal", lookups[0].SpanKind)
			}
			wantAttrs(t, lookups[0], attribute.Bool("cache.hit", tt.hit))
			queries := childrenNamed(spans, srv, dbSelect)
			if tt.hit {
				if len(queries) != 0 {
					t.Errorf("%d database spans on a cache hit, want none", len(queries))
				}
				return
			}
			if len(queries) != 1 {
				t.Fatalf("%d database spans on a miss, want 1", len(queries))
			}
			q := queries[0]
			if q.SpanKind != trace.SpanKindClient {
				t.Errorf("%s kind %v, want client", q.Name, q.SpanKind)
			}
			rows := 1
			if tt.want == "" {
				rows = 0
			}
			wantAttrs(t, q,
				attribute.String("db.system.name", "other_sql"),
				attribute.String("db.operation.name", "SELECT"),
				attribute.String("db.collection.name", "records"),
				attribute.String("db.namespace", "demo"),
				attribute.String("db.query.text", "SELECT key, value, version FROM records WHERE key = $1"),
				attribute.Int("db.response.returned_rows", rows))
			if q.Status.Code == otelcodes.Error {
				t.Errorf("database span failed: %v", q.Status)
			}
		})
	}
}

func TestServiceCPutScan(t *testing.T) {
	rec := newRecorder()
	c, stop := startC(t, rec, ServiceCConfig{})
	ctx := context.Background()
	// Cache the record, then overwrite it: the next Get must miss.
	if _, err := c.Get(ctx, &demopb.GetRequest{Key: "beta:0"}); err != nil {
		t.Fatal(err)
	}
	put, err := c.Put(ctx, &demopb.PutRequest{Record: &demopb.Record{Key: "beta:0", Value: "new"}})
	if err != nil {
		t.Fatal(err)
	}
	if put.GetVersion() != 2 {
		t.Errorf("Put of a seeded record: version %d, want 2", put.GetVersion())
	}
	got, err := c.Get(ctx, &demopb.GetRequest{Key: "beta:0"})
	if err != nil {
		t.Fatal(err)
	}
	if got.GetRecord().GetValue() != "new" || got.GetCacheHit() || got.GetRecord().GetVersion() != 2 {
		t.Errorf("Get after Put = %v, hit %v; want the new value, version 2, from the database", got.GetRecord(), got.GetCacheHit())
	}
	if _, err := c.Put(ctx, &demopb.PutRequest{}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("Put of no record: %v, want InvalidArgument", err)
	}

	scans := []struct {
		name    string
		prefix  string
		limit   int32
		want    []string
		queries int // database pages
	}{
		{"all of a word, two pages", "gamma:", 0, []string{"gamma:0", "gamma:1", "gamma:2", "gamma:3", "gamma:4"}, 2},
		{"the limit", "gamma", 3, []string{"gamma:0", "gamma:1", "gamma:2"}, 1},
		{"a limit on a page's end", "gamma", 4, []string{"gamma:0", "gamma:1", "gamma:2", "gamma:3"}, 1},
		{"nothing", "nosuch", 0, nil, 1},
	}
	for _, tt := range scans {
		stream, err := c.Scan(ctx, &demopb.ScanRequest{Prefix: tt.prefix, Limit: tt.limit})
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for {
			r, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: Recv: %v", tt.name, err)
			}
			keys = append(keys, r.GetKey())
		}
		if !slices.Equal(keys, tt.want) {
			t.Errorf("%s: Scan(%q, %d) = %v, want %v", tt.name, tt.prefix, tt.limit, keys, tt.want)
		}
	}
	stream, err := c.Scan(ctx, &demopb.ScanRequest{Prefix: "a", Limit: -1})
	if err == nil {
		_, err = stream.Recv()
	}
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("Scan with limit -1: %v, want InvalidArgument", err)
	}
	stop()

	spans := rec.GetSpans()
	puts := named(spans, "service-c", dataPut)
	if len(puts) != 2 {
		t.Fatalf("%d Put spans, want 2", len(puts))
	}
	inserts := childrenNamed(spans, puts[0], dbInsert)
	if len(inserts) != 1 {
		t.Fatalf("%d %s spans under Put, want 1", len(inserts), dbInsert)
	}
	wantAttrs(t, inserts[0], attribute.String("db.operation.name", "INSERT"), attribute.String("db.collection.name", "records"))
	if q, _ := attr(inserts[0], "db.query.text"); q.AsString() == "" {
		t.Error("INSERT span without db.query.text")
	}
	servers := named(spans, "service-c", dataScan)
	if len(servers) != len(scans)+1 {
		t.Fatalf("%d Scan spans, want %d", len(servers), len(scans)+1)
	}
	for i, tt := range scans {
		t.Run(tt.name, func(t *testing.T) {
			pages := childrenNamed(spans, servers[i], dbSelect)
			if len(pages) != tt.queries {
				t.Fatalf("%d database queries, want %d", len(pages), tt.queries)
			}
			rows := 0
			for _, p := range pages {
				n, _ := attr(p, "db.response.returned_rows")
				rows += int(n.AsInt64())
			}
			if rows != len(tt.want) {
				t.Errorf("the queries returned %d rows, want %d", rows, len(tt.want))
			}
		})
	}
}

func TestServiceCErrors(t *testing.T) {
	rec := newRecorder()
	c, stop := startC(t, rec, ServiceCConfig{ErrorRate: 1})
	ctx := context.Background()
	if _, err := c.Get(ctx, &demopb.GetRequest{Key: "alpha:0"}); status.Code(err) != codes.Unavailable {
		t.Errorf("Get: %v, want Unavailable", err)
	}
	if _, err := c.Put(ctx, &demopb.PutRequest{Record: &demopb.Record{Key: "k", Value: "v"}}); status.Code(err) != codes.Unavailable {
		t.Errorf("Put: %v, want Unavailable", err)
	}
	stop()

	spans := rec.GetSpans()
	for _, name := range []string{dataGet, dataPut} {
		t.Run(name, func(t *testing.T) {
			srv := named(spans, "service-c", name)
			if len(srv) != 1 {
				t.Fatalf("%d server spans, want 1", len(srv))
			}
			if srv[0].Status.Code != otelcodes.Error {
				t.Errorf("server span status %v, want error", srv[0].Status)
			}
			var queries []tracetest.SpanStub
			for _, s := range children(spans, srv[0]) {
				if s.SpanKind == trace.SpanKindClient {
					queries = append(queries, s)
				}
			}
			if len(queries) != 1 {
				t.Fatalf("%d database spans, want 1", len(queries))
			}
			q := queries[0]
			if q.Status.Code != otelcodes.Error {
				t.Errorf("database span status %v, want error", q.Status)
			}
			wantAttrs(t, q, attribute.String("error.type", "Unavailable"))
			if !slices.ContainsFunc(q.Events, func(e sdktrace.Event) bool { return e.Name == "exception" }) {
				t.Errorf("database span events %v: no exception", q.Events)
			}
		})
	}
}

func TestServiceCSlowQuery(t *testing.T) {
	rec := newRecorder()
	// The median draw: a slow query takes exactly dbSlowMedian, at least.
	c, stop := startC(t, rec, ServiceCConfig{SlowRate: 1, Rand: constant(0.5)})
	if _, err := c.Get(context.Background(), &demopb.GetRequest{Key: "alpha:0"}); err != nil {
		t.Fatal(err)
	}
	stop()
	q := named(rec.GetSpans(), "service-c", dbSelect)
	if len(q) != 1 {
		t.Fatalf("%d database spans, want 1", len(q))
	}
	if d := q[0].EndTime.Sub(q[0].StartTime); d < dbSlowMedian {
		t.Errorf("slow query took %v, want at least %v", d, dbSlowMedian)
	}
}

func TestLogNormal(t *testing.T) {
	tests := []struct {
		name string
		u    float64
		want time.Duration
	}{
		{"the median", 0.5, 3 * time.Millisecond},
		// exp(0.6 × 2.3263) for the 99th percentile's z.
		{"p99", 0.99, time.Duration(float64(3*time.Millisecond) * math.Exp(0.6*2.3263478740408408))},
		{"p1", 0.01, time.Duration(float64(3*time.Millisecond) * math.Exp(-0.6*2.3263478740408408))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := logNormal(3*time.Millisecond, 0.6, tt.u)
			if diff := got - tt.want; diff < -time.Microsecond || diff > time.Microsecond {
				t.Errorf("logNormal(3ms, 0.6, %v) = %v, want %v", tt.u, got, tt.want)
			}
		})
	}
	for _, u := range []float64{0, 1} {
		if got := logNormal(3*time.Millisecond, 0.6, u); got <= 0 || got > time.Second {
			t.Errorf("logNormal(3ms, 0.6, %v) = %v, want a finite positive latency", u, got)
		}
	}
}

func TestServiceCConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  ServiceCConfig
		ok   bool
	}{
		{"zero", ServiceCConfig{}, true},
		{"defaults", ServiceCConfig{ErrorRate: DefaultErrorRate, SlowRate: DefaultSlowRate}, true},
		{"all", ServiceCConfig{ErrorRate: 1, SlowRate: 1}, true},
		{"negative error rate", ServiceCConfig{ErrorRate: -0.1}, false},
		{"error rate above 1", ServiceCConfig{ErrorRate: 1.5}, false},
		{"NaN slow rate", ServiceCConfig{SlowRate: math.NaN()}, false},
		{"slow rate above 1", ServiceCConfig{SlowRate: 2}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("Validate() = %v, want ok %v", err, tt.ok)
			}
			if tt.ok {
				return
			}
			lis, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer lis.Close()
			if err := RunServiceC(context.Background(), lis, tt.cfg); err == nil {
				t.Error("RunServiceC with a bad config returned nil")
			}
		})
	}
}

// A service whose clock is off reports every timestamp shifted by the skew:
// its server span, shifted back, lies within the caller's client span.
func TestServiceCSkew(t *testing.T) {
	const skew = time.Hour
	rec := &offsets{recorder: newRecorder()}
	// A failing query, so that a span has an event (the exception) too.
	cfg := ServiceCConfig{Telemetry: Telemetry{Exporter: rec, Skew: skew}, ErrorRate: 1, Logger: quiet}
	addr, stop := start(t, func(ctx context.Context, lis net.Listener) error { return RunServiceC(ctx, lis, cfg) })
	client := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(client))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	conn := dial(t, addr, grpc.WithStatsHandler(interceptors.NewClientHandler(
		interceptors.WithTracerProvider(tp), interceptors.WithPropagators(Propagator()))))
	if _, err := demopb.NewDataClient(conn).Get(context.Background(), &demopb.GetRequest{Key: "alpha:0"}); status.Code(err) != codes.Unavailable {
		t.Fatalf("Get: %v, want Unavailable", err)
	}
	stop()
	calls := client.GetSpans()
	if len(calls) != 1 {
		t.Fatalf("%d client spans, want 1", len(calls))
	}
	call := calls[0]
	spans := rec.GetSpans()
	if len(spans) != 3 { // the server span, cache.get, the query
		t.Fatalf("%d service-c spans, want 3", len(spans))
	}
	// Exactly the skew, on every timestamp.
	rec.mu.Lock()
	got := rec.seen
	rec.mu.Unlock()
	if len(got) != 2*3+1 { // start and end of 3 spans, 1 event
		t.Errorf("%d timestamps seen, want 7", len(got))
	}
	for _, d := range got {
		if d != skew {
			t.Errorf("a timestamp is shifted by %v, want %v", d, skew)
		}
	}
	for _, s := range spans {
		t.Run(s.Name, func(t *testing.T) {
			if s.SpanContext.TraceID() != call.SpanContext.TraceID() {
				t.Fatal("not in the caller's trace")
			}
			start, end := s.StartTime.Add(-skew), s.EndTime.Add(-skew)
			if start.Before(call.StartTime) || start.After(call.EndTime) {
				t.Errorf("shifted back by %v, the start %v is not within the call's [%v, %v]", skew, start, call.StartTime, call.EndTime)
			}
			// The server span itself may end after the caller has its
			// answer; the work inside it ends before the answer is sent.
			if s.SpanKind != trace.SpanKindServer && end.After(call.EndTime) {
				t.Errorf("shifted back by %v, the end %v is after the call's %v", skew, end, call.EndTime)
			}
		})
	}
}

// offsets is a recorder that also notes by how much each timestamp of a
// span was shifted from the time the SDK recorded (the skew exporter's span
// wraps the recorded one).
type offsets struct {
	recorder
	mu   sync.Mutex
	seen []time.Duration
}

func (o *offsets) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	o.mu.Lock()
	for _, s := range spans {
		sk, ok := s.(skewedSpan)
		if !ok {
			o.seen = append(o.seen, 0)
			continue
		}
		raw := sk.ReadOnlySpan
		o.seen = append(o.seen, s.StartTime().Sub(raw.StartTime()), s.EndTime().Sub(raw.EndTime()))
		for i, ev := range s.Events() {
			o.seen = append(o.seen, ev.Time.Sub(raw.Events()[i].Time))
		}
	}
	o.mu.Unlock()
	return o.recorder.ExportSpans(ctx, spans)
}

// A listener that fails makes Run return its error, not hang.
func TestServiceCListenerFails(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_ = lis.Close()
	err = RunServiceC(context.Background(), lis, ServiceCConfig{Telemetry: Telemetry{Exporter: newRecorder()}, Logger: quiet})
	if err == nil {
		t.Error("RunServiceC on a closed listener returned nil")
	}
}

func TestCache(t *testing.T) {
	rec := func(k string) *demopb.Record { return &demopb.Record{Key: k, Value: "v" + k} }
	tests := []struct {
		name string
		ttl  time.Duration
		do   func(c *cache)
		hits []string
		miss []string
	}{
		{"holds what it was given", time.Minute, func(c *cache) { c.put(rec("a")); c.put(rec("b")) }, []string{"a", "b"}, []string{"c"}},
		{"evicts the least recently used", time.Minute, func(c *cache) {
			c.put(rec("a"))
			c.put(rec("b"))
			c.get("a") // b is now the oldest
			c.put(rec("c"))
		}, []string{"a", "c"}, []string{"b"}},
		{"forgets what was removed", time.Minute, func(c *cache) { c.put(rec("a")); c.remove("a") }, nil, []string{"a"}},
		{"expires", -time.Second, func(c *cache) { c.put(rec("a")) }, nil, []string{"a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCache(2, tt.ttl)
			tt.do(c)
			for _, k := range tt.hits {
				if r, ok := c.get(k); !ok || r.GetValue() != "v"+k {
					t.Errorf("get(%s) = %v, %v; want its record", k, r, ok)
				}
			}
			for _, k := range tt.miss {
				if r, ok := c.get(k); ok {
					t.Errorf("get(%s) = %v, want a miss", k, r)
				}
			}
		})
	}
}

// The database is bounded, and what it evicts to stay so is never a seed
// record.
func TestDatabaseBound(t *testing.T) {
	tp := sdktrace.NewTracerProvider()
	defer func() { _ = tp.Shutdown(context.Background()) }()
	d := newDatabase(tp.Tracer("test"), 0, 0, constant(0))
	seeds := len(d.records)
	for i := range dbMaxRecords + 10 {
		d.records[fmt.Sprint("doc:", i)] = &demopb.Record{} // as many Puts, without the latency
		if len(d.records) >= dbMaxRecords {
			break
		}
	}
	for i := range 10 {
		if _, err := d.put(context.Background(), fmt.Sprint("new:", i), "v"); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(d.records); n != dbMaxRecords {
		t.Errorf("%d records, want the bound %d", n, dbMaxRecords)
	}
	kept := 0
	for k := range d.seeded {
		if _, ok := d.records[k]; ok {
			kept++
		}
	}
	if kept != seeds {
		t.Errorf("%d of %d seed records kept, want all", kept, seeds)
	}
}
