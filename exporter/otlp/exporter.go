package otlp

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/tracerdev/tracer/exporter/send"
	"github.com/tracerdev/tracer/wal"
)

// sender is the sending half: *send.Sender, or a fake in tests.
type sender interface {
	// Send sends body, an encoded ExportTraceServiceRequest of spans spans,
	// retrying until it is accepted, ctx is done or the retries give up;
	// see send.Sender.Send.
	Send(ctx context.Context, body []byte, spans int) (send.Result, error)
	Close() error
}

var (
	_ sender                = (*send.Sender)(nil)
	_ sdktrace.SpanExporter = (*Exporter)(nil)
)

// ErrShutdown is returned by ExportSpans after Shutdown.
var ErrShutdown = errors.New("otlp: exporter is shut down")

// batch is one encoded request in the memory queue.
type batch struct {
	body  []byte
	spans int
}

// job is what the sender sends: memory batches (joined) or a spool record.
type job struct {
	batch
	fromSpool bool
	off       wal.Offset
}

// Exporter is an OpenTelemetry SpanExporter over OTLP that never waits on
// the network: ExportSpans encodes the spans once into an OTLP request and
// queues the bytes in memory; a goroutine sends them, the bytes as they
// are, through send's breakers, retries and failover. With a spool
// (WithSpool) what memory cannot hold, and what could not be sent, goes to
// disk and is replayed, oldest first and alternating with fresh spans, in
// this run or the next. Its methods are safe for concurrent use.
type Exporter struct {
	c     config
	snd   sender
	avail func() bool // the sender's Available, when it has one
	spool *spool      // nil: memory only
	m     metrics
	reg   metric.Registration

	mu       sync.Mutex
	q        []batch // the memory queue, waiting from head on
	head     int
	qBytes   int64 // bytes of the queue, with those taken by the sender or the spiller and not done
	qSpans   int64
	down     bool // the last send failed with a retryable error
	closed   bool // Shutdown began
	changed  chan struct{}
	wakeSend chan struct{}
	wakeSpil chan struct{}
	quit     chan struct{}
	cancel   context.CancelFunc // the sender's context
	wg       sync.WaitGroup     // the sender and the spiller
	// appending counts ExportSpans calls writing to the spool; Add only
	// under mu while !closed.
	appending sync.WaitGroup

	shutdownOnce sync.Once
	lastLog      atomic.Int64 // unix nanos of the last rate-limited log line
}

