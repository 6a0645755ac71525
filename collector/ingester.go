package collector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/bits"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tracerdev/tracer/collector/otlp"
	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/wal"
)

// Ingester is "tracer ingester": a member of a Kafka consumer group that
// reads OTLP messages (see kafka_source.go) from Config.Kafka.Topic, writes
// their spans to a storage.Writer in batches, and commits a partition's
// offset only past messages whose spans storage has written.
//
// It follows Jaeger's ingester (cmd/ingester/app/consumer: a message's
// offset is marked only after its processor wrote it, committing_processor.go,
// and commits never pass an unwritten message, offset/manager.go; failed
// writes retried with exponential backoff and jitter,
// processor/decorator/retry.go), made synchronous: one loop per process
// polls every partition it owns, batches by spans, bytes and age
// (Config.Batch), writes, and then commits the batch's offsets. Where Jaeger
// gives up after a number of retries, the ingester retries every error but a
// storage.RejectedError until the write succeeds (Config.Retry), with Health
// showing "storage" as retrying, as the collector's Pipeline does: a storage
// outage of hours stops the ingester and loses nothing, Kafka holds the
// spans.
//
// The collector's Pipeline is not used: its Source has one ordered offset,
// and a consumer group member owns several partitions, each with its own
// offsets, that come and go with rebalances. The loop reuses the collector's
// StorageSink (decoding, splitting at Batch.Size, storage.RejectedError) and
// its retry policy instead.
//
// Rebalances: polls and rebalance callbacks exclude each other
// (kgo.BlockRebalanceOnPoll), so a batch is written and committed while its
// partitions are owned. A write that is being retried is interrupted when a
// rebalance waits, so that the member is not kicked from the group; then, in
// OnPartitionsRevoked, the ingester tries to finish the batch within half of
// the rebalance timeout and commits it; if it cannot, it leaves the revoked
// partitions' offsets uncommitted (abandons them): their next owner reads
// those messages again from the last commit. Nothing is lost; some spans may
// be written twice, which the storage contract makes harmless (writes are
// idempotent: a span written again shows once).
//
// A message that is not an OTLP request is logged, counted
// (tracer_ingester_messages_malformed_total) and skipped: its offset is
// committed with its batch, so it never blocks its partition.
type Ingester struct {
	cfg  Config
	lim  otlp.Limits
	w    storage.Writer
	set  Settings
	im   *IngesterMetrics
	gath prometheus.Gatherer
	opts []kgo.Opt // extra franz-go options, after the configured ones

	startMu  sync.Mutex
	started  bool
	closing  bool
	client   *kgo.Client
	stopPoll context.CancelFunc
	abort    context.CancelFunc
	done     chan struct{}
	aborted  chan struct{} // closed by abort: Shutdown's deadline has passed
	shutOnce sync.Once
	shutErr  error

	// waiting receives a value when a rebalance callback waits for the
	// loop to allow it (kgo.OnPartitionsCallbackBlocked).
	waiting chan struct{}

	// mu guards the batch state below, shared by the loop and the
	// rebalance callbacks. They exclude each other by BlockRebalanceOnPoll
	// already; the mutex makes it plain.
	mu         sync.Mutex
	sink       *StorageSink
	pending    map[topicPartition]kgo.EpochOffset // next offset per partition of the batch
	toCommit   map[topicPartition]kgo.EpochOffset // written, not yet committed
	batchMsgs  int
	batchSpans int
	batchBytes int64
	oldest     time.Time // when the batch's first message was added
	failing    time.Time // first failure of the write being retried
	malformed  int       // malformed messages so far, for the log's spacing
	body       []byte    // accepted requests of the current fetch, concatenated
	bodySpans  int       // spans in body
}

// topicPartition names one partition.
type topicPartition struct {
	topic     string
	partition int32
}

var _ Component = (*Ingester)(nil)

// IngesterOption configures NewIngester.
type IngesterOption interface{ applyIngester(*ingesterOptions) }

type ingesterOptions struct {
	reg    prometheus.Registerer
	health *Health
	opts   []kgo.Opt
}

