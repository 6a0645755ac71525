package otlp

// Limits bounds what a request may carry and what of it reaches storage.
// Every string that Decode stores has a limit here; a field at 0 means
// unlimited. Scan applies MaxSpans and MaxNameLen (rejecting); Decode applies
// the rest (truncating or dropping, and counting in DecodeStats), so that a
// record scanned under other limits still decodes.
//
// Clock attributes (the vclock.Attr* keys) are exempt from MaxAttributes,
// MaxAttributeValueLen and MaxKeyLen: at most one of each is kept beyond the
// count, whole, since a cut clock is no clock. Their values are substrings of
// the request, so they cost no more memory than the request itself.
type Limits struct {
	// MaxSpans is the most spans a request may hold; more rejects the whole
	// request with ErrTooManySpans.
	MaxSpans int
	// MaxNameLen is the longest span name accepted; Scan rejects spans with
	// longer names (name_too_long).
	MaxNameLen int

	// MaxAttributes is the most attributes a span keeps; Decode drops the
	// extra ones, adds them to Span.DroppedAttributes and counts them in
	// DecodeStats.DroppedAttributes.
	MaxAttributes int
	// MaxResourceAttributes is the most attributes a resource keeps; the
	// extra ones are dropped and counted in DecodeStats.DroppedAttributes.
	MaxResourceAttributes int
	// MaxEventAttributes and MaxLinkAttributes are the most attributes an
	// event or a link keeps; the extra ones are dropped and counted in
	// DecodeStats.DroppedAttributes.
	MaxEventAttributes int
	MaxLinkAttributes  int
	// MaxAttributeValueLen is the longest string value kept, for the
	// attributes of spans, resources, events and links, nested values
	// included; Decode cuts longer ones at a UTF-8 boundary and counts them
	// in DecodeStats.TruncatedValues. Bytes values are strings here.
	MaxAttributeValueLen int
	// MaxKeyLen is the longest attribute key kept (every attribute, nested
	// map keys included); longer ones are cut at a UTF-8 boundary and
	// counted in DecodeStats.TruncatedStrings.
	MaxKeyLen int

	// MaxEvents and MaxLinks are the most events and links a span keeps;
	// the extra ones are dropped, added to Span.DroppedEvents or
	// Span.DroppedLinks and counted in DecodeStats.
	MaxEvents int
	MaxLinks  int

	// MaxStatusMessageLen, MaxEventNameLen and MaxScopeLen (scope name and
	// version) bound those strings; longer ones are cut at a UTF-8 boundary
	// and counted in DecodeStats.TruncatedStrings.
	MaxStatusMessageLen int
	MaxEventNameLen     int
	MaxScopeLen         int
	// MaxTraceStateLen bounds the W3C trace state of spans and links. A
	// longer one is dropped whole (a cut trace state is not valid) and
	// counted in DecodeStats.TruncatedStrings.
	MaxTraceStateLen int
}

// DefaultLimits returns the limits the collector uses unless configured. It
// is the one owner of the defaults:
//
//	MaxSpans               100000 spans per request
//	MaxNameLen             1024 bytes
//	MaxAttributes          128 per span (the OTel SDKs' default)
//	MaxResourceAttributes  128
//	MaxEventAttributes     128 per event (the OTel SDKs' default)
//	MaxLinkAttributes      128 per link (the OTel SDKs' default)
//	MaxAttributeValueLen   4096 bytes
//	MaxKeyLen              256 bytes
//	MaxEvents              1024 per span (the OTel SDKs keep 128)
//	MaxLinks               1024 per span (the OTel SDKs keep 128)
//	MaxStatusMessageLen    4096 bytes
//	MaxEventNameLen        1024 bytes
//	MaxScopeLen            1024 bytes
//	MaxTraceStateLen       1024 bytes (W3C: 32 members, at least 512 propagated)
func DefaultLimits() Limits {
	return Limits{
		MaxSpans:              100000,
		MaxNameLen:            1024,
		MaxAttributes:         128,
		MaxResourceAttributes: 128,
		MaxEventAttributes:    128,
		MaxLinkAttributes:     128,
		MaxAttributeValueLen:  4096,
		MaxKeyLen:             256,
		MaxEvents:             1024,
		MaxLinks:              1024,
		MaxStatusMessageLen:   4096,
		MaxEventNameLen:       1024,
		MaxScopeLen:           1024,
		MaxTraceStateLen:      1024,
	}
}

// ScanResult is what Scan found.
type ScanResult struct {
	// Body is what to store: the request itself when every span is valid,
	// otherwise a re-encoded request without the invalid spans.
	Body     []byte
	Accepted int
	Rejected int
	// Rejections counts the rejected spans by reason: index it with a
	// RejectReason, whose String is the metric label. Its sum is Rejected.
	Rejections [NumRejectReasons]int
	// Reason summarises why spans were rejected, for people (the partial
	// success message), for example
	// "2 spans with invalid trace id; 1 span ends before it starts".
	Reason string
}
