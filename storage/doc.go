// Package storage defines Tracer's storage contract: the span model every
// backend stores, the Writer that stores it, the Reader that finds it, the
// DependencyReader behind the service graph and the Purger that applies
// retention.
//
// Backends live in sub-packages (memory, badger, clickhouse). Every backend
// passes the one conformance suite in storage/storagetest.
//
// The contract, which every backend keeps:
//
//   - Writes are synchronous: when WriteSpans returns nil, the spans are
//     durable for that backend and visible to readers.
//   - Writes are idempotent: writing the same span (same trace id and span id)
//     again, as a retried batch does, never shows it twice to readers.
//   - Readers return copies the caller owns; the caller may modify them.
//   - All methods are safe for concurrent use and honour ctx's deadline.
//   - Attribute values are data, never code: a backend stores any key or value
//     (quotes, backslashes, SQL, invalid UTF-8) exactly or rejects the span
//     with an error; it never interprets them.
package storage