type ingesterOptionFunc func(*ingesterOptions)

func (f ingesterOptionFunc) applyIngester(o *ingesterOptions) { f(o) }

// WithIngesterRegisterer registers the ingester's metrics (its own and the
// collector's that its storage sink counts on) on reg instead of a registry
// of its own. A nil reg is ignored.
func WithIngesterRegisterer(reg prometheus.Registerer) IngesterOption {
	return ingesterOptionFunc(func(o *ingesterOptions) {
		if reg != nil {
			o.reg = reg
		}
	})
}

// WithIngesterHealth makes the ingester report to h (the process's one
// Health, served while the storage opens) instead of a Health of its own. A
// nil h is ignored.
func WithIngesterHealth(h *Health) IngesterOption {
	return ingesterOptionFunc(func(o *ingesterOptions) {
		if h != nil {
			o.health = h
		}
	})
}

// WithKafkaOptions adds franz-go client options after the ones the
// configuration gives (they win): TLS or SASL (kgo.DialTLSConfig, kgo.SASL),
// or shorter group timings in tests.
func WithKafkaOptions(opts ...kgo.Opt) IngesterOption {
	return ingesterOptionFunc(func(o *ingesterOptions) { o.opts = append(o.opts, opts...) })
}

// NewIngester returns an ingester of cfg (see Config.ValidateIngester for
// the settings it reads) writing to w. It does no I/O; Start joins the
// group. A nil logger means slog.Default().
func NewIngester(cfg Config, w storage.Writer, logger *slog.Logger, opts ...IngesterOption) (*Ingester, error) {
	if err := cfg.ValidateIngester(); err != nil {
		return nil, fmt.Errorf("invalid config: %w", err)
	}
	if w == nil {
		return nil, errors.New("nil storage writer")
	}
	if logger == nil {
		logger = slog.Default()
	}
	var o ingesterOptions
	for _, opt := range opts {
		opt.applyIngester(&o)
	}
	in := &Ingester{cfg: cfg, lim: ingesterLimits(cfg.Limits), w: w, opts: o.opts, waiting: make(chan struct{}, 1), aborted: make(chan struct{})}
	if o.reg == nil {
		reg := newRegistry()
		o.reg, in.gath = reg, reg
	} else if g, ok := o.reg.(prometheus.Gatherer); ok {
		in.gath = g
	}
	m, err := NewMetrics(o.reg)
	if err != nil {
		return nil, err
	}
	if in.im, err = NewIngesterMetrics(o.reg); err != nil {
		return nil, err
	}
	if o.health == nil {
		o.health = NewHealth()
	}
	in.set = Settings{Logger: logger, Metrics: m, Health: o.health}
	in.sink = NewStorageSink(w, cfg.Limits, cfg.Batch.Size, in.set)
	in.pending = map[topicPartition]kgo.EpochOffset{}
	in.toCommit = map[topicPartition]kgo.EpochOffset{}
	return in, nil
}

// Health returns what the ingester reports: "kafka" (the consumer group)
// and "storage" (retrying while writes fail).
func (in *Ingester) Health() *Health { return in.set.Health }

// Gatherer returns the registry the ingester's metrics are on: its own, or
// the one given to WithIngesterRegisterer when that is a
// prometheus.Gatherer (else nil).
func (in *Ingester) Gatherer() prometheus.Gatherer { return in.gath }

