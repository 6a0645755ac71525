package otlp

// Limits bounds what a request may carry.
type Limits struct {
	// MaxSpans is the most spans a request may hold; more rejects the whole
	// request. 0 means unlimited.
	MaxSpans int
	// MaxAttributes is the most attributes a span keeps; Decode drops the
	// extra ones and counts them. 0 means unlimited.
	MaxAttributes int
	// MaxAttributeValueLen is the longest string value kept; Decode
	// truncates longer ones at a UTF-8 boundary and counts them. 0 means
	// unlimited.
	MaxAttributeValueLen int
	// MaxNameLen is the longest span name accepted; Scan rejects spans with
	// longer names. 0 means unlimited.
	MaxNameLen int
}

// DefaultLimits returns the limits the collector uses unless configured:
// 100000 spans per request, 128 attributes per span, 4096-byte attribute
// values and 1024-byte span names.
func DefaultLimits() Limits {
	return Limits{MaxSpans: 100000, MaxAttributes: 128, MaxAttributeValueLen: 4096, MaxNameLen: 1024}
}

// ScanResult is what Scan found.
type ScanResult struct {
	// Body is what to store: the request itself when every span is valid,
	// otherwise a re-encoded request without the invalid spans.
	Body     []byte
	Accepted int
	Rejected int
	// Reason summarises why spans were rejected, for example
	// "2 spans with invalid trace id; 1 span ends before it starts".
	Reason string
}
