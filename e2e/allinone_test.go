package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otelprop "go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracerdev/tracer/internal/chtest"
	"github.com/tracerdev/tracer/internal/proctest"
	"github.com/tracerdev/tracer/propagation"
	"github.com/tracerdev/tracer/sdk"
)

// recorder is a span exporter that forwards to an OTLP exporter and keeps
// the spans the collector acknowledged, and the errors.
type recorder struct {
	next  sdktrace.SpanExporter
	mu    sync.Mutex
	spans []sdktrace.ReadOnlySpan
	errs  []error
}

var _ sdktrace.SpanExporter = (*recorder)(nil)

func (r *recorder) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := r.next.ExportSpans(ctx, spans)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.errs = append(r.errs, err)
	} else {
		r.spans = append(r.spans, spans...)
	}
	return err
}

func (r *recorder) Shutdown(ctx context.Context) error { return r.next.Shutdown(ctx) }

// TestAllInOne runs the built "tracer all-in-one" as a child process on
// the embedded store (free loopback ports, a temporary data directory),
// sends spans through Tracer's SDK (so they carry clocks) with the official
// OTLP/gRPC and OTLP/HTTP exporters, and with telemetrygen over both, and
// reads every one back through v1 (/api/traces/{id}, /api/traces?service=)
// and v3 (/api/v3/traces/{id}) with its attributes and clock.
func TestAllInOne(t *testing.T) {
	bin := proctest.BuildTracer(t)
	dir := t.TempDir()
	grpcAddr, httpAddr, queryAddr, telAddr := proctest.FreeAddr(t), proctest.FreeAddr(t), proctest.FreeAddr(t), proctest.FreeAddr(t)
	p := proctest.Start(t, bin, []string{"all-in-one",
		"--grpc-endpoint", grpcAddr, "--http-endpoint", httpAddr, "--query-endpoint", queryAddr, "--telemetry-endpoint", telAddr,
		"--wal-dir", filepath.Join(dir, "wal"), "--badger-dir", filepath.Join(dir, "badger"), "--batch-timeout", "50ms",
	}, filepath.Join(dir, "all-in-one.log"))
	p.WaitHealthy(t, telAddr)

	// It says where to look once everything listens.
	banner := []string{"http://" + queryAddr + "/", grpcAddr, "http://" + httpAddr + "/v1/traces", filepath.Join(dir, "badger"), "http://" + telAddr + "/health"}
	for deadline := time.Now().Add(time.Minute); !strings.Contains(p.LogText(), "Ctrl-C"); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no start-up banner within a minute\n%s", p.LogText())
		}
	}
	for _, want := range banner {
		if !strings.Contains(p.LogText(), want) {
			t.Errorf("the start-up banner lacks %q\n%s", want, p.LogText())
		}
	}
	if got := httpStatus(t, "http://"+telAddr+"/ready"); got != http.StatusOK {
		t.Errorf("/ready: %d, want 200", got)
	}

	ctx := context.Background()
	a := newAPI(queryAddr)
	since := time.Now().Add(-time.Minute)

	t.Run("sdk", func(t *testing.T) { sendAndReadSDK(ctx, t, a, grpcAddr, httpAddr, since) })
	t.Run("telemetrygen", func(t *testing.T) {
		tg := telemetrygen(t)
		for _, tt := range []struct {
			name string
			args []string
		}{
			{"grpc", []string{"--otlp-endpoint", grpcAddr}},
			{"http", []string{"--otlp-endpoint", httpAddr, "--otlp-http"}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				sendAndReadTelemetrygen(ctx, t, a, tg, "e2e-telemetrygen-"+tt.name, tt.args, since)
			})
		}
	})

	t.Run("placeholder", func(t *testing.T) {
		resp, err := http.Get("http://" + queryAddr + "/")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(body), "Tracer") {
			t.Errorf("GET /: %d %q %.200s, want the placeholder page", resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	})
	t.Run("one registry", func(t *testing.T) {
		resp, err := http.Get("http://" + telAddr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, want := range []string{"tracer_collector_spans_written_total ", "go_goroutines ", "process_cpu_seconds_total "} {
			if !strings.Contains(string(body), want) {
				t.Errorf("/metrics lacks %q", want)
			}
		}
	})

	if err := p.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := p.Wait(); err != nil {
		t.Errorf("all-in-one after SIGINT: %v\n%s", err, p.LogText())
	}
	if log := p.LogText(); strings.Contains(log, "panic") || !strings.Contains(log, "collector stopped") {
		t.Errorf("all-in-one log: want a clean stop\n%s", log)
	}
}

// sendAndReadSDK sends traces that cross two services, the frontend through
// OTLP/gRPC and the backend through OTLP/HTTP, with the clock carried both
// ways, and reads each back.
func sendAndReadSDK(ctx context.Context, t *testing.T, a *api, grpcAddr, httpAddr string, since time.Time) {
	grpcExp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(grpcAddr), otlptracegrpc.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	httpExp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(httpAddr), otlptracehttp.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	front, back := &recorder{next: grpcExp}, &recorder{next: httpExp}
	tpFront, err := sdk.New(ctx, sdk.WithServiceName("e2e-frontend"), sdk.WithNodeID("frontend-1"), sdk.WithoutExporter(), sdk.WithExporter(front))
	if err != nil {
		t.Fatal(err)
	}
	tpBack, err := sdk.New(ctx, sdk.WithServiceName("e2e-backend"), sdk.WithNodeID("backend-1"), sdk.WithoutExporter(), sdk.WithExporter(back))
	if err != nil {
		t.Fatal(err)
	}
	prop, vc := propagation.Default(), propagation.NewVClock()
	const traces = 5
	for i := range traces {
		fctx, root := tpFront.Tracer("e2e").Start(ctx, "GET /checkout", trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.Int("e2e.n", i), attribute.String("http.request.method", "GET")))
		req := otelprop.MapCarrier{}
		prop.Inject(fctx, req)

		bctx, charge := tpBack.Tracer("e2e").Start(prop.Extract(ctx, req), "charge", trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.Bool("e2e.paid", i%2 == 0), attribute.Float64("e2e.amount", 12.5+float64(i)),
				attribute.String("e2e.note", `quotes " and ünïcode`)))
		_, db := tpBack.Tracer("e2e").Start(bctx, "SELECT orders", trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(attribute.Int64("db.rows", int64(i)*1_000_000_007)))
		db.End()
		resp := otelprop.MapCarrier{}
		vc.InjectResponse(bctx, resp) // the response headers, before the handler's span ends
		charge.End()
		if !vc.ExtractResponse(fctx, resp) {
			t.Fatalf("trace %d: the backend's clock did not come back to the frontend", i)
		}
		root.End()
	}
	for _, tp := range []*sdktrace.TracerProvider{tpFront, tpBack} {
		if err := tp.Shutdown(ctx); err != nil {
			t.Fatalf("export: %v", err)
		}
	}
	byTrace := map[string][]span{}
	for _, r := range []*recorder{front, back} {
		if len(r.errs) > 0 {
			t.Fatalf("export errors: %v", r.errs)
		}
		for _, s := range r.spans {
			sent := sentSpan(s)
			byTrace[sent.TraceID] = append(byTrace[sent.TraceID], sent)
		}
	}
	if len(byTrace) != traces {
		t.Fatalf("sent %d traces, want %d", len(byTrace), traces)
	}
	// The clock crossed the hop both ways: the backend's spans start after
	// the frontend's root, and the root ends after them.
	for id, spans := range byTrace {
		if len(spans) != 3 {
			t.Fatalf("trace %s: %d spans sent, want 3", id, len(spans))
		}
		for _, s := range spans {
			c, err := s.clock()
			if err != nil {
				t.Fatalf("span %s sent without a clock: %v", s.Name, err)
			}
			if s.Service == "e2e-backend" && c.Start.Get("frontend-1") == 0 {
				t.Errorf("span %s: clock %s lacks the frontend", s.Name, c.Start)
			}
			if s.Service == "e2e-frontend" && c.End.Get("backend-1") == 0 {
				t.Errorf("root span: end clock %s lacks the backend", c.End)
			}
		}
	}

	for id, want := range byTrace {
		got := awaitTrace(ctx, t, "v1 trace", id, len(want), a.v1Trace)
		compareSpans(t, "v1 /api/traces/"+id, got, want)
		got = awaitTrace(ctx, t, "v3 trace", id, len(want), a.v3Trace)
		compareSpans(t, "v3 /api/v3/traces/"+id, got, want)
	}
	for _, service := range []string{"e2e-frontend", "e2e-backend"} {
		found, err := a.v1Search(ctx, service, since, time.Now().Add(time.Minute), 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(found) != traces {
			t.Errorf("search service=%s: %d traces, want %d", service, len(found), traces)
		}
		for id, want := range byTrace {
			got, ok := found[id]
			if !ok {
				t.Errorf("search service=%s: trace %s missing", service, id)
				continue
			}
			compareSpans(t, "v1 search "+service, got, want)
		}
	}
}

