package demo

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	otelprop "go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracerdev/tracer/examples/demo/demopb"
)

// job is follow-up work for the background worker: the record to check,
// with the producer's trace context and clock in headers, as a message
// broker would carry them.
type job struct {
	id, key string
	headers map[string]string
}

// queue is the bounded in-process queue between Process and the worker.
// A job that finds it full is dropped, never waited for.
type queue struct {
	mu     sync.Mutex
	closed bool
	ch     chan job
	drops  atomic.Int64
}

func newQueue(size int) *queue { return &queue{ch: make(chan job, size)} }

// offer queues j unless the queue is full or closed, and says which.
func (q *queue) offer(j job) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.closed {
		select {
		case q.ch <- j:
			return true
		default:
		}
	}
	q.drops.Add(1)
	return false
}

// close refuses further jobs; the worker then drains what is queued.
func (q *queue) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.closed {
		q.closed = true
		close(q.ch)
	}
}

// dropped counts the jobs refused so far.
func (q *queue) dropped() int64 { return q.drops.Load() }

func messagingAttrs(op, id string) []attribute.KeyValue {
	typ := semconv.MessagingOperationTypeSend
	if op == "process" {
		typ = semconv.MessagingOperationTypeProcess
	}
	return []attribute.KeyValue{
		semconv.MessagingSystemKey.String(queueSystem),
		semconv.MessagingDestinationName(queueDestination),
		semconv.MessagingOperationName(op),
		typ,
		semconv.MessagingMessageID(id),
	}
}

// startWorker starts the goroutine that works the queue. stop closes the
// queue and waits for the worker to drain it, at most stopTimeout: then it
// cancels the job in progress, drops the rest and reports false.
func (b *business) startWorker() (stop func() (drained bool)) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for j := range b.jobs.ch {
			if ctx.Err() != nil {
				b.jobs.drops.Add(1)
				continue
			}
			b.work(ctx, j)
		}
	}()
	return func() bool {
		b.jobs.close()
		defer cancel()
		t := time.NewTimer(stopTimeout)
		defer t.Stop()
		select {
		case <-done:
			return true
		case <-t.C:
			cancel()
			<-done
			return false
		}
	}
}

// work does one job in a consumer span whose parent is the producer's span
// and which links to it, as the messaging semantic conventions have it for
// a single message: it reads the stored record back from service-c.
func (b *business) work(ctx context.Context, j job) {
	ctx = Propagator().Extract(ctx, otelprop.MapCarrier(j.headers))
	producer := trace.SpanContextFromContext(ctx)
	ctx, span := b.tracer.Start(ctx, "process "+queueDestination, trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithLinks(trace.Link{SpanContext: producer}),
		trace.WithAttributes(messagingAttrs("process", j.id)...))
	defer span.End()
	resp, err := b.data.Get(ctx, &demopb.GetRequest{Key: j.key})
	if err != nil {
		span.RecordError(err)
		span.SetStatus(otelcodes.Error, err.Error())
		return
	}
	span.SetAttributes(attribute.Bool("demo.job.found", resp.GetRecord() != nil))
}
