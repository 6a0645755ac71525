// Package analysis holds Tracer's analyses of stored traces: pure functions
// over storage.Span values, with no server code.
//
//   - causal.go: happened-before between span events, from the vector
//     clocks and from the trace's structure; concurrent spans; a causal
//     order.
//   - skew.go: clock skew between service instances, estimated as the
//     interval of offsets consistent with every ordered pair of events, and
//     an adjusted view of a trace (storage is never rewritten).
//   - critical.go: a trace's critical path, each span's self time and
//     contribution; bottleneck.go: bottlenecks across many traces.
//   - anomaly.go, anomaly_structure.go: latency, error-rate and structural
//     anomalies against a robust baseline.
//
// Every analysis starts from a Trace (NewTrace): the spans indexed once,
// the tree built and the clocks parsed, without recursion, so that a
// 100,000-span trace costs O(n log n) at most.
package analysis
