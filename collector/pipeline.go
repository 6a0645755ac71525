package collector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/bits"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tracerdev/tracer/wal"
)

// Source is what a Pipeline reads: *wal.WAL is one; a Kafka consumer will
// be another.
type Source interface {
	// Read returns records after the offset after, in order, whose data
	// add up to at most maxBytes (the first record always comes, alone when
	// it is larger), waiting until there is one or ctx is done; records already
	// there are returned even when ctx is done (a done ctx polls). After
	// the source is closed it returns wal.ErrClosed.
	Read(ctx context.Context, after wal.Offset, maxBytes int64) ([]wal.Record, error)
	// Commit records that every record up to upTo is durably written by
	// the sink; the source may then free them.
	Commit(upTo wal.Offset) error
	// Committed is the last committed offset, where reading resumes.
	Committed() wal.Offset
}

var _ Source = (*wal.WAL)(nil)

// Sink is where a Pipeline writes, one record at a time into a pending
// batch that Flush writes: StorageSink decodes records into spans for a
// storage.Writer; a Kafka sink will forward the records' bytes as they
// came.
type Sink interface {
	// Add appends r to the pending batch and returns the items (spans,
	// say) the batch holds. The sink may keep r.Data until Flush succeeds;
	// the pipeline never modifies it. A record the sink cannot use is
	// dropped and counted by the sink, never an error.
	Add(r wal.Record) int
	// Flush writes the pending batch, honouring ctx. nil means it is
	// durably written and the batch is empty; an error means it must be
	// retried: the pipeline calls Flush again, with the same batch, until
	// it succeeds (the sink drops only what it knows can never be written,
	// such as the spans of a storage.RejectedError).
	Flush(ctx context.Context) error
}

// PipelineConfig configures a Pipeline. Zero fields take defaults: Name
// "storage", no span or byte bound on a batch, Batch.Timeout 200ms, the
// retry intervals of NewDefaultConfig, no deadline per Flush attempt but
// Shutdown's.
type PipelineConfig struct {
	// Name is the component the pipeline reports to Health.
	Name  string
	Batch BatchConfig
	Retry RetryConfig
	// WriteTimeout bounds one Flush attempt.
	WriteTimeout time.Duration
	// CommitBytes is how much written but uncommitted data makes the
	// pipeline commit every second; below it, it commits every ten seconds
	// (commitIdle), so that a lightly loaded collector does not write and
	// fsync a checkpoint every second. Default 16 MiB. Committing later
	// never risks an acknowledged span (they are in the source until
	// committed); it only means that a restart writes more spans again,
	// which the storage contract makes harmless, and that the source frees
	// space later: a source with a small cap wants a small CommitBytes.
	CommitBytes int64
}

func (c PipelineConfig) withDefaults() PipelineConfig {
	d := NewDefaultConfig()
	if c.Name == "" {
		c.Name = "storage"
	}
	if c.Batch.Size <= 0 {
		c.Batch.Size = math.MaxInt
	}
	if c.Batch.MaxBytes <= 0 {
		c.Batch.MaxBytes = math.MaxInt64
	}
	if c.Batch.Timeout <= 0 {
		c.Batch.Timeout = d.Batch.Timeout
	}
	if c.CommitBytes <= 0 {
		c.CommitBytes = defaultCommitBytes
	}
	if c.Retry.InitialInterval <= 0 {
		c.Retry.InitialInterval = d.Retry.InitialInterval
	}
	c.Retry.MaxInterval = max(c.Retry.MaxInterval, c.Retry.InitialInterval)
	c.Retry.Multiplier = max(c.Retry.Multiplier, 1)
	return c
}

