package otlp

import (
	"testing"
)

// FuzzParseRecord: a spool record of any content is parsed or refused,
// never a panic, and what appendRecordHeader writes parses back.
func FuzzParseRecord(f *testing.F) {
	f.Add(appendRecordHeader(nil, 512), []byte("body"))
	f.Add([]byte{1}, []byte{})
	f.Add([]byte{2, 0}, []byte{0xff})
	f.Fuzz(func(t *testing.T, head, body []byte) {
		_, _, _ = parseRecord(append(head, body...))
		n := len(body) % 100000
		rec := append(appendRecordHeader(nil, n), body...)
		spans, got, err := parseRecord(rec)
		if err != nil || spans != n || string(got) != string(body) {
			t.Fatalf("round trip of %d spans, %d bytes: %d, %d bytes, %v", n, len(body), spans, len(got), err)
		}
	})
}
