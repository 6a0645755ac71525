package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"

	"github.com/tracerdev/tracer/internal/proctest"
)

// The agent's process tests: real "tracer all-in-one" processes as the
// collectors (their query API counts what they stored), a real "tracer
// agent" in front, the official OTLP/gRPC exporter as the application. Every
// wait is bounded; nothing asserts how long anything took.

// agentPerBatch is the spans of each export request (one trace).
const agentPerBatch = 20

// collectorProc is an all-in-one that the agent sends to, with its ports
// (kept across restarts) and its data directory.
type collectorProc struct {
	name                  string
	grpc, query, tel, dir string
	storage               string // memory or badger
	p                     *proctest.Process
}

func newCollectorProc(t *testing.T, name, storage string) *collectorProc {
	return &collectorProc{name: name, storage: storage, dir: filepath.Join(t.TempDir(), name),
		grpc: proctest.FreeAddr(t), query: proctest.FreeAddr(t), tel: proctest.FreeAddr(t)}
}

// start runs the all-in-one (again, on the same ports and data) and waits
// until it is healthy.
func (c *collectorProc) start(t *testing.T, bin string) {
	t.Helper()
	args := []string{"all-in-one",
		"--grpc-endpoint", c.grpc, "--http-endpoint", "", "--query-endpoint", c.query, "--telemetry-endpoint", c.tel,
		"--wal-dir", filepath.Join(c.dir, "wal"), "--storage", c.storage, "--badger-dir", filepath.Join(c.dir, "badger"),
		"--batch-timeout", "50ms", "--log-format", "json",
	}
	c.p = proctest.Start(t, bin, args, filepath.Join(filepath.Dir(c.dir), c.name+".log"))
	c.p.WaitHealthy(t, c.tel)
}

// received is the spans the collector acknowledged since it started.
func (c *collectorProc) received(t *testing.T) float64 {
	return metricSum(t, c.tel, `tracer_collector_spans_received_total{transport="grpc"}`)
}

// startAgent runs "tracer agent" in front of collectors, with short
// batching and breaker intervals, and waits until it is healthy.
func startAgent(t *testing.T, bin, walDir, grpc, tel, logPath string, collectors ...*collectorProc) *proctest.Process {
	t.Helper()
	var to []string
	for _, c := range collectors {
		to = append(to, c.grpc)
	}
	p := proctest.Start(t, bin, []string{"agent",
		"--collector", strings.Join(to, ","), "--collector-insecure",
		"--grpc-endpoint", grpc, "--http-endpoint", "", "--telemetry-endpoint", tel, "--wal-dir", walDir,
		"--batch-timeout", "20ms", "--collector-timeout", "2s", "--collector-retry-max-elapsed", "3s",
		"--collector-breaker-open-for", "1s", "--log-format", "json", "--shutdown-timeout", "30s",
	}, logPath)
	p.WaitHealthy(t, tel)
	return p
}

// metricSum reads http://addr/metrics and sums the samples whose line
// starts with prefix (0 when there is none).
func metricSum(t *testing.T, addr, prefix string) float64 {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("metrics of %s: %v", addr, err)
	}
	defer resp.Body.Close()
	sum := 0.0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		sum += v
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("metrics of %s: %v", addr, err)
	}
	return sum
}

// await polls cond every 100ms for at most limit, failing the test with
// what (and the logs of procs) when it does not hold by then.
func await(t *testing.T, limit time.Duration, what string, cond func() bool, procs ...*proctest.Process) {
	t.Helper()
	for deadline := time.Now().Add(limit); !cond(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			var logs strings.Builder
			for _, p := range procs {
				logs.WriteString(p.LogText() + "\n---\n")
			}
			t.Fatalf("no %s within %v\n%s", what, limit, logs.String())
		}
	}
}

// appSender is the application: it exports batchSpans(n) for n = 0, 1...
// through the official OTLP/gRPC exporter (no retries of its own: an error
// ends it) until stopped, and counts the batches acknowledged.
type appSender struct {
	mu    sync.Mutex
	acked int // batches 0..acked-1 were acknowledged
	err   error
	stop  chan struct{}
	done  chan struct{}
}

func startSender(t *testing.T, addr string, start time.Time) *appSender {
	t.Helper()
	ctx := context.Background()
	exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(addr), otlptracegrpc.WithInsecure(),
		otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{Enabled: false}), otlptracegrpc.WithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	s := &appSender{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		defer exp.Shutdown(ctx)
		for n := 0; n < 60000; n++ {
			select {
			case <-s.stop:
				return
			case <-time.After(5 * time.Millisecond): // a steady load, not a flood
			}
			if err := exp.ExportSpans(ctx, batchSpans(n, agentPerBatch, start)); err != nil {
				s.mu.Lock()
				s.err = err
				s.mu.Unlock()
				return
			}
			s.mu.Lock()
			s.acked = n + 1
			s.mu.Unlock()
		}
	}()
	t.Cleanup(s.halt)
	return s
}

