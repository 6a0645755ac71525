package send

import (
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

func TestParseResponse(t *testing.T) {
	full, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{PartialSuccess: &coltracepb.ExportTracePartialSuccess{RejectedSpans: 7, ErrorMessage: "too old"}})
	msgOnly, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{PartialSuccess: &coltracepb.ExportTracePartialSuccess{ErrorMessage: "warning"}})
	unknown := protowire.AppendTag(nil, 9, protowire.BytesType)
	unknown = protowire.AppendBytes(unknown, []byte("future field"))
	unknown = append(unknown, full...)
	tests := []struct {
		name     string
		in       []byte
		rejected int64
		msg      string
		bad      bool
	}{
		{"empty", nil, 0, "", false},
		{"full", full, 7, "too old", false},
		{"message only", msgOnly, 0, "warning", false},
		{"unknown field first", unknown, 7, "too old", false},
		{"truncated", full[:len(full)-2], 0, "", true},
		{"garbage", []byte{0xff, 0xff, 0xff}, 0, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rejected, msg, err := parseResponse(tt.in)
			if (err != nil) != tt.bad {
				t.Fatalf("err = %v, want error %v", err, tt.bad)
			}
			if rejected != tt.rejected || msg != tt.msg {
				t.Errorf("got %d %q, want %d %q", rejected, msg, tt.rejected, tt.msg)
			}
		})
	}
}

// FuzzParseResponse checks parseResponse against the generated decoder:
// whatever proto.Unmarshal accepts, parseResponse reads the same way, and
// nothing panics.
func FuzzParseResponse(f *testing.F) {
	for _, r := range []*coltracepb.ExportTraceServiceResponse{
		{},
		{PartialSuccess: &coltracepb.ExportTracePartialSuccess{RejectedSpans: 3, ErrorMessage: "x"}},
		{PartialSuccess: &coltracepb.ExportTracePartialSuccess{RejectedSpans: -1}},
	} {
		b, _ := proto.Marshal(r)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		rejected, msg, err := parseResponse(b)
		var want coltracepb.ExportTraceServiceResponse
		if perr := proto.Unmarshal(b, &want); perr != nil {
			return // invalid UTF-8 and the like: parseResponse may be laxer
		}
		if err != nil {
			t.Fatalf("parseResponse failed (%v) on input proto accepts", err)
		}
		if rejected != want.GetPartialSuccess().GetRejectedSpans() || msg != want.GetPartialSuccess().GetErrorMessage() {
			t.Fatalf("parseResponse = %d %q, proto = %d %q", rejected, msg, want.GetPartialSuccess().GetRejectedSpans(), want.GetPartialSuccess().GetErrorMessage())
		}
	})
}
