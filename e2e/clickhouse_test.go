package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/clickhouse"
)

// moduleRoot is the repository root (this file's parent directory).
func moduleRoot(t *testing.T) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the source directory")
	}
	return filepath.Dir(filepath.Dir(file))
}

func buildTracer(t *testing.T) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the end-to-end test builds the binary and needs the go command: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "tracer")
	cmd := exec.Command(gobin, "build", "-o", bin, "./cmd/tracer")
	cmd.Dir = moduleRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// collector is a running "tracer collector" child process.
type collector struct {
	cmd    *exec.Cmd
	exited chan struct{}
	err    error
	log    string
}

func startCollector(t *testing.T, bin string, args []string, logPath string) *collector {
	t.Helper()
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatal(err)
	}
	c := &collector{cmd: cmd, exited: make(chan struct{}), log: logPath}
	go func() {
		c.err = cmd.Wait()
		logf.Close()
		close(c.exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-c.exited
	})
	return c
}

func (c *collector) logText() string {
	b, _ := os.ReadFile(c.log)
	if len(b) > 8000 {
		b = b[len(b)-8000:]
	}
	return string(b)
}

func (c *collector) waitHealthy(t *testing.T, addr string) {
	t.Helper()
	client := &http.Client{Timeout: time.Second}
	for i := 0; i < 600; i++ { // about a minute at most
		select {
		case <-c.exited:
			t.Fatalf("collector exited early: %v\n%s", c.err, c.logText())
		default:
		}
		if resp, err := client.Get("http://" + addr + "/health"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("collector not healthy after a minute\n%s", c.logText())
}

// batchSpans is request n: one trace of perBatch spans.
func batchSpans(n, perBatch int, start time.Time) []sdktrace.ReadOnlySpan {
	var tid trace.TraceID
	tid[0], tid[1], tid[14], tid[15] = 0xe2, 0xe0, byte(n>>8), byte(n)
	res := resource.NewSchemaless(attribute.String("service.name", "e2e"))
	stubs := make(tracetest.SpanStubs, perBatch)
	for i := range stubs {
		var sid trace.SpanID
		sid[0], sid[1], sid[2], sid[7] = 0x5a, byte(n>>8), byte(n), byte(i)+1
		var parent trace.SpanContext
		if i > 0 {
			psid := sid
			psid[7] = 1
			parent = trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: psid})
		}
		svc := res
		if i > 0 {
			svc = resource.NewSchemaless(attribute.String("service.name", "e2e-backend"))
		}
		stubs[i] = tracetest.SpanStub{
			Name:                 fmt.Sprintf("op-%d", i),
			SpanContext:          trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled}),
			Parent:               parent,
			SpanKind:             trace.SpanKindServer,
			StartTime:            start.Add(time.Duration(n)*time.Millisecond + time.Duration(i)*time.Microsecond),
			EndTime:              start.Add(time.Duration(n)*time.Millisecond + time.Duration(i+1)*time.Microsecond),
			Attributes:           []attribute.KeyValue{attribute.Int("batch", n), attribute.String("quote", `it's "q"`)},
			Resource:             svc,
			InstrumentationScope: instrumentation.Scope{Name: "e2e"},
		}
	}
	return stubs.Snapshots()
}

