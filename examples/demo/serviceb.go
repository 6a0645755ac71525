package demo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	otelprop "go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/tracerdev/tracer/examples/demo/demopb"
	"github.com/tracerdev/tracer/interceptors"
)

// ServiceBConfig configures service-b, the business service.
type ServiceBConfig struct {
	Telemetry
	// ServiceC is the address of service-c (host:port).
	ServiceC string
	// QueueSize bounds the background worker's queue; 0 means
	// DefaultQueueSize. A job that finds the queue full is dropped (the
	// request still succeeds, its producer span says so).
	QueueSize int
	Logger    *slog.Logger
}

// DefaultQueueSize is the worker queue's bound when ServiceBConfig leaves it
// 0.
const DefaultQueueSize = 64

// Validate reports what is wrong with c.
func (c ServiceBConfig) Validate() error {
	var errs []error
	if c.ServiceC == "" {
		errs = append(errs, errors.New("no service-c address"))
	}
	if c.QueueSize < 0 {
		errs = append(errs, fmt.Errorf("queue size %d: want 0 or more", c.QueueSize))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("service-b: %w", err)
	}
	return nil
}

// RunServiceB serves service-b's gRPC Business service on lis until ctx is
// done, then stops gracefully, drains its background worker and flushes its
// spans.
//
// Under the server span of each call ("tracer.examples.demo.v1.Business/
// Search", ".../Process") it makes client spans for its calls to service-c
// ("tracer.examples.demo.v1.Data/Get", ...):
//   - Search: one "Data/Scan" for a query ending in * (its prefix); for
//     several words, concurrent "Data/Get" siblings, the keys word:0 to
//     word:2 of each word (8 at most); a single word does either at random;
//   - Process: "Data/Put" attempts (at most 3, while service-c
//     answers Unavailable; each with retry.attempt, from 1; an event "retry"
//     with retry.attempt and retry.backoff on the server span before each
//     retry, demo.put.attempts on it at the end), then
//     "send followups" (producer; messaging.system "tracer-demo-queue",
//     messaging.operation.type "send", messaging.destination.name
//     "followups", messaging.message.id the job id). The worker's
//     "process followups" (consumer; messaging.operation.type "process")
//     is the producer's child and links to it, and makes a "Data/Get" of the
//     stored record, after the request has been answered.
func RunServiceB(ctx context.Context, lis net.Listener, cfg ServiceBConfig) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	log := logger(cfg.Logger)
	tp, err := NewProvider(ctx, "service-b", cfg.Telemetry)
	if err != nil {
		return err
	}
	conn, err := grpc.NewClient(cfg.ServiceC,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithStatsHandler(interceptors.NewClientHandler(
			interceptors.WithTracerProvider(attempts(tp)), interceptors.WithPropagators(Propagator()))))
	if err != nil {
		return errors.Join(fmt.Errorf("service-b: service-c client: %w", err), shutdownProvider(tp))
	}
	size := cfg.QueueSize
	if size == 0 {
		size = DefaultQueueSize
	}
	b := newBusiness(tp.Tracer("github.com/tracerdev/tracer/examples/demo/service-b"), demopb.NewDataClient(conn), size)
	stopWorker := b.startWorker()

	srv := grpc.NewServer(serverOptions(tp)...)
	demopb.RegisterBusinessServer(srv, b)
	log.Info("service-b listening", "addr", lis.Addr().String(), "service-c", cfg.ServiceC, "spans", cfg.Telemetry.destination())
	err = serve(ctx, srv, lis)
	drained := stopWorker()
	if n := b.jobs.dropped(); n > 0 {
		log.Warn("service-b dropped background jobs: the queue was full", "dropped", n)
	}
	if !drained {
		log.Warn("service-b gave up waiting for its background worker", "timeout", stopTimeout)
	}
	return errors.Join(err, conn.Close(), shutdownProvider(tp))
}

// Search's shape: a query ending in * scans for the prefix (a streaming
// call); several words look each word's first searchFanout records up in
// parallel (one Get each, at most searchMaxKeys); a single word does
// either, scanning in searchScanShare of the requests.
const (
	searchFanout    = 3
	searchMaxKeys   = 8
	searchScanShare = 0.3
	searchMaxLimit  = 100
)

// Process's retries of a Put that finds service-c unavailable.
const (
	putAttempts = 3
	putBackoff  = 20 * time.Millisecond // doubled for each retry, with jitter
)

// The in-process queue, as the messaging semantic conventions name it.
const (
	queueSystem      = "tracer-demo-queue"
	queueDestination = "followups"
)

// business is service-b's Business service.
type business struct {
	demopb.UnimplementedBusinessServer
	tracer trace.Tracer
	data   demopb.DataClient
	jobs   *queue
}

var _ demopb.BusinessServer = (*business)(nil)

func newBusiness(tracer trace.Tracer, data demopb.DataClient, queueSize int) *business {
	return &business{tracer: tracer, data: data, jobs: newQueue(queueSize)}
}

// Search looks the query's records up in service-c.
func (b *business) Search(ctx context.Context, req *demopb.SearchRequest) (*demopb.SearchResponse, error) {
	q := strings.TrimSpace(req.GetQuery())
	if q == "" {
		return nil, status.Error(codes.InvalidArgument, "search: empty query")
	}
	limit := int(req.GetLimit())
	if limit < 0 {
		return nil, status.Errorf(codes.InvalidArgument, "search: limit %d: want 0 or more", limit)
	}
	if limit == 0 || limit > searchMaxLimit {
		limit = searchMaxLimit
	}
	words := strings.Fields(q)
	var (
		results []*demopb.Record
		err     error
	)
	switch {
	case strings.HasSuffix(q, "*"):
		results, err = b.scan(ctx, strings.TrimSuffix(q, "*"), limit)
	case len(words) == 1 && rand.Float64() < searchScanShare:
		results, err = b.scan(ctx, words[0], limit)
	default:
		results, err = b.getAll(ctx, searchKeys(words), limit)
	}
	if err != nil {
		return nil, err
	}
	return &demopb.SearchResponse{Results: results}, nil
}

