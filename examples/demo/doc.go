// Package demo holds Tracer's example services, the model to copy when
// instrumenting your own:
//
//   - service-a (RunServiceA): an HTTP gateway, GET /api/v1/search?q= and
//     GET /api/v1/process?data=, instrumented with the OpenTelemetry contrib
//     HTTP instrumentation plus Tracer's clock (package httpclock), calling
//     service-b over gRPC;
//   - service-b (RunServiceB): a gRPC business service calling service-c:
//     parallel calls, a streaming call, a retry after an error, and work
//     handed to a background worker (producer and consumer spans joined by a
//     link);
//   - service-c (RunServiceC): a gRPC data service, a cache in front of a
//     simulated database with a realistic latency distribution, occasional
//     slow queries and errors;
//   - RunTraffic: a load generator for service-a.
//
// Each runs alone (go run ./examples/service-c, ...) or, all three with
// traffic, inside "tracer all-in-one --demo". Each service has its own
// TracerProvider (NewProvider) and passes it, with Tracer's propagators, to
// its instrumentation explicitly rather than through the OpenTelemetry
// globals, so that the three can share one process as three nodes of the
// vector clock. A service alone in its process can use sdk.WithGlobal and the
// instrumentation's defaults instead, as the README shows.
package demo
