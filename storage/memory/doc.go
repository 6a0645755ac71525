// Package memory is a bounded in-memory storage.Store, for tests and quick
// runs.
//
// The store holds at most a configured number of spans (WithMaxSpans). When a
// write would exceed it, the traces written longest ago are evicted whole
// until the new spans fit, and the evictions are counted (see Stats). A single
// batch larger than the whole store is rejected with a permanent error.
//
// Spans are copied on the way in and on the way out, so the store and its
// callers never share memory. Searches scan every stored trace; the store is
// meant for up to about a million spans.
package memory
