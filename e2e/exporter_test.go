package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tracerdev/tracer/exporter/otlp"
	"github.com/tracerdev/tracer/internal/exportertest"
	"github.com/tracerdev/tracer/internal/proctest"
)

// The reliable exporter's process tests: the test application
// (internal/exportertest/app) ends spans through Tracer's SDK and
// exporter/otlp with a spool, against the real "tracer all-in-one" (its
// collector, WAL and embedded store, and the query API to read back).

// appReport is a line the application prints.
type appReport struct {
	Ended       int64      `json:"ended"`
	MaxEndNanos int64      `json:"max_end_nanos"`
	Stats       otlp.Stats `json:"stats"`
}

func buildExporterApp(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	bin := filepath.Join(t.TempDir(), "app")
	cmd := exec.Command("go", "build", "-o", bin, "./internal/exportertest/app")
	cmd.Dir = filepath.Join(filepath.Dir(file), "..")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build the exporter's test application: %v\n%s", err, out)
	}
	return bin
}

// lastReport returns the application's last report of one of kinds.
func lastReport(p *proctest.Process, kinds ...string) (appReport, bool) {
	lines := strings.Split(p.LogText(), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		for _, k := range kinds {
			if js, ok := strings.CutPrefix(lines[i], k+" "); ok {
				var r appReport
				if json.Unmarshal([]byte(js), &r) == nil {
					return r, true
				}
			}
		}
	}
	return appReport{}, false
}

// waitReport polls the application's reports until cond holds, for at
// most two minutes.
func waitReport(t *testing.T, p *proctest.Process, what string, cond func(appReport) bool) appReport {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
		if r, ok := lastReport(p, "progress", "handed", "done"); ok && cond(r) {
			return r
		}
		select {
		case <-p.Exited():
			t.Fatalf("the application exited before %s: %v\n%s", what, p.Wait(), p.LogText())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s\n%s", what, p.LogText())
		}
	}
}

// waitDone waits for the application to exit and returns its last report.
func waitDone(t *testing.T, p *proctest.Process) appReport {
	t.Helper()
	select {
	case <-p.Exited():
	case <-time.After(3 * time.Minute):
		t.Fatalf("the application did not finish\n%s", p.LogText())
	}
	if err := p.Wait(); err != nil {
		t.Fatalf("the application failed: %v\n%s", err, p.LogText())
	}
	r, ok := lastReport(p, "done")
	if !ok {
		t.Fatalf("no final report\n%s", p.LogText())
	}
	return r
}

type allInOne struct {
	bin, dir                     string
	grpc, http, query, telemetry string
	p                            *proctest.Process
}

func newAllInOne(t *testing.T, bin string) *allInOne {
	return &allInOne{bin: bin, dir: t.TempDir(),
		grpc: proctest.FreeAddr(t), http: proctest.FreeAddr(t), query: proctest.FreeAddr(t), telemetry: proctest.FreeAddr(t)}
}

func (a *allInOne) start(t *testing.T) {
	t.Helper()
	a.p = proctest.Start(t, a.bin, []string{"all-in-one",
		"--grpc-endpoint", a.grpc, "--http-endpoint", a.http, "--query-endpoint", a.query, "--telemetry-endpoint", a.telemetry,
		"--wal-dir", filepath.Join(a.dir, "wal"), "--badger-dir", filepath.Join(a.dir, "badger"), "--batch-timeout", "50ms",
	}, filepath.Join(a.dir, "all-in-one.log"))
	a.p.WaitHealthy(t, a.telemetry)
}

func (a *allInOne) kill(t *testing.T) {
	t.Helper()
	if err := a.p.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-a.p.Exited()
}

