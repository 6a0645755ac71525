package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
)

const exportMethod = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "otlpload:", err)
		os.Exit(1)
	}
}

type options struct {
	endpoint string
	senders  int
	rate     float64
	duration time.Duration
	requests int
	spans    int
	perTrace int
	distinct int
	seed     uint64
	timeout  time.Duration
}

// result is what a run did.
type result struct {
	requests, spans, rejected, failed int64
	elapsed                           time.Duration
	firstErr                          error
}

func run(ctx context.Context, args []string, out io.Writer) error {
	var o options
	fs := flag.NewFlagSet("otlpload", flag.ContinueOnError)
	fs.StringVar(&o.endpoint, "endpoint", "127.0.0.1:4317", "OTLP/gRPC endpoint (host:port)")
	fs.IntVar(&o.senders, "senders", 4, "concurrent senders, one connection each")
	fs.Float64Var(&o.rate, "rate", 0, "total spans per second (0: as fast as requests are acknowledged)")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "how long to send (0: until -requests are sent)")
	fs.IntVar(&o.requests, "requests", 0, "total requests to send (0: until -duration)")
	fs.IntVar(&o.spans, "spans", 512, "spans per request")
	fs.IntVar(&o.perTrace, "per-trace", 8, "mean spans per trace")
	fs.IntVar(&o.distinct, "distinct", 16, "distinct requests built per sender")
	fs.Uint64Var(&o.seed, "seed", 1, "generator seed")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "deadline of one request")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.senders < 1 || o.spans < 1 || o.distinct < 1 || o.rate < 0 {
		return errors.New("-senders, -spans and -distinct must be positive, -rate not negative")
	}
	if o.duration <= 0 && o.requests <= 0 {
		return errors.New("set -duration or -requests")
	}
	res, err := send(ctx, o)
	if err != nil {
		return err
	}
	secs := res.elapsed.Seconds()
	fmt.Fprintf(out, "requests %d spans %d rejected %d failed %d seconds %.2f spans/s %.0f\n",
		res.requests, res.spans, res.rejected, res.failed, secs, float64(res.spans)/secs)
	if res.requests > 0 && res.failed == res.requests {
		return fmt.Errorf("every request failed, the first with: %w", res.firstErr)
	}
	return nil
}

// send runs o.senders senders until o.duration has passed or o.requests
// are sent (whichever comes first), or ctx is done.
func send(ctx context.Context, o options) (result, error) {
	now := time.Now()
	per := make([][]request, o.senders)
	for i := range per {
		reqs, err := buildRequests(o.distinct, o.spans, o.perTrace, o.seed+uint64(i), now)
		if err != nil {
			return result{}, err
		}
		per[i] = reqs
	}
	conns := make([]*grpc.ClientConn, o.senders)
	for i := range conns {
		c, err := grpc.NewClient(o.endpoint,
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.ForceCodecV2(rawCodec{})))
		if err != nil {
			return result{}, fmt.Errorf("dial %s: %w", o.endpoint, err)
		}
		defer c.Close()
		conns[i] = c
	}
	// runCtx ends the run: no request starts after it; the requests in
	// flight then finish (with ctx) and count.
	runCtx := ctx
	if o.duration > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, o.duration)
		defer cancel()
	}
	// Each sender sends one request every interval (paced), starting
	// spread over the first interval.
	var interval time.Duration
	if o.rate > 0 {
		interval = time.Duration(float64(time.Second) * float64(o.senders*o.spans) / o.rate)
	}
	var (
		res     result
		budget  atomic.Int64 // requests left to start when o.requests > 0
		errOnce sync.Once
		wg      sync.WaitGroup
	)
	budget.Store(int64(o.requests))
	start := time.Now()
	for i := range o.senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			reqs := per[i]
			next := start.Add(interval * time.Duration(i) / time.Duration(o.senders))
			for n := uint64(0); runCtx.Err() == nil; n++ {
				if o.requests > 0 && budget.Add(-1) < 0 {
					return
				}
				if interval > 0 {
					if !sleepUntil(runCtx, next) {
						return
					}
					next = next.Add(interval)
				}
				r := &reqs[n%uint64(len(reqs))]
				if n >= uint64(len(reqs)) {
					r.renew(uint64(i+1)<<48 | n)
				}
				rejected, err := export(ctx, conns[i], r.body, o.timeout)
				atomic.AddInt64(&res.requests, 1)
				if err != nil {
					if ctx.Err() != nil {
						// Interrupted: not a failure.
						atomic.AddInt64(&res.requests, -1)
						return
					}
					atomic.AddInt64(&res.failed, 1)
					errOnce.Do(func() { res.firstErr = err })
					continue
				}
				atomic.AddInt64(&res.spans, int64(r.spans)-rejected)
				atomic.AddInt64(&res.rejected, rejected)
			}
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	return res, nil
}

func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return true
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// export sends body and returns the spans the response's partial success
// says were rejected.
func export(ctx context.Context, c *grpc.ClientConn, body []byte, timeout time.Duration) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var resp rawBytes
	if err := c.Invoke(ctx, exportMethod, rawBytes(body), &resp); err != nil {
		return 0, err
	}
	return rejectedSpans(resp)
}

// rejectedSpans reads partial_success.rejected_spans of an
// ExportTraceServiceResponse.
func rejectedSpans(b []byte) (int64, error) {
	var resp coltracepb.ExportTraceServiceResponse
	if err := proto.Unmarshal(b, &resp); err != nil {
		return 0, err
	}
	return resp.GetPartialSuccess().GetRejectedSpans(), nil
}

// rawBytes is a message already in wire form.
type rawBytes []byte

// rawCodec sends rawBytes as they are and receives into *rawBytes: the
// requests are marshalled once, at start.
type rawCodec struct{}

var _ encoding.CodecV2 = rawCodec{}

func (rawCodec) Name() string { return "proto" }

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	b, ok := v.(rawBytes)
	if !ok {
		return nil, fmt.Errorf("rawCodec: cannot marshal %T", v)
	}
	return mem.BufferSlice{mem.SliceBuffer(b)}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	p, ok := v.(*rawBytes)
	if !ok {
		return fmt.Errorf("rawCodec: cannot unmarshal into %T", v)
	}
	*p = data.Materialize()
	return nil
}
