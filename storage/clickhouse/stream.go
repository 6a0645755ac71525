package clickhouse

import (
	"context"
	"encoding/hex"
	"fmt"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/tracerdev/tracer/storage"
)

// maxCachedResources bounds the resources StreamTrace keeps between
// batches; past it the cache starts over.
const maxCachedResources = 1000

// streamQuery reads the newest version of each span of one trace (argument:
// its hex id), at most the limit (second argument).
var streamQuery = "SELECT " + spanSelectColumns + " FROM (" + newestSpans(spanSelectColumns+", written", 1) + ") LIMIT ?"

// StreamTrace calls fn with the spans of the trace in batches of at most
// storage.MaxStreamBatch. The server sorts the trace's versions; the rows
// come in blocks of the batch size (max_block_size), and each batch's
// resources are read when the batch is full (kept for later batches, up to
// a bound), so the memory held is a batch's, not the trace's.
func (s *Store) StreamTrace(ctx context.Context, id storage.TraceID, fn func([]storage.Span) error) (bool, error) {
	limit := s.limits.MaxTraceSpans
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	qctx := clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"max_block_size": storage.MaxStreamBatch}))
	rows, err := s.conn.Query(qctx, streamQuery, hex.EncodeToString(id[:]), limit+1)
	if err != nil {
		return false, fmt.Errorf("stream trace %s: %w", id, err)
	}
	defer rows.Close()
	var (
		batch     = make([]storage.Span, 0, storage.MaxStreamBatch)
		hashes    = make([]string, 0, storage.MaxStreamBatch)
		cache     = make(map[string][]storage.Attribute)
		n         int
		truncated bool
	)
	flush := func() error {
		var missing []string
		for _, h := range hashes {
			if _, ok := cache[h]; !ok {
				missing = append(missing, h)
			}
		}
		if len(missing) > 0 {
			if len(cache)+len(missing) > maxCachedResources {
				clear(cache)
			}
			res, err := s.resources(ctx, missing)
			if err != nil {
				return fmt.Errorf("stream trace %s: %w", id, err)
			}
			for _, h := range missing {
				cache[h] = res[h]
			}
		}
		for i := range batch {
			batch[i].Resource = cache[hashes[i]]
		}
		if err := fn(batch); err != nil {
			return fmt.Errorf("stream trace %s: %w", id, err)
		}
		batch = make([]storage.Span, 0, storage.MaxStreamBatch)
		hashes = hashes[:0]
		return nil
	}
	for rows.Next() {
		if n == limit {
			truncated = true
			break
		}
		var r spanRow
		if err := rows.Scan(r.dest()...); err != nil {
			return false, fmt.Errorf("stream trace %s: %w", id, err)
		}
		sp, err := r.span()
		if err != nil {
			return false, fmt.Errorf("stream trace %s: %w", id, err)
		}
		batch = append(batch, sp)
		hashes = append(hashes, r.resHash)
		n++
		if len(batch) == storage.MaxStreamBatch {
			if err := flush(); err != nil {
				return false, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return false, fmt.Errorf("stream trace %s: %w", id, err)
	}
	if n == 0 {
		return false, storage.ErrNotFound
	}
	if len(batch) > 0 {
		if err := flush(); err != nil {
			return false, err
		}
	}
	return truncated, nil
}
