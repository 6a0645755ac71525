// Package vclock is the vector clock that Tracer puts on every span.
//
// A Clock maps process (node) ids to event counters. It tells whether one
// event happened before another (Before / After), whether they are
// Concurrent, or Equal. A clock is bounded: past its limit it drops the
// smallest entries and is marked pruned; comparisons that a pruned clock can
// no longer decide return Unknown rather than claim an order.
//
// The package has no dependencies. A Clock is a value that one goroutine
// owns.
//
// # Size
//
// MaxLimit is the one ceiling on a clock's size. A process may keep clocks
// of up to MaxLimit entries (DefaultLimit unless configured, see
// sdk.WithClockLimit), and everything that reads a clock (Parse, Validate,
// Compose, FromAttributes, the propagators, storage) accepts up to MaxLimit
// entries, so a clock one process may send is never refused by another.
// MaxTextLen bounds its text accordingly.
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
// Tracer's SDK records a span's clock in a few attributes (see AttrNode,
// AttrTick and AttrDeps) instead of one encoded clock per span, so that the
// text of the clock is encoded only when it changes: the process's node id,
// its counter at the span's start, and the entries of the other processes
// that the span causally follows. FromAttributes rebuilds a span's clocks
// (at its start and end) from them, for OpenTelemetry spans and stored spans
// alike; Compose rebuilds one clock from a (node, tick, deps) triple.
//
// # What the clock can tell, and what it cannot
//
// A clock orders only what it saw. An order it reports (Before, After) is
// always true: counters grow only along causal paths. Concurrent, though,
// claims that no causal path joins two events, and a clock can only vouch
// for that when every path between them carried the clock.
//
// A hop that does not carry it, such as a service instrumented with plain
// OpenTelemetry (otelgrpc, say) between two Tracer services, breaks that:
// in A -> B -> C with a plain B, C receives B's trace context but not A's
// clock, so C's clock alone would look concurrent with A's, though A's call
// happened before C's work. Tracer's SDK therefore marks a clock pruned
// where its causal past did not come with it: when a span starts with a
// remote parent and no clock, and when a span starts under a local parent
// whose clock state is gone (ended or evicted). The mark travels onwards
// with the clock, so C's spans and everything C calls compare Unknown, not
// Concurrent, with what lies beyond the hop, while the orders the clock did
// see are still reported (C's spans among themselves with CompareStarts).
// The trace's structure (parent before child, a synchronous call's end
// before its caller's end) decides the rest; analysis joins the two.
//
// A clock also says nothing about goroutines within one process: all of a
// process's events of a trace are ordered by its one counter.
package vclock
