// Command app is the exporter's process-test application: it ends spans at
// a steady rate through Tracer's SDK and the reliable exporter
// (exporter/otlp) and prints its progress and the exporter's counters as
// JSON lines ("progress {...}", "done {...}") on stdout. Trace i (from 1)
// has -per-trace spans: a root and its children; ids come from
// exportertest.TraceID and SpanID, in order.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracerdev/tracer/exporter/otlp"
	"github.com/tracerdev/tracer/exporter/send"
	"github.com/tracerdev/tracer/internal/exportertest"
	"github.com/tracerdev/tracer/sdk"
)

type ids struct {
	mu           sync.Mutex
	trace, spans uint64
}

func (g *ids) NewIDs(context.Context) (trace.TraceID, trace.SpanID) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.trace++
	g.spans++
	return exportertest.TraceID(g.trace), exportertest.SpanID(g.spans)
}

func (g *ids) NewSpanID(context.Context, trace.TraceID) trace.SpanID {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.spans++
	return exportertest.SpanID(g.spans)
}

// Report is one line of output.
type Report struct {
	Ended       int64      `json:"ended"`
	MaxEndNanos int64      `json:"max_end_nanos"`
	Stats       otlp.Stats `json:"stats"`
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "app:", err)
		os.Exit(1)
	}
}

func run() error {
	endpoint := flag.String("endpoint", "", "OTLP/gRPC host:port, or several comma-separated in failover order")
	spool := flag.String("spool", "", "spool directory")
	spans := flag.Int("spans", 10000, "spans to end")
	perTrace := flag.Int("per-trace", 100, "spans per trace")
	rate := flag.Int("rate", 4000, "spans per second")
	queueBytes := flag.Int64("queue-bytes", 2<<20, "memory queue bound in bytes")
	hold := flag.Bool("hold", false, "after the spans, hand them to the exporter and wait to be killed")
	flushTimeout := flag.Duration("flush-timeout", 2*time.Minute, "how long to wait for everything to be sent")
	flag.Parse()

	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx := context.Background()
	var eps []otlp.Option
	for _, ep := range strings.Split(*endpoint, ",") {
		eps = append(eps, otlp.WithGRPCEndpoint(ep))
	}
	exp, err := otlp.New(ctx, append(eps, otlp.WithInsecure(),
		otlp.WithSpool(*spool, 256<<20), otlp.WithQueue(*queueBytes, 0), otlp.WithLogger(log),
		otlp.WithBreaker(send.BreakerConfig{Failures: 3, OpenFor: 500 * time.Millisecond}),
		otlp.WithRetry(send.RetryConfig{InitialInterval: 50 * time.Millisecond, MaxInterval: 500 * time.Millisecond, MaxElapsed: 2 * time.Second}))...)
	if err != nil {
		return err
	}
	tp, err := sdk.New(ctx, sdk.WithServiceName("e2e-exporter"), sdk.WithExporter(exp),
		sdk.WithProviderOptions(sdktrace.WithIDGenerator(&ids{})))
	if err != nil {
		return err
	}
	var ended, maxEnd atomic.Int64
	report := func(kind string) {
		b, _ := json.Marshal(Report{Ended: ended.Load(), MaxEndNanos: maxEnd.Load(), Stats: exp.Stats()})
		fmt.Printf("%s %s\n", kind, b)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				report("progress")
			}
		}
	})
	defer func() {
		close(stop)
		wg.Wait()
	}()

	tracer := tp.Tracer("e2e")
	end := func(s trace.Span) {
		t0 := time.Now()
		s.End()
		if d := time.Since(t0).Nanoseconds(); d > maxEnd.Load() {
			maxEnd.Store(d)
		}
		ended.Add(1)
	}
	tick := time.Second / 100
	perTick := max(*rate/100, 1)
	next := time.Now()
	for n := 0; n < *spans; {
		rctx, root := tracer.Start(ctx, "root", trace.WithAttributes(attribute.Int("seq", n)))
		n++
		for i := 1; i < *perTrace && n < *spans; i++ {
			_, child := tracer.Start(rctx, "child", trace.WithAttributes(attribute.Int("seq", n)))
			end(child)
			n++
			if n%perTick == 0 {
				next = next.Add(tick)
				time.Sleep(time.Until(next))
			}
		}
		end(root)
	}
	// Hand everything the batch processor holds to the exporter.
	fctx, cancel := context.WithTimeout(ctx, *flushTimeout)
	defer cancel()
	if err := tp.ForceFlush(fctx); err != nil {
		return fmt.Errorf("provider flush: %w", err)
	}
	if *hold {
		report("handed")
		select {}
	}
	if err := exp.ForceFlush(fctx); err != nil {
		report("progress")
		return fmt.Errorf("exporter flush: %w", err)
	}
	if err := tp.Shutdown(fctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	report("done")
	return nil
}