// telemetrygen returns the telemetrygen binary, from PATH or GOBIN. When it
// is missing the test skips with how to install it, or fails under
// TRACER_REQUIRE_CLICKHOUSE=1 (make test, whose deps step installs it).
func telemetrygen(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("telemetrygen"); err == nil {
		return p
	}
	gobin := os.Getenv("GOBIN")
	if gobin == "" {
		out, err := exec.Command("go", "env", "GOPATH").Output()
		if err == nil {
			gobin = filepath.Join(strings.TrimSpace(strings.Split(string(out), string(os.PathListSeparator))[0]), "bin")
		}
	}
	if p := filepath.Join(gobin, "telemetrygen"); gobin != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	const howTo = "telemetrygen not found in PATH or GOBIN: run `make deps` (scripts/test-deps.d/telemetrygen.sh installs the version bench/collector.sh pins)"
	if os.Getenv(chtest.RequireEnv) == "1" {
		t.Fatalf("%s (required: %s=1)", howTo, chtest.RequireEnv)
	}
	t.Skip(howTo + ", or set " + chtest.RequireEnv + "=1 to make this a failure")
	return ""
}

// sendAndReadTelemetrygen runs telemetrygen (20 traces of a root and a
// child, with an attribute of this run) and reads every trace back: the
// search finds each once, and it, v1 and v3 by id answer the two spans as
// telemetrygen made them.
func sendAndReadTelemetrygen(ctx context.Context, t *testing.T, a *api, bin, service string, args []string, since time.Time) {
	run := fmt.Sprintf("run-%x", time.Now().UnixNano())
	const workers, perWorker = 2, 10
	cmdCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cmdCtx, bin, append([]string{"traces", "--otlp-insecure", "--rate", "0",
		"--workers", fmt.Sprint(workers), "--traces", fmt.Sprint(perWorker), "--service", service,
		"--telemetry-attributes", `e2e.run="` + run + `"`}, args...)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("telemetrygen: %v\n%s", err, out)
	}

	const traces = workers * perWorker
	var found map[string][]span
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		var err error
		if found, err = a.v1Search(ctx, service, since, time.Now().Add(time.Minute), 100); err != nil {
			t.Fatal(err)
		}
		complete := len(found) == traces
		for _, spans := range found {
			complete = complete && len(spans) == 2
		}
		if complete {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("search service=%s: %d traces within a minute, want %d", service, len(found), traces)
		}
	}
	// What telemetrygen sends (its pkg/traces/worker.go): a client span
	// lets-go and its server child okey-dokey-0, each with the peer
	// attributes and ours.
	attrs := func(peer string) map[string]any {
		return map[string]any{"e2e.run": run, "network.peer.address": "1.2.3.4", "service.peer.name": peer}
	}
	for id, spans := range found {
		var root, child *span
		for i := range spans {
			switch s := &spans[i]; s.Name {
			case "lets-go":
				root = s
			case "okey-dokey-0":
				child = s
			}
		}
		if root == nil || child == nil {
			t.Errorf("trace %s: want the spans lets-go and okey-dokey-0, got %+v", id, spans)
			continue
		}
		want := []span{
			{TraceID: id, SpanID: root.SpanID, Name: "lets-go", Service: service, Attrs: attrs("telemetrygen-server")},
			{TraceID: id, SpanID: child.SpanID, ParentID: root.SpanID, Name: "okey-dokey-0", Service: service, Attrs: attrs("telemetrygen-client")},
		}
		compareSpans(t, "v1 search "+service, spans, want)
		got := awaitTrace(ctx, t, "v1 trace", id, 2, a.v1Trace)
		compareSpans(t, "v1 /api/traces/"+id, got, want)
		got = awaitTrace(ctx, t, "v3 trace", id, 2, a.v3Trace)
		compareSpans(t, "v3 /api/v3/traces/"+id, got, want)
	}
}

// httpStatus GETs url and returns the status, 0 when nothing answers.
func httpStatus(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}
