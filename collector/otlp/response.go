package otlp

import "google.golang.org/protobuf/encoding/protowire"

// ResponseBytes returns the wire bytes of an ExportTraceServiceResponse
// whose partial_success carries rejected (rejected_spans) and msg
// (error_message). When rejected is 0 and msg is empty it is the empty
// response (an empty, non-nil slice); with rejected 0 and a message it is a
// warning, as the OTLP specification allows.
func ResponseBytes(rejected int, msg string) []byte {
	if rejected <= 0 && msg == "" {
		return []byte{}
	}
	var ps []byte
	if rejected > 0 {
		ps = protowire.AppendTag(ps, psRejected, protowire.VarintType)
		ps = protowire.AppendVarint(ps, uint64(rejected))
	}
	if msg != "" {
		ps = protowire.AppendTag(ps, psMessage, protowire.BytesType)
		ps = protowire.AppendString(ps, msg)
	}
	out := make([]byte, 0, len(ps)+protowire.SizeBytes(len(ps))+1)
	out = protowire.AppendTag(out, respPartial, protowire.BytesType)
	return protowire.AppendBytes(out, ps)
}