// checkStored polls the query API until trace 1 ... spans/perTrace hold
// exactly the spans the application ended, each once, for at most two
// minutes.
func checkStored(t *testing.T, queryAddr string, spans, perTrace int) {
	t.Helper()
	a := newAPI(queryAddr)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	traces := (spans + perTrace - 1) / perTrace
	var last string
	for tr := 1; tr <= traces; tr++ {
		id := exportertest.TraceID(uint64(tr)).String()
		first := (tr-1)*perTrace + 1
		n := min(perTrace, spans-first+1)
		for {
			got, status, err := a.v1Trace(ctx, id)
			if err == nil && len(got) == n {
				seen := map[string]bool{}
				for _, s := range got {
					seen[s.SpanID] = true
				}
				missing := 0
				for i := first; i < first+n; i++ {
					if !seen[exportertest.SpanID(uint64(i)).String()] {
						missing++
					}
				}
				if missing == 0 {
					break
				}
				last = fmt.Sprintf("trace %s: %d of its spans are not the expected ones", id, missing)
			} else {
				last = fmt.Sprintf("trace %s: %d spans, want %d (status %d, %v)", id, len(got), n, status, err)
			}
			if ctx.Err() != nil {
				t.Fatalf("storage does not hold every span exactly once: %s", last)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}

// TestExporterCollectorRestart: an application ends spans at a steady rate
// while the all-in-one is SIGKILLed and, a while later, started again on
// the same data: every span reaches storage exactly once, End() returns
// throughout (its longest call is logged, not asserted), the exporter's
// memory stays under its bound, and it spilled and replayed.
func TestExporterCollectorRestart(t *testing.T) {
	bin, app := proctest.BuildTracer(t), buildExporterApp(t)
	aio := newAllInOne(t, bin)
	aio.start(t)
	const spans, perTrace, queueBytes = 20000, 100, 1 << 20
	dir := t.TempDir()
	p := proctest.Start(t, app, []string{"-endpoint", aio.grpc, "-spool", filepath.Join(dir, "spool"),
		"-spans", fmt.Sprint(spans), "-per-trace", fmt.Sprint(perTrace), "-rate", "4000", "-queue-bytes", fmt.Sprint(queueBytes)},
		filepath.Join(dir, "app.log"))
	waitReport(t, p, "a quarter of the spans sent", func(r appReport) bool { return r.Stats.Sent >= spans/4 })
	aio.kill(t)
	down := waitReport(t, p, "spans spilled while the collector is down", func(r appReport) bool {
		return r.Stats.Spilled > 0 && r.Ended >= spans/2
	})
	t.Logf("collector down: %d spans ended, %d sent, %d spilled", down.Ended, down.Stats.Sent, down.Stats.Spilled)
	aio.start(t)
	done := waitDone(t, p)
	st := done.Stats
	t.Logf("longest span.End(): %v; exporter: queued %d, sent %d, spilled %d, replayed %d, retries %d, most memory %d bytes (bound %d)",
		time.Duration(done.MaxEndNanos), st.Queued, st.Sent, st.Spilled, st.Replayed, st.Retries, st.MaxQueueBytes, queueBytes)
	if done.Ended != spans || st.Queued != spans {
		t.Errorf("ended %d, queued %d, want %d", done.Ended, st.Queued, spans)
	}
	if st.DroppedTotal() != 0 {
		t.Errorf("dropped %v, want none", st.Dropped)
	}
	if st.MaxQueueBytes > queueBytes {
		t.Errorf("the memory queue held %d bytes, bound %d", st.MaxQueueBytes, queueBytes)
	}
	if st.Spilled == 0 || st.Replayed == 0 || st.Sent < spans {
		t.Errorf("stats %+v: want spills, replays and every span sent", st)
	}
	checkStored(t, aio.query, spans, perTrace)
}

// TestExporterSpoolSurvivesSIGKILL: with no collector the application's
// spans go to its spool; SIGKILLed and started again on the same spool
// with a collector up, it replays them, and storage holds each once.
func TestExporterSpoolSurvivesSIGKILL(t *testing.T) {
	bin, app := proctest.BuildTracer(t), buildExporterApp(t)
	aio := newAllInOne(t, bin)
	const spans, perTrace = 3000, 100
	dir := t.TempDir()
	spool := filepath.Join(dir, "spool")
	p := proctest.Start(t, app, []string{"-endpoint", aio.grpc, "-spool", spool,
		"-spans", fmt.Sprint(spans), "-per-trace", fmt.Sprint(perTrace), "-rate", "20000", "-hold"},
		filepath.Join(dir, "app1.log"))
	r := waitReport(t, p, "every span spilled", func(r appReport) bool {
		return r.Stats.Queued == spans && r.Stats.Spilled == spans && r.Stats.QueueBytes == 0
	})
	if r.Stats.Sent != 0 {
		t.Fatalf("%d spans sent with no collector", r.Stats.Sent)
	}
	if err := p.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.Exited()

	aio.start(t)
	p2 := proctest.Start(t, app, []string{"-endpoint", aio.grpc, "-spool", spool, "-spans", "0"},
		filepath.Join(dir, "app2.log"))
	done := waitDone(t, p2)
	if done.Stats.Replayed != spans || done.Stats.DroppedTotal() != 0 {
		t.Errorf("the restarted application: stats %+v, want %d replayed and none dropped", done.Stats, spans)
	}
	checkStored(t, aio.query, spans, perTrace)
}

// received reads the all-in-one's count of spans received over gRPC
// (since its start), or -1 when its metrics do not answer.
func (a *allInOne) received() float64 {
	client := &http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get("http://" + a.telemetry + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, `tracer_collector_spans_received_total{transport="grpc"} `); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

func waitReceived(t *testing.T, a *allInOne, what string, p *proctest.Process) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Minute); a.received() <= 0; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			r, _ := lastReport(p, "progress")
			t.Fatalf("timed out waiting for %s (application: %+v)", what, r)
		}
	}
}