// New returns an Exporter. It opens the spool, if any (replaying what a
// previous run left there), and starts its goroutines; it does not connect
// (send connects on first use). Without endpoint options it reads
// OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT, _PROTOCOL, _HEADERS, _INSECURE and
// _COMPRESSION as otlptracegrpc and otlptracehttp do.
func New(ctx context.Context, opts ...Option) (*Exporter, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	e := &Exporter{
		c:        c,
		changed:  make(chan struct{}),
		wakeSend: make(chan struct{}, 1),
		wakeSpil: make(chan struct{}, 1),
		quit:     make(chan struct{}),
	}
	e.snd = c.sender
	if e.snd == nil {
		s, err := send.New(send.Config{
			Endpoints:     c.endpoints,
			Spread:        c.spread,
			Timeout:       c.timeout,
			Retry:         c.retry,
			Breaker:       c.breaker,
			MeterProvider: c.meterProvider,
			Logger:        c.logger,
		})
		if err != nil {
			return nil, fmt.Errorf("otlp: %w", err)
		}
		e.snd = s
	}
	if a, ok := e.snd.(interface{ Available() bool }); ok {
		e.avail = a.Available
	}
	if c.spoolDir != "" {
		if e.spool, err = openSpool(c, &e.m); err != nil {
			_ = e.snd.Close()
			return nil, err
		}
	}
	if e.reg, err = e.m.register(c.meterProvider, e); err != nil {
		_ = e.snd.Close()
		if e.spool != nil {
			_ = e.spool.close()
		}
		return nil, err
	}
	sendCtx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	e.wg.Add(1)
	go e.runSender(sendCtx)
	if e.spool != nil {
		e.wg.Add(1)
		go e.runSpiller()
		signal(e.wakeSend) // replay what the last run left
	}
	return e, nil
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// notify wakes the waiters of ForceFlush and Shutdown. e.mu is held.
func (e *Exporter) notify() {
	close(e.changed)
	e.changed = make(chan struct{})
}

// ExportSpans encodes spans into one OTLP request and queues it. It never
// waits on the network. When the memory queue would pass its bounds, the
// request goes straight to the spool (so ExportSpans waits for the disk,
// which happens only when the disk is slower than the spans come), and
// without a spool the oldest requests are dropped (and counted) to make
// room. It fails only after Shutdown.
func (e *Exporter) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	if len(spans) == 0 {
		return nil
	}
	body, n := encodeSpans(spans)
	if n == 0 {
		return nil
	}
	size := int64(len(body))
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		e.m.drop(reasonShutdown, int64(n))
		return ErrShutdown
	}
	if e.spool != nil && e.over(size, n) {
		// The spiller is behind: the disk is slower than the spans come.
		// Wait for the disk rather than lose spans. Shutdown waits for
		// these appends before it closes the spool.
		e.appending.Add(1)
		e.mu.Unlock()
		e.m.queued.Add(int64(n))
		err := e.spool.append(body, n)
		e.appending.Done()
		signal(e.wakeSend)
		signal(e.wakeSpil)
		if err == nil {
			return nil
		}
		e.logLimited("otlp: cannot write to the spool; dropping the oldest spans in memory instead", "error", err)
		e.m.queued.Add(-int64(n))
		e.mu.Lock()
		if e.closed {
			e.mu.Unlock()
			e.m.drop(reasonSpoolError, int64(n))
			return fmt.Errorf("otlp: spool: %w", err)
		}
	}
	for e.head < len(e.q) && e.over(size, n) {
		old := e.q[e.head]
		e.q[e.head] = batch{}
		e.head++
		e.qBytes -= int64(len(old.body))
		e.qSpans -= int64(old.spans)
		e.m.drop(reasonQueueFull, int64(old.spans))
	}
	e.compact()
	e.q = append(e.q, batch{body: body, spans: n})
	e.qBytes += size
	e.qSpans += int64(n)
	if e.qBytes > e.m.maxQueueBytes.Load() {
		e.m.maxQueueBytes.Store(e.qBytes)
	}
	spill := e.spool != nil && e.shouldSpill()
	e.mu.Unlock()
	e.m.queued.Add(int64(n))
	signal(e.wakeSend)
	if spill {
		signal(e.wakeSpil)
	}
	return nil
}

// over reports whether a batch of size bytes and n spans would take the
// queue past a bound. e.mu is held.
func (e *Exporter) over(size int64, n int) bool {
	return e.qBytes+size > e.c.queueBytes || e.qSpans+int64(n) > e.c.queueSpans
}

// compact moves the waiting batches to the front once enough were taken.
// e.mu is held.
func (e *Exporter) compact() {
	if e.head == len(e.q) {
		clear(e.q)
		e.q, e.head = e.q[:0], 0
		return
	}
	if e.head > 64 && e.head > len(e.q)/2 {
		n := copy(e.q, e.q[e.head:])
		clear(e.q[n:])
		e.q, e.head = e.q[:n], 0
	}
}

// shouldSpill: the endpoints are down (the last send failed, or every
// breaker is open), or the queue holds half its bound. e.mu is held.
func (e *Exporter) shouldSpill() bool {
	if e.head == len(e.q) {
		return false
	}
	return e.down || e.qBytes > e.c.queueBytes/2 || e.qSpans > e.c.queueSpans/2 || (e.avail != nil && !e.avail())
}

// take removes batches from the front of the queue, joined up to the send
// batch bounds (at least one). They stay counted in qBytes until done.
// e.mu is held; the queue is not empty.
func (e *Exporter) take() batch {
	first := e.q[e.head]
	e.q[e.head] = batch{}
	e.head++
	bytes, spans := int64(len(first.body)), int64(first.spans)
	j := e.head
	for j < len(e.q) && bytes+int64(len(e.q[j].body)) <= e.c.batchBytes && spans+int64(e.q[j].spans) <= e.c.batchSpans {
		bytes += int64(len(e.q[j].body))
		spans += int64(e.q[j].spans)
		j++
	}
	if j == e.head {
		return first
	}
	// ExportTraceServiceRequest has one repeated field: the concatenation
	// of requests is the request of all their resource spans.
	body := make([]byte, 0, bytes)
	body = append(body, first.body...)
	for ; e.head < j; e.head++ {
		body = append(body, e.q[e.head].body...)
		e.q[e.head] = batch{}
	}
	return batch{body: body, spans: int(spans)}
}