// halt stops the sender and waits for it; it returns the batches
// acknowledged.
func (s *appSender) halt() {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	<-s.done
}

func (s *appSender) state() (acked int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.acked, s.err
}

// awaitStored waits (for at most two minutes) until the collector's query
// API answers every trace of batches [0, n) with its agentPerBatch spans,
// each once, and fails the test naming the first batch that does not.
func awaitStored(t *testing.T, c *collectorProc, n int, start time.Time) {
	t.Helper()
	ctx := context.Background()
	a := newAPI(c.query)
	deadline := time.Now().Add(2 * time.Minute)
	for b := 0; b < n; b++ {
		want := batchSpans(b, agentPerBatch, start)
		id := want[0].SpanContext().TraceID().String()
		for {
			got, status, err := a.v1Trace(ctx, id)
			problem := ""
			switch {
			case err != nil:
				problem = err.Error()
			case status != http.StatusOK:
				problem = fmt.Sprintf("status %d", status)
			default:
				seen := map[string]int{}
				for _, s := range got {
					seen[s.SpanID]++
				}
				for _, w := range want {
					if k := seen[w.SpanContext().SpanID().String()]; k != 1 {
						problem = fmt.Sprintf("span %s answered %d times, want once", w.SpanContext().SpanID(), k)
						break
					}
				}
				if problem == "" && len(got) != agentPerBatch {
					problem = fmt.Sprintf("%d spans, want %d", len(got), agentPerBatch)
				}
			}
			if problem == "" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("batch %d of %d (trace %s) in %s: %s\n%s", b, n, id, c.name, problem, c.p.LogText())
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}

// TestAgentCollectorOutage: the collector stops (gracefully) while the
// application keeps sending through the agent, which keeps acknowledging;
// when the collector is back, every acknowledged span reaches its storage,
// once. While the collector is away the agent's readiness says so.
func TestAgentCollectorOutage(t *testing.T) {
	bin := proctest.BuildTracer(t)
	dir := t.TempDir()
	col := newCollectorProc(t, "collector", "badger")
	col.start(t, bin)
	agentGRPC, agentTel := proctest.FreeAddr(t), proctest.FreeAddr(t)
	agent := startAgent(t, bin, filepath.Join(dir, "agent-wal"), agentGRPC, agentTel, filepath.Join(dir, "agent.log"), col)

	start := time.Now().Add(-time.Minute)
	app := startSender(t, agentGRPC, start)
	acked := func() int { n, _ := app.state(); return n }
	await(t, time.Minute, "spans at the collector", func() bool { return col.received(t) > 0 }, agent, col.p)

	if err := col.p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := col.p.Wait(); err != nil {
		t.Fatalf("collector after SIGTERM: %v\n%s", err, col.p.LogText())
	}
	down := acked()
	// Down for longer than one send's retries (--collector-retry-max-elapsed):
	// the failed batches stay in the agent's WAL and are sent again.
	await(t, time.Minute, "acknowledgements while the collector is down", func() bool { return acked() >= down+50 }, agent)
	await(t, time.Minute, "two failed forwarding attempts", func() bool {
		return metricSum(t, agentTel, "tracer_agent_forward_failures_total") >= 2
	}, agent)
	await(t, time.Minute, "readiness 503 while the collector is down", func() bool {
		return httpStatus(t, "http://"+agentTel+"/ready") == http.StatusServiceUnavailable
	}, agent)
	t.Logf("%d batches acknowledged before the collector stopped, %d by the time it restarts", down, acked())

	col.start(t, bin)
	back := acked()
	await(t, time.Minute, "acknowledgements after the collector is back", func() bool { return acked() >= back+20 }, agent)
	app.halt()
	n, err := app.state()
	if err != nil {
		t.Fatalf("the application's export failed (the agent never was down): %v\n%s", err, agent.LogText())
	}
	awaitStored(t, col, n, start)
	await(t, time.Minute, "readiness 200 once the collector is back", func() bool {
		return httpStatus(t, "http://"+agentTel+"/ready") == http.StatusOK
	}, agent)
	t.Logf("%d batches (%d spans) acknowledged by the agent, all stored once", n, n*agentPerBatch)

	if err := agent.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := agent.Wait(); err != nil {
		t.Errorf("agent after SIGTERM: %v\n%s", err, agent.LogText())
	}
	if log := agent.LogText(); strings.Contains(log, "panic") || !strings.Contains(log, "collector stopped") {
		t.Errorf("agent log: want a clean stop\n%s", log)
	}
}

// TestAgentCrash: the agent is SIGKILLed mid-stream while it holds
// acknowledged spans it has not forwarded (the collector is frozen with
// SIGSTOP, so they cannot have left); restarted on the same WAL, it sends
// them: every acknowledged span is stored, once as the query API answers.
func TestAgentCrash(t *testing.T) {
	bin := proctest.BuildTracer(t)
	dir := t.TempDir()
	col := newCollectorProc(t, "collector", "memory")
	col.start(t, bin)
	agentGRPC, agentTel := proctest.FreeAddr(t), proctest.FreeAddr(t)
	wal, logPath := filepath.Join(dir, "agent-wal"), filepath.Join(dir, "agent.log")
	first := startAgent(t, bin, wal, agentGRPC, agentTel, logPath, col)

	start := time.Now().Add(-time.Minute)
	app := startSender(t, agentGRPC, start)
	acked := func() int { n, _ := app.state(); return n }
	await(t, time.Minute, "spans at the collector", func() bool { return col.received(t) > 0 }, first, col.p)

	if err := col.p.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	frozen := acked()
	await(t, time.Minute, "acknowledgements while the collector is frozen", func() bool { return acked() >= frozen+50 }, first)
	if err := first.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := first.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("first agent: exit %v, want killed", err)
	}
	<-app.done // its next export fails: the agent is gone
	n, _ := app.state()
	if err := col.p.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d batches acknowledged, %d of them after the collector froze", n, n-frozen)

	second := startAgent(t, bin, wal, agentGRPC, agentTel, logPath, col)
	// It forwards what the first one acknowledged: spans it never received.
	await(t, time.Minute, "the restarted agent forwarding its WAL", func() bool {
		return metricSum(t, agentTel, "tracer_agent_spans_forwarded_total") > 0
	}, second, col.p)
	if got := metricSum(t, agentTel, "tracer_collector_spans_received_total"); got != 0 {
		t.Errorf("the restarted agent received %v spans, want 0 (nothing sends to it)", got)
	}
	awaitStored(t, col, n, start)
}

// TestAgentFailover: with two collectors the first gets the traffic; when
// it is killed the traffic goes to the second; when it is back the traffic
// fails back to it and the second gets nothing more.
func TestAgentFailover(t *testing.T) {
	bin := proctest.BuildTracer(t)
	dir := t.TempDir()
	c1, c2 := newCollectorProc(t, "first", "memory"), newCollectorProc(t, "second", "memory")
	c1.start(t, bin)
	c2.start(t, bin)
	agentGRPC, agentTel := proctest.FreeAddr(t), proctest.FreeAddr(t)
	agent := startAgent(t, bin, filepath.Join(dir, "agent-wal"), agentGRPC, agentTel, filepath.Join(dir, "agent.log"), c1, c2)
	app := startSender(t, agentGRPC, time.Now().Add(-time.Minute))

	const some = 10 * agentPerBatch
	await(t, time.Minute, "traffic at the first collector", func() bool { return c1.received(t) >= some }, agent, c1.p)
	if got := c2.received(t); got != 0 {
		t.Errorf("the second collector received %v spans while the first one worked, want 0", got)
	}

	if err := c1.p.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = c1.p.Wait()
	killed := time.Now()
	await(t, time.Minute, "traffic at the second collector", func() bool { return c2.received(t) >= some }, agent, c2.p)
	t.Logf("failover: the second collector had %d spans %v after the first was killed (the breaker opens after 3 failures)",
		some, time.Since(killed).Round(time.Millisecond))

	c1.start(t, bin) // a new process, an empty memory store: its count starts at 0
	back := time.Now()
	await(t, time.Minute, "traffic back at the first collector", func() bool { return c1.received(t) > 0 }, agent, c1.p)
	t.Logf("fail-back: the first collector got spans %v after it was back (breaker open for 1s)", time.Since(back).Round(time.Millisecond))
	// Once the first works again the second gets nothing more.
	from1 := c1.received(t)
	was2 := c2.received(t)
	await(t, time.Minute, "more traffic at the first collector", func() bool { return c1.received(t) >= from1+some }, agent, c1.p)
	if now2 := c2.received(t); now2 != was2 {
		t.Errorf("the second collector received %v spans after traffic failed back to the first, want 0", now2-was2)
	}
	app.halt()
	if _, err := app.state(); err != nil {
		t.Errorf("the application's export failed: %v", err)
	}
	for _, c := range []*collectorProc{c1, c2} {
		if got := metricSum(t, agentTel, fmt.Sprintf(`tracer_agent_spans_forwarded_total{endpoint=%q}`, c.grpc)); got == 0 {
			t.Errorf("the agent counts no spans forwarded to the %s collector (%s)", c.name, c.grpc)
		}
	}
}