// Start creates the Kafka client, which joins the consumer group, and
// starts the loop. Brokers that cannot be reached are not an error: the
// client keeps trying, and Health shows "kafka" as retrying until the group
// assigns partitions.
func (in *Ingester) Start(ctx context.Context) error {
	in.startMu.Lock()
	defer in.startMu.Unlock()
	if in.started {
		return errors.New("ingester already started")
	}
	if in.closing {
		return errors.New("ingester shut down")
	}
	log := in.set.Logger
	opts := append(kafkaConsumerOpts(in.cfg.Kafka, log),
		kgo.OnPartitionsAssigned(in.assigned),
		kgo.OnPartitionsRevoked(in.revoked),
		kgo.OnPartitionsLost(in.lost),
		kgo.OnPartitionsCallbackBlocked(func(context.Context, *kgo.Client) {
			select {
			case in.waiting <- struct{}{}:
			default:
			}
		}),
	)
	cl, err := kgo.NewClient(append(opts, in.opts...)...)
	if err != nil {
		return fmt.Errorf("kafka client: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, in.cfg.Kafka.DialTimeout)
	err = cl.Ping(pctx)
	cancel()
	if err != nil {
		in.set.Health.Set("kafka", StatusRetrying, fmt.Errorf("no broker answered: %w", err))
		log.Warn("no kafka broker answered; retrying until one does", "brokers", in.cfg.Kafka.Brokers, "err", err)
	} else {
		in.set.Health.Set("kafka", StatusOK, nil)
	}
	in.set.Health.Set("storage", StatusOK, nil)
	loopCtx, cancelLoop := context.WithCancel(context.WithoutCancel(ctx))
	pollCtx, stopPoll := context.WithCancel(loopCtx)
	var abortOnce sync.Once
	abort := func() {
		abortOnce.Do(func() {
			cancelLoop()
			close(in.aborted)
		})
	}
	in.client, in.abort, in.stopPoll, in.done, in.started = cl, abort, stopPoll, make(chan struct{}), true
	go func() {
		defer close(in.done)
		in.run(pollCtx, loopCtx)
	}()
	log.Info("ingester started", "brokers", in.cfg.Kafka.Brokers, "topic", in.cfg.Kafka.Topic,
		"group", in.cfg.Kafka.Consumer.GroupID, "initial_offset", in.cfg.Kafka.Consumer.InitialOffset)
	return nil
}

// Shutdown stops reading, writes the batch in progress and commits it
// until ctx is done (then the write is cancelled and its messages stay
// uncommitted, read again by the partitions' next owner), and leaves the
// group. It is idempotent and safe without Start.
func (in *Ingester) Shutdown(ctx context.Context) error {
	in.shutOnce.Do(func() { in.shutErr = in.shutdown(ctx) })
	return in.shutErr
}

func (in *Ingester) shutdown(ctx context.Context) error {
	in.startMu.Lock()
	in.closing = true
	started := in.started
	in.startMu.Unlock()
	if !started {
		return nil
	}
	in.set.Health.Set("kafka", StatusStopping, nil)
	in.stopPoll()
	var err error
	select {
	case <-in.done:
	case <-ctx.Done():
		in.abort()
		t := time.NewTimer(abandonAfter)
		select {
		case <-in.done:
			err = fmt.Errorf("ingester drain: %w (the batch in progress stays uncommitted in kafka)", ctx.Err())
		case <-t.C:
			err = fmt.Errorf("ingester drain: %w, and storage ignored the cancellation of its write for %v (the batch stays uncommitted in kafka)", ctx.Err(), abandonAfter)
		}
		t.Stop()
	}
	in.abort()
	// Close leaves the group: OnPartitionsRevoked runs, and abandons what
	// is left.
	in.client.Close()
	in.set.Health.Set("storage", StatusStopping, nil)
	in.set.Logger.Info("ingester stopped", "complete", err == nil)
	return err
}

// run is the loop: poll, add to the batch, write and commit when the batch
// is due, allow rebalances, again. pollCtx ends when Shutdown starts: the
// loop then writes what it holds and returns. ctx ends at Shutdown's
// deadline: the write in progress is cancelled.
func (in *Ingester) run(pollCtx, ctx context.Context) {
	cl := in.client
	for {
		select { // a signal from before this poll is about a rebalance that is over
		case <-in.waiting:
		default:
		}
		in.mu.Lock()
		full, wait := in.full(), in.batchMsgs > 0
		deadline := in.oldest.Add(in.cfg.Batch.Timeout)
		in.mu.Unlock()
		rctx, cancel := pollCtx, context.CancelFunc(func() {})
		switch {
		case full:
			rctx = polled // no more messages until the batch is written
		case wait:
			rctx, cancel = context.WithDeadline(pollCtx, deadline)
		}
		fetches := cl.PollRecords(rctx, pollRecords)
		cancel()
		if fetches.IsClientClosed() {
			return
		}
		stopping := pollCtx.Err() != nil
		in.mu.Lock()
		in.take(fetches)
		written := true
		if stopping || in.full() || (in.batchMsgs > 0 && !time.Now().Before(in.oldest.Add(in.cfg.Batch.Timeout))) {
			written = in.flush(ctx, !stopping)
		}
		in.mu.Unlock()
		cl.AllowRebalance()
		if stopping && (written || ctx.Err() != nil) {
			return
		}
	}
}

// pollRecords bounds the messages one poll returns, so that a batch grows
// in steps it can check.
const pollRecords = 4096

// full reports whether the batch has reached Batch.Size spans or
// Batch.MaxBytes bytes.
func (in *Ingester) full() bool {
	return in.batchMsgs > 0 && (in.batchSpans+in.bodySpans >= in.cfg.Batch.Size || in.batchBytes >= in.cfg.Batch.MaxBytes)
}

// take adds the fetched messages to the batch and records fetch errors and
// each partition's lag.
func (in *Ingester) take(fetches kgo.Fetches) {
	fetches.EachError(func(topic string, partition int32, err error) {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return // our own poll deadline
		}
		in.im.fetchErrors.Inc()
		in.set.Logger.Warn("kafka fetch failed; the client retries", "topic", topic, "partition", partition, "err", err)
		in.set.Health.Set("kafka", StatusRetrying, err)
	})
	fetches.EachPartition(func(p kgo.FetchTopicPartition) {
		if len(p.Records) == 0 {
			return
		}
		size := 0
		for _, r := range p.Records {
			size += len(r.Value)
		}
		in.body = make([]byte, 0, size) // a Body is never longer than its message
		for _, r := range p.Records {
			in.add(r)
		}
		in.decode()
		last := p.Records[len(p.Records)-1]
		in.im.lag.WithLabelValues(p.Topic, strconv.Itoa(int(p.Partition))).Set(float64(max(p.HighWatermark-(last.Offset+1), 0)))
		in.set.Health.Set("kafka", StatusOK, nil)
	})
}

// add puts one message into the batch: its spans into the sink, its offset
// into pending. A malformed message only moves the offset.
func (in *Ingester) add(r *kgo.Record) {
	in.im.messagesConsumed.Inc()
	res, err := scanMessage(r.Value, in.lim)
	if err != nil {
		in.im.malformed.Inc()
		in.malformed++
		// Logged on the 1st, 2nd, 4th, 8th... malformed message: a topic
		// full of them does not flood the log.
		if bits.OnesCount(uint(in.malformed)) == 1 {
			in.set.Logger.Warn("kafka message is not an OTLP protobuf ExportTraceServiceRequest; skipping it (its offset is committed)",
				"topic", r.Topic, "partition", r.Partition, "offset", r.Offset, "bytes", len(r.Value), "malformed_so_far", in.malformed, "err", err)
		}
	} else {
		in.im.spansInvalid.Add(float64(res.Rejected))
		in.im.spansConsumed.Add(float64(res.Accepted))
		if res.Accepted > 0 {
			in.body = append(in.body, res.Body...)
			in.bodySpans += res.Accepted
		}
	}
	if in.batchMsgs == 0 {
		in.oldest = time.Now()
	}
	in.batchMsgs++
	in.batchBytes += int64(len(r.Value))
	in.pending[topicPartition{r.Topic, r.Partition}] = kgo.EpochOffset{Epoch: r.LeaderEpoch, Offset: r.Offset + 1}
}

// decode hands the requests that add gathered to the sink as one request:
// concatenated ExportTraceServiceRequests are one request holding all of
// their ResourceSpans (a repeated field), and decoding one request of many
// spans costs far less than many requests of a few (the decoder allocates
// its slabs per request, and a message often holds one trace).
func (in *Ingester) decode() {
	if len(in.body) == 0 {
		return
	}
	// The sink's spans refer to body's bytes (DecodeImmutable): it is
	// never modified, the next one is a new slice.
	in.batchSpans = in.sink.Add(wal.Record{Data: in.body})
	in.body, in.bodySpans = nil, 0
}

// flush writes the batch, retrying until it succeeds, then commits its
// offsets. It returns false, leaving the batch as it is, when ctx is done
// or, with yield set, when a rebalance waits for the loop.
func (in *Ingester) flush(ctx context.Context, yield bool) bool {
	if in.batchMsgs == 0 {
		in.commit(ctx)
		return true
	}
	var waiting <-chan struct{}
	if yield {
		waiting = in.waiting
	}
	if !in.write(ctx, waiting) {
		return false
	}
	in.im.batches.Inc()
	in.im.messagesWritten.Add(float64(in.batchMsgs))
	in.im.spansWritten.Add(float64(in.batchSpans))
	for tp, off := range in.pending {
		in.toCommit[tp] = off
	}
	clear(in.pending)
	in.batchMsgs, in.batchSpans, in.batchBytes = 0, 0, 0
	in.commit(ctx)
	return true
}

// write flushes the sink, each attempt bounded by Storage.WriteTimeout,
// retrying every error with exponential backoff and full jitter on the
// upper half (the Pipeline's policy, Config.Retry) until it succeeds (true),
// ctx is done or waiting receives (false).
func (in *Ingester) write(ctx context.Context, waiting <-chan struct{}) bool {
	r := in.cfg.Retry
	delay := r.InitialInterval
	for attempt := 1; ; attempt++ {
		wctx, cancel := context.WithTimeout(ctx, in.cfg.Storage.WriteTimeout)
		start := time.Now()
		err := in.sink.Flush(wctx)
		cancel()
		in.set.Metrics.writeLatency.Observe(time.Since(start).Seconds())
		if err == nil {
			in.set.Metrics.batchesWritten.Inc()
			if !in.failing.IsZero() {
				in.set.Logger.Info("storage recovered: the batch being retried is written",
					"failing_for", time.Since(in.failing).Round(time.Millisecond))
				in.failing = time.Time{}
				in.im.storageRetrying.Set(0)
				in.set.Metrics.storageRetry.Set(0)
				in.set.Health.Set("storage", StatusOK, nil)
			}
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		in.im.writeFailures.Inc()
		in.set.Metrics.writeFailures.Inc()
		in.set.Metrics.writeRetries.Inc()
		if in.failing.IsZero() {
			in.failing = time.Now()
			in.im.storageRetrying.Set(1)
			in.set.Metrics.storageRetry.Set(1)
		}
		in.set.Health.Set("storage", StatusRetrying, err)
		if bits.OnesCount(uint(attempt)) == 1 {
			in.set.Logger.Warn("storage write failed; retrying until it succeeds (the offsets stay uncommitted, kafka keeps the spans)",
				"attempt", attempt, "messages", in.batchMsgs, "spans", in.batchSpans, "retry_in", delay, "err", err)
		}
		t := time.NewTimer(delay/2 + rand.N(delay/2+1))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return false
		case <-waiting:
			t.Stop()
			in.set.Logger.Info("a rebalance is waiting: pausing the storage retries for it", "messages", in.batchMsgs)
			return false
		}
		delay = min(time.Duration(float64(delay)*r.Multiplier), r.MaxInterval)
	}
}

// commit commits toCommit (what storage has written) synchronously. A
// failure is counted and logged; the offsets stay in toCommit for the next
// commit.
func (in *Ingester) commit(ctx context.Context) {
	if len(in.toCommit) == 0 {
		return
	}
	offs := map[string]map[int32]kgo.EpochOffset{}
	for tp, off := range in.toCommit {
		if offs[tp.topic] == nil {
			offs[tp.topic] = map[int32]kgo.EpochOffset{}
		}
		offs[tp.topic][tp.partition] = off
	}
	var cerr error
	in.client.CommitOffsetsSync(ctx, offs, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		if err != nil {
			cerr = err
			return
		}
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if err := kerr.ErrorForCode(p.ErrorCode); err != nil && cerr == nil {
					cerr = fmt.Errorf("partition %d: %w", p.Partition, err)
				}
			}
		}
	})
	if cerr != nil {
		in.im.commitFailures.Inc()
		in.set.Logger.Warn("kafka offset commit failed; it is retried with the next batch (a restart before then reads those messages again, storage shows them once)",
			"partitions", len(in.toCommit), "err", cerr)
		return
	}
	in.im.commits.Inc()
	for tp, off := range in.toCommit {
		in.im.committedOffset.WithLabelValues(tp.topic, strconv.Itoa(int(tp.partition))).Set(float64(off.Offset))
	}
	clear(in.toCommit)
}