const (
	// drainPoll is how long a draining pipeline waits for another record
	// before it concludes that it has caught up: intake has stopped, so no
	// record can appear later.
	drainPoll = 50 * time.Millisecond
	// commitEvery spaces commits (for the WAL, a checkpoint file written
	// and fsynced, its directory fsynced): a commit after every batch cost
	// ~5% of the collector's CPU. Committing later only means that a
	// restart writes those spans again, which the storage contract makes
	// harmless.
	commitEvery = time.Second
	// commitIdle spaces commits while less than PipelineConfig.CommitBytes
	// wait for one.
	commitIdle = 10 * time.Second
	// defaultCommitBytes is PipelineConfig.CommitBytes's default.
	defaultCommitBytes = 16 << 20
	// abandonAfter is how long Shutdown waits, once its deadline has passed
	// and the write's context is cancelled, for a sink that ignores the
	// cancellation. Past it Shutdown returns and leaves the write running:
	// the deadline holds.
	abandonAfter = time.Second
)

// Pipeline moves records from a Source to a Sink in batches (by items,
// bytes and age), retrying failed flushes with exponential backoff for ever
// and committing the source only past what the sink has written. It reports
// StatusRetrying to Health while flushes fail, and logs when they recover.
type Pipeline struct {
	cfg    PipelineConfig
	src    Source
	sink   Sink
	log    *slog.Logger
	m      *Metrics
	health *Health

	mu       sync.Mutex
	started  bool
	stopRead context.CancelFunc
	stopPipe context.CancelFunc
	done     chan struct{}
	draining atomic.Bool
	closing  atomic.Bool
	shutOnce sync.Once
	shutErr  error

	flushedRecords, flushedItems atomic.Int64

	// Owned by the run goroutine.
	next, upTo  wal.Offset // last record read; last record in the batch
	written     wal.Offset // last record the sink has written
	records     int        // in the batch
	items       int        // in the batch, per the sink
	bytes       int64      // of the batch's records
	oldest      time.Time  // when the batch's first record was added
	lastCommit  time.Time
	uncommitted int64     // bytes of the records written since the last commit
	failingFrom time.Time // first failure of the flush being retried
}

var _ Component = (*Pipeline)(nil)

// NewPipeline returns a pipeline from src to sink.
func NewPipeline(cfg PipelineConfig, src Source, sink Sink, set Settings) *Pipeline {
	set = set.withDefaults()
	return &Pipeline{cfg: cfg.withDefaults(), src: src, sink: sink, log: set.Logger, m: set.Metrics, health: set.Health}
}

// Start starts the pipeline's goroutine, which first replays what the
// source holds past its last commit.
func (p *Pipeline) Start(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.started {
		return errors.New("pipeline already started")
	}
	if p.closing.Load() {
		return errors.New("pipeline shut down")
	}
	p.started = true
	p.health.Set(p.cfg.Name, StatusOK, nil)
	pipeCtx, stopPipe := context.WithCancel(context.WithoutCancel(ctx))
	readCtx, stopRead := context.WithCancel(pipeCtx)
	p.stopPipe, p.stopRead = stopPipe, stopRead
	p.done = make(chan struct{})
	go func() {
		defer close(p.done)
		p.run(pipeCtx, readCtx)
	}()
	return nil
}

// Shutdown drains: the pipeline writes what the source holds (intake must
// have stopped) until ctx is done. At ctx's deadline the write in progress
// has its context cancelled and what is not committed stays in the source.
// It is idempotent and safe without Start.
func (p *Pipeline) Shutdown(ctx context.Context) error {
	p.shutOnce.Do(func() { p.shutErr = p.shutdown(ctx) })
	return p.shutErr
}

func (p *Pipeline) shutdown(ctx context.Context) error {
	p.closing.Store(true)
	p.mu.Lock()
	started := p.started
	p.mu.Unlock()
	if !started {
		return nil
	}
	recs0, items0 := p.flushedRecords.Load(), p.flushedItems.Load()
	start := time.Now()
	p.draining.Store(true)
	p.stopRead()
	var err error
	select {
	case <-p.done:
	case <-ctx.Done():
		p.stopPipe()
		t := time.NewTimer(abandonAfter)
		select {
		case <-p.done:
			err = fmt.Errorf("drain: %w (the rest stays in the source)", ctx.Err())
		case <-t.C:
			err = fmt.Errorf("drain: %w, and the sink ignored the cancellation of its write for %v: left it running (the rest stays in the source)", ctx.Err(), abandonAfter)
		}
		t.Stop()
	}
	p.stopPipe()
	p.health.Set(p.cfg.Name, StatusStopping, nil)
	p.log.Info("pipeline drained",
		"records_written", p.flushedRecords.Load()-recs0, "spans_written", p.flushedItems.Load()-items0,
		"took", time.Since(start).Round(time.Millisecond), "committed", p.src.Committed(), "complete", err == nil)
	return err
}