// TestCollectorClickHouseCrashAndRestart runs "tracer collector --storage
// clickhouse" as a child process, sends spans with the official OTLP/gRPC
// exporter, restarts ClickHouse (SIGKILL) mid-stream, then SIGKILLs the
// collector mid-stream, starts it again and checks that every acknowledged
// span is in ClickHouse exactly once as the reader sees it.
func TestCollectorClickHouseCrashAndRestart(t *testing.T) {
	db := server.NewDatabase(t)
	bin := buildTracer(t)
	dir := t.TempDir()
	grpcAddr, telAddr := freeAddr(t), freeAddr(t)
	args := []string{"collector",
		"--grpc-endpoint", grpcAddr, "--http-endpoint", "", "--telemetry-endpoint", telAddr,
		"--wal-dir", filepath.Join(dir, "wal"), "--storage", "clickhouse",
		"--clickhouse-addr", server.Addr, "--clickhouse-database", db,
		"--batch-size", "500", "--batch-timeout", "100ms", "--log-format", "json", "--shutdown-timeout", "60s",
	}
	logPath := filepath.Join(dir, "collector.log")
	first := startCollector(t, bin, args, logPath)
	first.waitHealthy(t, telAddr)

	ctx := context.Background()
	exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(grpcAddr), otlptracegrpc.WithInsecure(),
		otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{Enabled: true, InitialInterval: 50 * time.Millisecond,
			MaxInterval: 500 * time.Millisecond, MaxElapsedTime: 30 * time.Second}),
		otlptracegrpc.WithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer exp.Shutdown(ctx)

	const perBatch, restartAt, killAt, maxBatches = 20, 30, 80, 3000
	start := time.Now().Add(-10 * time.Minute)
	var mu sync.Mutex
	acked := 0
	reached := map[int]chan struct{}{restartAt: make(chan struct{}), killAt: make(chan struct{})}
	sendCtx, stopSending := context.WithCancel(ctx)
	defer stopSending()
	senderDone := make(chan struct{})
	go func() {
		defer close(senderDone)
		for n := 0; n < maxBatches; n++ {
			if err := exp.ExportSpans(sendCtx, batchSpans(n, perBatch, start)); err != nil {
				return
			}
			mu.Lock()
			acked = n + 1
			if ch, ok := reached[acked]; ok {
				close(ch)
			}
			mu.Unlock()
		}
	}()
	wait := func(n int) {
		t.Helper()
		select {
		case <-reached[n]:
		case <-senderDone:
			t.Fatalf("sender stopped before %d batches were acknowledged\n%s", n, first.logText())
		case <-time.After(3 * time.Minute):
			t.Fatalf("%d batches not acknowledged in 3 minutes\n%s", n, first.logText())
		}
	}

	wait(restartAt)
	if err := server.Restart(true); err != nil {
		t.Fatalf("restart clickhouse: %v", err)
	}
	t.Logf("ClickHouse restarted after %d batches", restartAt)
	wait(killAt)
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	stopSending()
	<-senderDone
	<-first.exited
	mu.Lock()
	nAcked := acked
	mu.Unlock()
	t.Logf("%d batches (%d spans) acknowledged before the collector's SIGKILL; the collector retried %d failed writes",
		nAcked, nAcked*perBatch, strings.Count(first.logText(), "storage write failed"))

	second := startCollector(t, bin, args, logPath)
	second.waitHealthy(t, telAddr)

	cfg := clickhouse.NewDefaultConfig()
	cfg.Addr = []string{server.Addr}
	cfg.Database = db
	qctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	store, err := clickhouse.New(qctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	// The restarted collector replays its WAL; poll until every
	// acknowledged batch is readable (bounded by qctx).
	for n := 0; n < nAcked; n++ {
		tid := storage.TraceID(batchSpans(n, perBatch, start)[0].SpanContext().TraceID())
		for {
			tr, err := store.Trace(qctx, tid)
			if err == nil && len(tr.Spans) >= perBatch {
				break
			}
			if err != nil && !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("batch %d: %v", n, err)
			}
			select {
			case <-qctx.Done():
				t.Fatalf("batch %d (acknowledged) not stored within the deadline\n%s", n, second.logText())
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	if err := second.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-second.exited
	if second.err != nil {
		t.Fatalf("second collector: exit %v\n%s", second.err, second.logText())
	}

	for n := 0; n < nAcked; n++ {
		want := batchSpans(n, perBatch, start)
		tr, err := store.Trace(qctx, storage.TraceID(want[0].SpanContext().TraceID()))
		if err != nil {
			t.Fatalf("batch %d: %v", n, err)
		}
		seen := map[storage.SpanID]int{}
		for _, s := range tr.Spans {
			seen[s.SpanID]++
			if a, ok := s.Attribute("quote"); !ok || a.Value != `it's "q"` {
				t.Errorf("batch %d span %s: attribute quote = %+q", n, s.SpanID, a)
			}
		}
		for _, w := range want {
			if id := storage.SpanID(w.SpanContext().SpanID()); seen[id] != 1 {
				t.Errorf("batch %d span %s seen %d times, want once", n, id, seen[id])
			}
		}
		if len(tr.Spans) != perBatch {
			t.Errorf("batch %d: %d spans, want %d", n, len(tr.Spans), perBatch)
		}
	}
	// Searches and the service graph see each acknowledged trace once.
	found, err := store.FindTraces(qctx, storage.Query{Service: "e2e", Limit: maxBatches})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) < nAcked {
		t.Errorf("FindTraces(e2e) = %d traces, want at least the %d acknowledged", len(found), nAcked)
	}
	ids := map[storage.TraceID]bool{}
	for _, tr := range found {
		if ids[tr.ID] {
			t.Errorf("trace %s found twice", tr.ID)
		}
		ids[tr.ID] = true
	}
	deps, err := store.Dependencies(qctx, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	want := storage.Dependency{Parent: "e2e", Child: "e2e-backend", CallCount: uint64(len(found) * (perBatch - 1))}
	if len(deps) != 1 || deps[0] != want {
		t.Errorf("Dependencies = %+v, want [%+v]", deps, want)
	}
	if strings.Contains(second.logText(), "panic") {
		t.Errorf("collector log mentions a panic:\n%s", second.logText())
	}
}