// storedIn returns the spans of trace 1 ... spans/perTrace that the
// all-in-one's store holds, by span id.
func storedIn(t *testing.T, queryAddr string, spans, perTrace int) map[string]int {
	t.Helper()
	a := newAPI(queryAddr)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out := map[string]int{}
	for tr := 1; tr <= (spans+perTrace-1)/perTrace; tr++ {
		got, status, err := a.v1Trace(ctx, exportertest.TraceID(uint64(tr)).String())
		if err != nil {
			t.Fatalf("trace %d: %v", tr, err)
		}
		if status != http.StatusOK {
			continue
		}
		for _, s := range got {
			out[s.SpanID]++
		}
	}
	return out
}

// TestExporterFailover: two all-in-ones in failover order; the first is
// SIGKILLed under load and the spans go to the second; the first is
// started again and the traffic fails back to it. Every span ends up in
// one of the two stores (a span whose answer was lost with the first may
// be in both: delivery is at least once; the count is logged).
func TestExporterFailover(t *testing.T) {
	bin, app := proctest.BuildTracer(t), buildExporterApp(t)
	first, second := newAllInOne(t, bin), newAllInOne(t, bin)
	first.start(t)
	second.start(t)
	const spans, perTrace = 40000, 100
	dir := t.TempDir()
	p := proctest.Start(t, app, []string{"-endpoint", first.grpc + "," + second.grpc, "-spool", filepath.Join(dir, "spool"),
		"-spans", fmt.Sprint(spans), "-per-trace", fmt.Sprint(perTrace), "-rate", "4000"},
		filepath.Join(dir, "app.log"))
	waitReport(t, p, "spans sent to the first", func(r appReport) bool { return r.Stats.Sent >= 2000 })
	if n := second.received(); n != 0 {
		t.Fatalf("the second collector received %v spans while the first was up, want 0", n)
	}
	first.kill(t)
	waitReceived(t, second, "spans at the second collector after the first was killed", p)
	r := waitReport(t, p, "more spans ended", func(r appReport) bool { return r.Ended >= spans/2 })
	t.Logf("first collector down: %d ended, %d sent", r.Ended, r.Stats.Sent)
	first.start(t)
	waitReceived(t, first, "spans back at the restarted first collector (fail-back)", p)
	atSecond := second.received()
	done := waitDone(t, p)
	if d := done.Stats.DroppedTotal(); d != 0 || done.Stats.Sent < spans {
		t.Errorf("stats %+v: want every span sent, none dropped", done.Stats)
	}
	// After fail-back the second gets nothing more (bounded wait for
	// anything in flight: its count after the application finished).
	if n := second.received(); n != atSecond {
		t.Logf("the second collector received %v spans after fail-back was seen (in flight then)", n-atSecond)
	}
	// The stores may still be writing the last batches: poll.
	var a, b map[string]int
	both, missing := 0, 0
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(time.Second) {
		a, b = storedIn(t, first.query, spans, perTrace), storedIn(t, second.query, spans, perTrace)
		both, missing = 0, 0
		for i := 1; i <= spans; i++ {
			id := exportertest.SpanID(uint64(i)).String()
			switch {
			case a[id] > 1 || b[id] > 1:
				t.Fatalf("span %s stored twice in one store", id)
			case a[id]+b[id] == 0:
				missing++
			case a[id] == 1 && b[id] == 1:
				both++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d spans in neither store", missing, spans)
		}
	}
	t.Logf("first store %d spans, second %d, in both %d", len(a), len(b), both)
	if len(b) == 0 || len(a) <= 2000 {
		t.Errorf("the second store has %d spans (want some: failover), the first %d (want more than before the kill: fail-back)", len(b), len(a))
	}
}