// polled is an already cancelled context: a Read with it returns what is
// there without waiting.
var polled = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

// run reads the source from its last commit and feeds the sink. readCtx is
// cancelled when Shutdown starts draining: from then on the pipeline
// writes what is left and returns once it has caught up. ctx is cancelled
// when the drain deadline passes: the pipeline returns at once, what it has
// not committed stays in the source.
func (p *Pipeline) run(ctx, readCtx context.Context) {
	p.next = p.src.Committed()
	p.written = p.next
	replaying, replayStart := true, time.Now()
	var replayRecs, replayBytes int64
	attrs := []any{"committed", p.next}
	if w, ok := p.src.(*wal.WAL); ok {
		st := w.Stats()
		attrs = append(attrs, "wal_bytes", st.Bytes, "wal_segments", st.Segments, "corrupted_records_skipped", st.Corrupted, "torn_tails_cut", st.TornTruncations)
	}
	p.log.Info("pipeline started: replaying what the wal holds past its last commit", attrs...)
	for {
		rctx, cancel := readCtx, context.CancelFunc(func() {})
		drainRead := p.draining.Load()
		switch {
		case drainRead:
			rctx, cancel = context.WithTimeout(ctx, drainPoll)
		case replaying:
			rctx = polled
		case p.records > 0 || p.written > p.src.Committed():
			// Wake up when the batch is due, or the commit of what was
			// written, whichever comes first.
			var deadline time.Time
			if p.records > 0 {
				deadline = p.oldest.Add(p.cfg.Batch.Timeout)
			}
			if p.written > p.src.Committed() {
				if due := p.lastCommit.Add(p.commitInterval()); deadline.IsZero() || due.Before(deadline) {
					deadline = due
				}
			}
			rctx, cancel = context.WithDeadline(readCtx, deadline)
		}
		recs, err := p.src.Read(rctx, p.next, p.cfg.Batch.MaxBytes)
		cancel()
		if err != nil {
			switch {
			case ctx.Err() != nil, errors.Is(err, wal.ErrClosed):
				return
			case replaying && !drainRead && rctx.Err() != nil:
				replaying = false
				p.log.Info("wal replayed: records written before this start are in the pipeline",
					"records", replayRecs, "bytes", replayBytes, "took", time.Since(replayStart).Round(time.Millisecond))
				continue
			case rctx.Err() != nil:
				// Batch age reached, commit due, drain started, or
				// caught up while draining.
				if drainRead || p.records == 0 || !time.Now().Before(p.oldest.Add(p.cfg.Batch.Timeout)) {
					if !p.flush(ctx) {
						return
					}
				} else {
					p.commit(false)
				}
				if drainRead {
					return
				}
				continue
			default:
				p.log.Error("source read failed", "err", err)
				if !sleep(ctx, p.cfg.Retry.InitialInterval) {
					return
				}
				continue
			}
		}
		for _, r := range recs {
			if replaying {
				replayRecs++
				replayBytes += int64(len(r.Data))
			}
			if !p.add(ctx, r) {
				return
			}
		}
	}
}

// add hands r to the sink, flushing first when r would take the batch past
// Batch.MaxBytes, and after when the batch is full. It returns false when
// ctx is done.
func (p *Pipeline) add(ctx context.Context, r wal.Record) bool {
	n := int64(len(r.Data))
	if p.records > 0 && p.bytes+n > p.cfg.Batch.MaxBytes {
		if !p.flush(ctx) {
			return false
		}
	}
	if p.records == 0 {
		p.oldest = time.Now()
	}
	p.items = p.sink.Add(r)
	p.records++
	p.bytes += n
	p.next, p.upTo = r.Offset, r.Offset
	if p.items >= p.cfg.Batch.Size || p.bytes >= p.cfg.Batch.MaxBytes {
		return p.flush(ctx)
	}
	return true
}

