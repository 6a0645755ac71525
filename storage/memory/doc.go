// Package memory is a bounded in-memory storage.Store, for tests and quick
// runs.
//
// The store holds at most a configured number of spans (WithMaxSpans) and of
// bytes (WithMaxBytes). When a write would exceed either, the traces written
// longest ago are evicted whole until the new spans fit, the traces of the
// write itself last, and the evictions are counted (see Stats). A span that
// alone is larger than the store, or has a zero trace or span id, is rejected
// (storage.RejectedError); the rest of its write is stored.
//
// Spans are copied on the way in, strings included, a write's spans in a few
// arrays: the store never keeps the caller's memory alive (decoded strings
// may point into a whole WAL record). Spans that share a Resource slice
// share its one copy, and a read returns one copy of each resource. Reads
// return copies, at most ReaderLimits.MaxTraceSpans spans per trace
// (WithReaderLimits). Searches, summaries, RED series and attribute
// listings scan every stored span; the store is meant for up to about a
// million spans. RED counts each stored span once, as its last version.
// StreamTrace copies one batch at a time, outside the lock, from the spans
// stored when it was called.
package memory
