package main

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/tracerdev/tracer/storage"
)

// retention deletes spans older than age from a store, at start and then
// every interval, until stopped. It is the one retention mechanism for every
// backend: each implements storage.Purger at its own granularity (a
// ClickHouse day partition, say).
type retention struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// startRetention starts the loop; with age 0 it does nothing.
func startRetention(ctx context.Context, p storage.Purger, age, interval time.Duration, log *slog.Logger) *retention {
	r := &retention{cancel: func() {}}
	if age <= 0 {
		return r
	}
	ctx, r.cancel = context.WithCancel(ctx)
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			before := time.Now().Add(-age)
			start := time.Now()
			if err := p.Purge(ctx, before); err != nil && ctx.Err() == nil {
				log.Warn("retention: purge failed; will try again", "before", before, "err", err)
			} else if err == nil {
				log.Debug("retention: purged", "before", before, "took", time.Since(start))
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return r
}

// stop ends the loop and waits for it.
func (r *retention) stop() {
	r.cancel()
	r.wg.Wait()
}