// searchKeys returns the keys a search for words reads.
func searchKeys(words []string) []string {
	var keys []string
	for _, w := range words {
		for i := range searchFanout {
			key := fmt.Sprintf("%s:%d", w, i)
			if len(keys) < searchMaxKeys && !slices.Contains(keys, key) {
				keys = append(keys, key)
			}
		}
	}
	return keys
}

// scan streams the records with the prefix from service-c.
func (b *business) scan(ctx context.Context, prefix string, limit int) ([]*demopb.Record, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the stream if we stop reading early
	stream, err := b.data.Scan(ctx, &demopb.ScanRequest{Prefix: prefix, Limit: int32(limit)})
	if err != nil {
		return nil, fromServiceC("scan", err)
	}
	var out []*demopb.Record
	for {
		rec, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fromServiceC("scan", err)
		}
		out = append(out, rec)
	}
}

// getAll gets the keys from service-c in parallel, each in its own call,
// and returns the records found in key order. The first failure cancels
// the others.
func (b *business) getAll(ctx context.Context, keys []string, limit int) ([]*demopb.Record, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	found := make([]*demopb.Record, len(keys))
	var wg sync.WaitGroup
	for i, key := range keys {
		wg.Go(func() {
			resp, err := b.data.Get(ctx, &demopb.GetRequest{Key: key})
			if err != nil {
				cancel(err) // the first cause wins
				return
			}
			found[i] = resp.GetRecord()
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, fromServiceC("get", err)
	}
	var out []*demopb.Record
	for _, rec := range found {
		if rec != nil && len(out) < limit {
			out = append(out, rec)
		}
	}
	return out, nil
}

// Process stores the data in service-c, retrying while it is unavailable,
// then queues follow-up work for the background worker.
func (b *business) Process(ctx context.Context, req *demopb.ProcessRequest) (*demopb.ProcessResponse, error) {
	if req.GetData() == "" {
		return nil, status.Error(codes.InvalidArgument, "process: empty data")
	}
	sum := sha256.Sum256([]byte(req.GetData()))
	rec := &demopb.Record{Key: "doc:" + hex.EncodeToString(sum[:6]), Value: req.GetData()}
	attempts, err := b.putWithRetry(ctx, rec)
	trace.SpanFromContext(ctx).SetAttributes(attribute.Int("demo.put.attempts", attempts))
	if err != nil {
		return nil, err
	}
	jobID := b.enqueue(ctx, rec.GetKey())
	return &demopb.ProcessResponse{JobId: jobID, Attempts: int32(attempts)}, nil
}

// putWithRetry puts rec, retrying with exponential backoff while service-c
// answers Unavailable. Each attempt is a client span of its own with its
// number (retry.attempt, from 1); each retry is also an event "retry" on the
// caller's span with the attempt it starts and the backoff. It returns the
// number of attempts made.
func (b *business) putWithRetry(ctx context.Context, rec *demopb.Record) (int, error) {
	span := trace.SpanFromContext(ctx)
	backoff := putBackoff
	for attempt := 1; ; attempt++ {
		_, err := b.data.Put(withAttempt(ctx, attempt), &demopb.PutRequest{Record: rec})
		if err == nil {
			return attempt, nil
		}
		if status.Code(err) != codes.Unavailable || attempt == putAttempts {
			return attempt, fromServiceC("put", err)
		}
		wait := backoff/2 + rand.N(backoff) // jitter: 0.5 to 1.5 times
		span.AddEvent("retry", trace.WithAttributes(
			attribute.Int("retry.attempt", attempt+1),
			attribute.String("retry.backoff", wait.String()),
			attribute.String("error.message", status.Convert(err).Message())))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return attempt, status.FromContextError(ctx.Err()).Err()
		case <-t.C:
		}
		backoff *= 2
	}
}

// fromServiceC turns service-c's error into service-b's answer: what
// service-b's caller can act on (Unavailable: retry later; a deadline or a
// cancellation: its own) keeps its code, anything else is service-b's
// fault (Internal).
func fromServiceC(op string, err error) error {
	s, ok := status.FromError(err)
	if !ok {
		s = status.FromContextError(err)
	}
	code := s.Code()
	switch code {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Canceled, codes.ResourceExhausted:
	default:
		code = codes.Internal
	}
	return status.Errorf(code, "service-c %s: %s", op, s.Message())
}

// enqueue hands the follow-up work for key to the worker, in a producer
// span whose context travels with the job as a message's headers would. It
// returns the job's id, or "" when the queue was full and the job dropped.
func (b *business) enqueue(ctx context.Context, key string) string {
	id := newJobID()
	ctx, span := b.tracer.Start(ctx, "send "+queueDestination, trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(messagingAttrs("send", id)...))
	defer span.End()
	j := job{id: id, key: key, headers: make(map[string]string, 3)}
	Propagator().Inject(ctx, otelprop.MapCarrier(j.headers))
	if !b.jobs.offer(j) {
		span.SetAttributes(attribute.Bool("messaging.dropped", true), attribute.String("error.type", "queue_full"))
		span.SetStatus(otelcodes.Error, "queue full: job dropped")
		return ""
	}
	return id
}

func newJobID() string {
	var b [8]byte
	for i := range b {
		b[i] = byte(rand.Uint32())
	}
	return hex.EncodeToString(b[:])
}