// putBack returns b to the front of the queue (it is still counted).
// e.mu is held.
func (e *Exporter) putBack(b batch) {
	if e.head > 0 {
		e.head--
		e.q[e.head] = b
		return
	}
	e.q = append(e.q, batch{})
	copy(e.q[1:], e.q)
	e.q[0] = b
}

// release stops counting b in the queue. e.mu is held.
func (e *Exporter) release(b batch) {
	e.qBytes -= int64(len(b.body))
	e.qSpans -= int64(b.spans)
	e.compact()
	e.notify()
}

func (e *Exporter) runSender(ctx context.Context) {
	defer e.wg.Done()
	preferSpool := true
	for {
		select {
		case <-e.quit:
			return
		default:
		}
		j, ok := e.next(preferSpool)
		if !ok {
			select {
			case <-e.wakeSend:
				continue
			case <-e.quit:
				return
			}
		}
		// Alternate: a spool record after fresh spans, fresh spans after a
		// spool record, so neither starves the other.
		preferSpool = !j.fromSpool
		res, err := e.snd.Send(ctx, j.body, j.spans)
		if e.finish(j, res, err) {
			continue
		}
		t := time.NewTimer(e.c.retryPause)
		select {
		case <-t.C:
		case <-e.quit:
			t.Stop()
			return
		}
	}
}

