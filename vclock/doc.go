// Package vclock is the vector clock that Tracer puts on every span.
//
// A Clock maps process (node) ids to event counters. It tells whether one
// event happened before another (Before / After), whether they are
// Concurrent, or Equal. A clock is bounded: past its limit it drops the
// smallest entries and is marked pruned; comparisons that a pruned clock can
// no longer decide return Unknown rather than claim an order.
//
// The package has no dependencies. Clock is a value that one goroutine owns;
// Shared is the mutex-guarded clock that the goroutines of one request share.
//
// # Text encoding
//
// A clock is written as comma-separated "node:count" entries sorted by node,
// for example "api-1:3,db-7:12". A pruned clock starts with "!". Node ids are
// 1 to 64 characters from [A-Za-z0-9._-]; counts are positive decimals. Parse
// is strict: anything else, duplicates and unsorted entries included, is an
// error.
//
// # Span attributes
//
// Tracer's SDK records a span's clock in three attributes (see AttrNode,
// AttrTick and AttrDeps) instead of one encoded clock per span, so that the
// text of the clock is encoded only when it changes: the process's node id,
// its counter at the span's start, and the entries of the other processes
// that the span causally follows. Compose rebuilds the whole clock from them.
package vclock