// flush writes the batch, retrying until it succeeds, and commits the
// source up to the batch's last record when the last commit is
// commitInterval old or the pipeline is draining. It returns false, without committing,
// when ctx is done.
func (p *Pipeline) flush(ctx context.Context) bool {
	if p.upTo <= p.written {
		p.commit(p.draining.Load()) // a commit may be due for what was written
		return true
	}
	if p.records > 0 {
		if !p.write(ctx) {
			return false
		}
		p.flushedRecords.Add(int64(p.records))
		p.flushedItems.Add(int64(p.items))
	}
	p.written = p.upTo
	p.uncommitted += p.bytes
	p.records, p.items, p.bytes = 0, 0, 0
	p.commit(p.draining.Load())
	return true
}

// commitInterval is how long after the last commit the next is due:
// commitEvery once CommitBytes wait for it, else commitIdle.
func (p *Pipeline) commitInterval() time.Duration {
	if p.uncommitted >= p.cfg.CommitBytes {
		return commitEvery
	}
	return commitIdle
}

// commit commits the source up to the last record the sink has written,
// when the last commit is commitInterval old or force is set.
func (p *Pipeline) commit(force bool) {
	if p.written <= p.src.Committed() || (!force && time.Since(p.lastCommit) < p.commitInterval()) {
		return
	}
	p.uncommitted = 0
	if err := p.src.Commit(p.written); err != nil {
		// The spans are stored; if the checkpoint is lost they are written
		// again after a restart, which the storage contract makes harmless.
		p.log.Error("commit failed", "offset", p.written, "err", err)
	}
	p.lastCommit = time.Now()
}

// write flushes the sink, each attempt with a deadline of WriteTimeout,
// retrying every error with exponential backoff until it succeeds or ctx
// is done (then it returns false). While it retries, Health shows the
// pipeline as retrying and the storage_retrying gauge is 1.
func (p *Pipeline) write(ctx context.Context) bool {
	r := p.cfg.Retry
	delay := r.InitialInterval
	for attempt := 1; ; attempt++ {
		wctx, cancel := context.WithCancel(ctx)
		if p.cfg.WriteTimeout > 0 {
			wctx, cancel = context.WithTimeout(ctx, p.cfg.WriteTimeout)
		}
		start := time.Now()
		err := p.sink.Flush(wctx)
		cancel()
		p.m.writeLatency.Observe(time.Since(start).Seconds())
		if err == nil {
			p.m.batchesWritten.Inc()
			if attempt > 1 {
				p.log.Info("storage recovered: the batch being retried is written",
					"attempts", attempt, "failing_for", time.Since(p.failingFrom).Round(time.Millisecond))
				p.m.storageRetry.Set(0)
				p.health.Set(p.cfg.Name, StatusOK, nil)
			}
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		p.m.writeFailures.Inc()
		p.m.writeRetries.Inc()
		if attempt == 1 {
			p.failingFrom = time.Now()
			p.m.storageRetry.Set(1)
		}
		p.health.Set(p.cfg.Name, StatusRetrying, err)
		// Logged on attempts 1, 2, 4, 8...: an outage of hours does not
		// flood the log.
		if bits.OnesCount(uint(attempt)) == 1 {
			p.log.Warn("storage write failed; retrying until it succeeds (the wal keeps the spans)",
				"attempt", attempt, "records", p.records, "spans", p.items, "retry_in", delay, "err", err)
		}
		// Full jitter on the upper half keeps retries of many collectors apart.
		wait := delay/2 + rand.N(delay/2+1)
		if !sleep(ctx, wait) {
			return false
		}
		delay = min(time.Duration(float64(delay)*r.Multiplier), r.MaxInterval)
	}
}

// sleep waits d or until ctx is done; it reports whether d elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
