package collector

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/tracerdev/tracer/collector/otlp"
	"github.com/tracerdev/tracer/wal"
	"github.com/tracerdev/tracer/storage"
)

const (
	// readBytes is the most record bytes one WAL Read returns (a larger
	// record comes alone).
	readBytes = 4 << 20
	// drainPoll is how long a draining pipeline waits for another record
	// before it concludes that it has caught up: intake has stopped, so no
	// record can appear later.
	drainPoll = 50 * time.Millisecond
	// commitEvery spaces WAL commits (a checkpoint file written and
	// fsynced, its directory fsynced): a commit after every batch cost ~5%
	// of the collector's CPU. Committing later only means that a restart
	// writes those spans again, which the storage contract makes harmless.
	commitEvery = time.Second
)

// runPipeline reads the WAL from its last commit, decodes records into
// spans, and writes them in batches by size and age, committing the WAL
// after each write. readCtx is cancelled when Shutdown starts draining:
// from then on the pipeline writes what is left and returns once it has
// caught up. ctx is cancelled when the drain deadline passes: the pipeline
// returns at once, what it has not committed stays in the WAL.
func (c *Collector) runPipeline(ctx, readCtx context.Context, w *wal.WAL) {
	p := &pipeline{c: c, w: w, next: w.Committed()}
	c.log.Info("pipeline started: replaying the wal past its last commit", "committed", p.next)
	for {
		rctx, cancel := readCtx, context.CancelFunc(func() {})
		drainRead := c.draining.Load()
		switch {
		case drainRead:
			rctx, cancel = context.WithTimeout(ctx, drainPoll)
		case len(p.batch) > 0 || p.written > w.Committed():
			// Wake up when the batch is due, or the commit of what was
			// written, whichever comes first.
			var deadline time.Time
			if len(p.batch) > 0 {
				deadline = p.started.Add(c.cfg.Batch.Timeout)
			}
			if p.written > w.Committed() {
				if due := p.lastCommit.Add(commitEvery); deadline.IsZero() || due.Before(deadline) {
					deadline = due
				}
			}
			rctx, cancel = context.WithDeadline(readCtx, deadline)
		}
		recs, err := w.Read(rctx, p.next, readBytes)
		cancel()
		if err != nil {
			switch {
			case ctx.Err() != nil, errors.Is(err, wal.ErrClosed):
				return
			case rctx.Err() != nil:
				// Batch age reached, commit due, drain started, or
				// caught up while draining.
				if drainRead || len(p.batch) == 0 || !time.Now().Before(p.started.Add(c.cfg.Batch.Timeout)) {
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
				c.log.Error("wal read failed", "err", err)
				if !sleep(ctx, c.cfg.Retry.InitialInterval) {
					return
				}
				continue
			}
		}
		for _, r := range recs {
			if !p.add(ctx, r) {
				return
			}
		}
	}
}

// pipeline is runPipeline's state, owned by its goroutine.
type pipeline struct {
	c       *Collector
	w       *wal.WAL
	next    wal.Offset // last record read
	upTo    wal.Offset // last record whose spans are all in batch
	batch   []storage.Span
	started time.Time // when the oldest pending record was read

	written    wal.Offset // last record whose spans are all stored
	lastCommit time.Time  // of the WAL, see commitEvery

	dropped int   // spans of the batch being flushed that storage refused
	dropErr error // the last permanent error
}

// add decodes r into the batch and flushes when it is full. It returns false
// when ctx is done.
func (p *pipeline) add(ctx context.Context, r wal.Record) bool {
	c := p.c
	if len(p.batch) == 0 {
		p.started = time.Now()
	}
	n := len(p.batch)
	batch, st, err := safeDecode(p.batch, r.Data, c.lim)
	if err != nil {
		// Scan accepted this record, so this is a bug or a corrupted
		// record that passed the CRC: drop it, count it, say so.
		c.log.Error("decode wal record, dropping it", "offset", r.Offset, "err", err)
		c.m.spansDropped.WithLabelValues("decode_error").Inc()
		batch = batch[:n]
	}
	p.batch = batch
	c.m.attrsDropped.Add(float64(st.DroppedAttributes))
	c.m.valuesTruncated.Add(float64(st.TruncatedValues))
	p.next, p.upTo = r.Offset, r.Offset
	if len(p.batch) >= c.cfg.Batch.Size {
		return p.flush(ctx)
	}
	return true
}

// safeDecode is otlp.Decode that turns a panic (a decoder bug hit by some
// record) into an error: the record is then dropped instead of crashing the
// collector on every start while it replays the same record.
func safeDecode(dst []storage.Span, body []byte, lim otlp.Limits) (out []storage.Span, st otlp.DecodeStats, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, st, err = dst, otlp.DecodeStats{}, fmt.Errorf("decoder panic: %v", r)
		}
	}()
	// WAL records are never modified (wal.Read): the spans may refer to
	// the record's bytes instead of a copy.
	return otlp.DecodeImmutable(dst, body, lim)
}