// next picks what to send: the spool's oldest record or the memory queue's
// oldest batches, preferring the spool when preferSpool and there is a
// choice. After Shutdown began only memory is sent: the spool keeps.
func (e *Exporter) next(preferSpool bool) (job, bool) {
	e.mu.Lock()
	haveMem := e.head < len(e.q)
	closed := e.closed
	e.mu.Unlock()
	if e.spool != nil && !closed && (preferSpool || !haveMem) {
		if off, n, body, ok := e.spool.next(); ok {
			return job{batch: batch{body: body, spans: n}, fromSpool: true, off: off}, true
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.head == len(e.q) {
		return job{}, false
	}
	return job{batch: e.take()}, true
}

// finish accounts for a send's outcome; it reports whether the send ended
// the data's journey (accepted or lost for good) rather than failing.
func (e *Exporter) finish(j job, res send.Result, err error) bool {
	spans := int64(j.spans)
	retry := err != nil && !send.IsPermanent(err)
	switch {
	case err == nil:
		rejected := min(max(res.Rejected, 0), spans)
		e.m.sent.Add(spans - rejected)
		e.m.drop(reasonRejected, rejected)
		if j.fromSpool {
			e.m.replayed.Add(spans - rejected)
		}
		if rejected > 0 {
			e.logLimited("otlp: endpoint rejected spans (partial success); they are not retried", "endpoint", res.Endpoint, "rejected", rejected, "message", res.Message)
		}
	case !retry:
		e.m.drop(reasonPermanent, spans)
		e.logLimited("otlp: permanent export error; the request's spans are dropped", "error", err, "spans", spans)
	default:
		e.m.retries.Add(1)
	}
	if j.fromSpool {
		if e.spool.done(j.off, !retry) && retry {
			e.m.drop(reasonSpoolFull, spans)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if retry {
		if !e.down {
			e.c.logger.Warn("otlp: cannot export; keeping spans (in the spool if there is one) and retrying", "error", err)
		}
		e.down = true
		if !j.fromSpool {
			e.putBack(j.batch)
		}
		if e.spool != nil {
			signal(e.wakeSpil)
		}
		e.notify()
		return false
	}
	if e.down {
		e.down = false
		e.c.logger.Info("otlp: exporting again")
	}
	if !j.fromSpool {
		e.release(j.batch)
	} else {
		e.notify()
	}
	return true
}

func (e *Exporter) logLimited(msg string, args ...any) {
	now := time.Now().UnixNano()
	last := e.lastLog.Load()
	if now-last < int64(10*time.Second) || !e.lastLog.CompareAndSwap(last, now) {
		return
	}
	e.c.logger.Warn(msg, args...)
}

func (e *Exporter) runSpiller() {
	defer e.wg.Done()
	for {
		select {
		case <-e.wakeSpil:
		case <-e.quit:
			return
		}
		for {
			e.mu.Lock()
			if !e.shouldSpill() {
				e.mu.Unlock()
				break
			}
			b := e.take()
			e.mu.Unlock()
			err := e.spool.append(b.body, b.spans)
			e.mu.Lock()
			if err != nil {
				// Keep it in memory and try again later.
				e.putBack(b)
				e.notify()
				e.mu.Unlock()
				e.logLimited("otlp: cannot write to the spool; keeping spans in memory", "error", err)
				t := time.NewTimer(e.c.retryPause)
				select {
				case <-t.C:
				case <-e.quit:
					t.Stop()
					return
				}
				continue
			}
			e.release(b)
			e.mu.Unlock()
			signal(e.wakeSend)
		}
	}
}

// ForceFlush waits until the memory queue and the spool are empty (sent,
// or dropped and counted), or ctx is done. Under continuous load it returns
// at the first moment both are empty.
func (e *Exporter) ForceFlush(ctx context.Context) error {
	signal(e.wakeSend)
	for {
		e.mu.Lock()
		empty := e.qBytes == 0
		ch := e.changed
		e.mu.Unlock()
		if empty && (e.spool == nil || !e.spool.pending()) {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond): // the spool changes without notice
		}
	}
}

// Shutdown stops the exporter within ctx's deadline: it refuses new spans,
// sends what is in memory until the queue is empty or ctx is done, then
// writes what is left to the spool (with a spool; without one it is
// dropped and counted, reason "shutdown") and closes it, where the next
// Exporter on the same directory finds it. It returns ctx's error when
// spans were dropped because ctx ended first. Later calls return nil.
func (e *Exporter) Shutdown(ctx context.Context) error {
	err := error(nil)
	e.shutdownOnce.Do(func() { err = e.shutdown(ctx) })
	return err
}

func (e *Exporter) shutdown(ctx context.Context) error {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	signal(e.wakeSend)
	var ctxErr error
	for {
		e.mu.Lock()
		empty := e.qBytes == 0
		ch := e.changed
		e.mu.Unlock()
		if empty {
			break
		}
		if e.spool != nil {
			signal(e.wakeSpil)
		}
		select {
		case <-ch:
			continue
		case <-ctx.Done():
			ctxErr = ctx.Err()
		}
		break
	}
	close(e.quit)
	e.cancel()
	e.wg.Wait()
	e.appending.Wait()

	var errs []error
	e.mu.Lock()
	left := e.q[e.head:]
	e.q, e.head, e.qBytes, e.qSpans = nil, 0, 0, 0
	e.notify()
	e.mu.Unlock()
	dropped := false
	for _, b := range left {
		if e.spool == nil {
			e.m.drop(reasonShutdown, int64(b.spans))
			dropped = true
			continue
		}
		if err := e.spool.append(b.body, b.spans); err != nil {
			e.m.drop(reasonSpoolError, int64(b.spans))
			errs = append(errs, fmt.Errorf("otlp: spool at shutdown: %w", err))
			dropped = true
		}
	}
	if dropped && ctxErr != nil {
		errs = append(errs, ctxErr)
	}
	if e.spool != nil {
		if err := e.spool.close(); err != nil {
			errs = append(errs, fmt.Errorf("otlp: spool: %w", err))
		}
	}
	if err := e.snd.Close(); err != nil {
		errs = append(errs, fmt.Errorf("otlp: %w", err))
	}
	if err := e.reg.Unregister(); err != nil {
		errs = append(errs, fmt.Errorf("otlp: metrics: %w", err))
	}
	return errors.Join(errs...)
}

// Stats returns the exporter's counters.
func (e *Exporter) Stats() Stats {
	st := Stats{
		Queued:        e.m.queued.Load(),
		Spilled:       e.m.spilled.Load(),
		Replayed:      e.m.replayed.Load(),
		Sent:          e.m.sent.Load(),
		Retries:       e.m.retries.Load(),
		MaxQueueBytes: e.m.maxQueueBytes.Load(),
		Dropped:       make(map[string]int64, numReasons),
	}
	for i, n := range reasonNames {
		st.Dropped[n] = e.m.dropped[i].Load()
	}
	e.mu.Lock()
	st.QueueBytes, st.QueueSpans = e.qBytes, e.qSpans
	closed := e.closed
	e.mu.Unlock()
	if e.spool != nil && !closed {
		st.SpoolBytes = e.spool.bytes()
	}
	return st
}
