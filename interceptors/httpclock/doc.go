// Package httpclock carries Tracer's vector clock over net/http both ways,
// beside the OpenTelemetry contrib HTTP instrumentation (otelhttp): the
// request clock travels with the propagators (propagation.Default), and
// this package adds the response half that gRPC gets from package
// interceptors: a server sends its clock back in the response's
// tracer-vclock header, and the client merges it into the clock of its
// request's span, so that the caller's later spans follow everything the
// callee did.
//
// The simplest use is NewHandler and NewTransport, which are otelhttp's
// with the clock added and Tracer's propagators by default:
//
//	http.ListenAndServe(addr, httpclock.NewHandler(mux, "gateway"))
//	client := &http.Client{Transport: httpclock.NewTransport(http.DefaultTransport)}
//
// With otelhttp set up already, wrap inside its handler and transport, where
// its span is in the request's context; its propagators must carry the
// request's clock (propagation.Default does, and so do the global ones that
// sdk.WithGlobal sets):
//
//	otelhttp.NewHandler(httpclock.Handler(mux), "gateway")
//	otelhttp.NewTransport(httpclock.Transport(http.DefaultTransport))
//
// A streamed response (one the handler flushes, then keeps writing) also
// sends the clock as it is when the handler returns, in a trailer of the
// same name, which the client merges when it has read the body to its end.
// A clock a client cannot parse is ignored and counted (see WithVClock and
// propagation.VClock.Rejected), never an error. Both sides work with plain
// otelhttp on the other: the header is ignored, or never comes.
package httpclock