// flush writes the batch, retrying retryable errors with exponential
// backoff, and commits the WAL up to the batch's last record when the last
// commit is commitEvery old or the collector is draining. It returns false,
// without committing, when ctx is done.
func (p *pipeline) flush(ctx context.Context) bool {
	c := p.c
	if p.upTo <= p.w.Committed() {
		return true
	}
	if len(p.batch) > 0 {
		p.dropped, p.dropErr = 0, nil
		if !p.write(ctx, p.batch) {
			return false
		}
		if p.dropped > 0 {
			c.log.Error("storage rejected spans permanently, dropped them",
				"dropped", p.dropped, "batch", len(p.batch), "err", p.dropErr)
		}
	}
	p.written = p.upTo
	clear(p.batch) // let the strings go
	p.batch = p.batch[:0]
	p.commit(c.draining.Load())
	return true
}

// commit commits the WAL up to the last record written to storage, when
// the last commit is commitEvery old or force is set.
func (p *pipeline) commit(force bool) {
	if p.written <= p.w.Committed() || (!force && time.Since(p.lastCommit) < commitEvery) {
		return
	}
	if err := p.w.Commit(p.written); err != nil {
		// The spans are stored; if the checkpoint is lost they are written
		// again after a restart, which the storage contract makes harmless.
		p.c.log.Error("wal commit failed", "offset", p.written, "err", err)
	}
	p.lastCommit = time.Now()
}

// write stores spans, retrying retryable errors until ctx is done. On a
// permanent error it splits the batch in halves to keep the spans that can
// be stored, and drops (and counts, in p.dropped) the ones that cannot.
func (p *pipeline) write(ctx context.Context, spans []storage.Span) bool {
	c := p.c
	r := c.cfg.Retry
	delay := r.InitialInterval
	for {
		start := time.Now()
		err := p.writeSpans(ctx, spans)
		c.m.writeLatency.Observe(time.Since(start).Seconds())
		switch {
		case err == nil:
			c.m.batchesWritten.Inc()
			c.m.spansWritten.Add(float64(len(spans)))
			return true
		case ctx.Err() != nil:
			return false
		case storage.IsPermanent(err):
			c.m.writeFailures.Inc()
			if len(spans) > 1 {
				half := len(spans) / 2
				return p.write(ctx, spans[:half]) && p.write(ctx, spans[half:])
			}
			p.dropped++
			p.dropErr = err
			c.m.spansDropped.WithLabelValues("permanent_error").Inc()
			return true
		}
		c.m.writeRetries.Inc()
		c.log.Warn("storage write failed, retrying", "spans", len(spans), "retry_in", delay, "err", err)
		// Full jitter on the upper half keeps retries of many collectors apart.
		wait := delay/2 + rand.N(delay/2+1)
		if !sleep(ctx, wait) {
			return false
		}
		delay = min(time.Duration(float64(delay)*r.Multiplier), r.MaxInterval)
	}
}

// writeSpans hands spans over to a writer that can take them
// (storage.OwnedWriter): the decoded strings and slices belong to the batch
// alone and nothing modifies them after decoding; flush clears only the Span
// values. Other writers copy what they keep.
func (p *pipeline) writeSpans(ctx context.Context, spans []storage.Span) error {
	if ow, ok := p.c.writer.(storage.OwnedWriter); ok {
		return ow.WriteOwnedSpans(ctx, spans)
	}
	return p.c.writer.WriteSpans(ctx, spans)
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
