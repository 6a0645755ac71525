package collector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/tracerdev/tracer/collector/otlp"
	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/memory"
	"github.com/tracerdev/tracer/wal"
)

// StorageSink is the Sink that decodes records (ExportTraceServiceRequests
// in protobuf wire form, as receivers stored them) into spans and writes
// them to a storage.Writer, at most maxSpans per WriteSpans call.
//
// Only a storage.RejectedError is permanent: the spans it names are dropped
// and counted (spans_dropped_total{reason="rejected"}), every other span of
// the call counts as stored. Any other error is returned to the pipeline,
// which retries the flush; the spans already written by an earlier call of
// the same flush are not written again.
type StorageSink struct {
	w        storage.Writer
	lim      otlp.Limits
	maxSpans int
	log      *slog.Logger
	m        *Metrics

	batch []storage.Span
	done  int // spans of batch written by earlier calls of this flush

	// own is w when it can keep the decoded spans as they are (the memory
	// store) and handOver is on; groups then says which spans of batch
	// came from which record.
	own    ownedWriter
	groups []memory.Group
}

// ownedWriter is a storage.Writer that can take spans over without copying
// them (memory.Store.WriteOwned).
type ownedWriter interface {
	WriteOwned(ctx context.Context, spans []storage.Span, groups []memory.Group) error
}

var _ Sink = (*StorageSink)(nil)

// NewStorageSink returns a sink writing to w, decoding with the limits lim
// and writing at most maxSpans spans per call (0: no cap).
func NewStorageSink(w storage.Writer, lim LimitsConfig, maxSpans int, set Settings) *StorageSink {
	set = set.withDefaults()
	return &StorageSink{w: w, lim: lim.otlp(), maxSpans: maxSpans, log: set.Logger, m: set.Metrics}
}

// handOver lets the writer keep the decoded spans, whose strings point into
// the records, instead of copying them, when it can (ownedWriter). Only for
// records that nobody modifies and that hold nothing but themselves: the
// WAL's (wal.Read: each record is its own allocation, never modified).
func (s *StorageSink) handOver() {
	s.own, _ = s.w.(ownedWriter)
}

// Add decodes r into the batch. A record that fails to decode (Scan
// accepted it, so a bug or damage that passed the CRC) is dropped, logged
// and counted.
func (s *StorageSink) Add(r wal.Record) int {
	n := len(s.batch)
	batch, st, err := safeDecode(s.batch, r.Data, s.lim)
	if err != nil {
		s.log.Error("decode wal record, dropping it", "offset", r.Offset, "err", err)
		s.m.spansDropped.WithLabelValues("decode_error").Inc()
		batch = batch[:n]
	}
	s.batch = batch
	if s.own != nil && len(batch) > n {
		s.groups = append(s.groups, memory.Group{End: len(batch), Bytes: int64(len(r.Data))})
	}
	s.m.attrsDropped.Add(float64(st.DroppedAttributes))
	s.m.valuesTruncated.Add(float64(st.TruncatedValues))
	s.m.stringsTruncated.Add(float64(st.TruncatedStrings))
	s.m.eventsDropped.Add(float64(st.DroppedEvents))
	s.m.linksDropped.Add(float64(st.DroppedLinks))
	if st.Skipped > 0 {
		s.m.spansDropped.WithLabelValues("invalid").Add(float64(st.Skipped))
	}
	return len(s.batch)
}

// Flush writes the batch.
func (s *StorageSink) Flush(ctx context.Context) error {
	for s.done < len(s.batch) {
		end := len(s.batch)
		if s.maxSpans > 0 {
			end = min(end, s.done+s.maxSpans)
		}
		chunk := s.batch[s.done:end]
		var err error
		if s.own != nil {
			err = s.own.WriteOwned(ctx, chunk, s.chunkGroups(s.done, end))
		} else {
			err = s.w.WriteSpans(ctx, chunk)
		}
		dropped := 0
		if err != nil {
			var rej *storage.RejectedError
			if !errors.As(err, &rej) {
				return err
			}
			dropped = s.drop(chunk, rej)
		}
		s.m.spansWritten.Add(float64(len(chunk) - dropped))
		s.done = end
	}
	clear(s.batch) // let the strings go
	s.batch, s.done = s.batch[:0], 0
	s.groups = s.groups[:0]
	return nil
}

// chunkGroups returns the groups of batch[from:to], their ends relative to
// from; a group cut by from or to is charged in proportion to its spans on
// each side.
func (s *StorageSink) chunkGroups(from, to int) []memory.Group {
	var out []memory.Group
	start := 0 // of the current group
	for _, g := range s.groups {
		gFrom, gTo := start, g.End
		start = g.End
		lo, hi := max(gFrom, from), min(gTo, to)
		if lo >= hi {
			continue
		}
		bytes := g.Bytes
		if n := gTo - gFrom; hi-lo < n {
			bytes = g.Bytes * int64(hi-lo) / int64(n)
		}
		out = append(out, memory.Group{End: hi - from, Bytes: bytes})
	}
	return out
}

// drop counts and logs the spans of chunk that rej names; an index out of
// range or named twice counts once at most.
func (s *StorageSink) drop(chunk []storage.Span, rej *storage.RejectedError) int {
	seen := make(map[int]bool, len(rej.Spans))
	var first error
	for _, r := range rej.Spans {
		if r.Index < 0 || r.Index >= len(chunk) || seen[r.Index] {
			continue
		}
		seen[r.Index] = true
		if first == nil {
			first = r.Err
		}
	}
	if len(seen) > 0 {
		s.m.spansDropped.WithLabelValues("rejected").Add(float64(len(seen)))
		s.log.Error("storage rejected spans, dropped them (their batch-mates are stored)",
			"dropped", len(seen), "batch", len(chunk), "first_err", fmt.Sprint(first))
	}
	return len(seen)
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