// assigned is kgo.OnPartitionsAssigned.
func (in *Ingester) assigned(_ context.Context, _ *kgo.Client, parts map[string][]int32) {
	n := 0
	for _, ps := range parts {
		n += len(ps)
	}
	in.im.rebalances.WithLabelValues("assigned").Inc()
	in.im.partitions.Add(float64(n))
	in.set.Health.Set("kafka", StatusOK, nil)
	in.set.Logger.Info("kafka partitions assigned", "partitions", fmt.Sprint(parts))
}

// revoked is kgo.OnPartitionsRevoked: finish the batch within half of the
// rebalance timeout and commit it, else abandon the revoked partitions.
func (in *Ingester) revoked(ctx context.Context, _ *kgo.Client, parts map[string][]int32) {
	in.im.rebalances.WithLabelValues("revoked").Inc()
	in.giveUp(ctx, parts, true)
}

// lost is kgo.OnPartitionsLost: the partitions already belong to another
// member, a commit would fail: abandon them.
func (in *Ingester) lost(ctx context.Context, _ *kgo.Client, parts map[string][]int32) {
	in.im.rebalances.WithLabelValues("lost").Inc()
	in.giveUp(ctx, parts, false)
}

// giveUp handles partitions leaving this member. With finish set (and not
// shutting down past its deadline), it first writes the batch and commits,
// within half of the rebalance timeout; the offsets of the partitions that
// are left uncommitted after that are dropped, for their next owner to read
// again. The batch's spans stay in the sink (written with the next batch,
// harmlessly), but only the offsets of partitions still owned are
// committed.
func (in *Ingester) giveUp(ctx context.Context, parts map[string][]int32, finish bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	gone := map[topicPartition]bool{}
	for t, ps := range parts {
		for _, p := range ps {
			gone[topicPartition{t, p}] = true
		}
	}
	if len(gone) == 0 {
		return
	}
	affected := false
	for tp := range gone {
		_, a := in.pending[tp]
		_, b := in.toCommit[tp]
		affected = affected || a || b
	}
	if finish && affected {
		fctx, cancel := context.WithTimeout(ctx, in.cfg.Kafka.Consumer.RebalanceTimeout/2)
		// Shutdown's deadline cancels this too.
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			select {
			case <-in.aborted:
				cancel()
			case <-stop:
			}
		})
		in.flush(fctx, false)
		close(stop)
		wg.Wait()
		cancel()
	}
	abandoned := 0
	for tp := range gone {
		if _, ok := in.pending[tp]; ok {
			abandoned++
		}
		delete(in.pending, tp)
		delete(in.toCommit, tp)
		in.im.forgetPartition(tp.topic, tp.partition)
	}
	if abandoned > 0 {
		in.im.abandoned.Add(float64(abandoned))
		in.set.Logger.Warn("partitions left with a batch that storage has not written: their offsets stay uncommitted, their next owner reads those messages again",
			"partitions", abandoned)
	}
	in.im.partitions.Sub(float64(len(gone)))
	in.set.Logger.Info("kafka partitions revoked", "partitions", fmt.Sprint(parts), "finished", finish)
}
