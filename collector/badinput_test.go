package collector_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/memory"
)

// invalidSpans are spans that validation must reject, each for one reason.
func invalidSpans() map[string]spanSpec {
	zeroTrace := validSpan(100)
	zeroTrace.traceID = make([]byte, 16)
	shortSpan := validSpan(101)
	shortSpan.spanID = shortSpan.spanID[:7]
	backwards := validSpan(102)
	backwards.end = backwards.start - 1
	noName := validSpan(103)
	noName.name = ""
	longTrace := validSpan(104)
	longTrace.traceID = append(longTrace.traceID, 1)
	return map[string]spanSpec{
		"zero trace id": zeroTrace, "7-byte span id": shortSpan, "end before start": backwards,
		"empty name": noName, "17-byte trace id": longTrace,
	}
}

func allInvalid() []spanSpec {
	var out []spanSpec
	for _, s := range invalidSpans() {
		out = append(out, s)
	}
	return out
}

func jsonSpan(s spanSpec) string {
	return fmt.Sprintf(`{"traceId":%q,"spanId":%q,"name":%q,"kind":2,"startTimeUnixNano":"%d","endTimeUnixNano":"%d","attributes":[{"key":"k","value":{"stringValue":"v"}}]}`,
		hex.EncodeToString(s.traceID), hex.EncodeToString(s.spanID), s.name, s.start, s.end)
}

func jsonRequest(spans ...spanSpec) string {
	var parts []string
	for _, s := range spans {
		parts = append(parts, jsonSpan(s))
	}
	return `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},"scopeSpans":[{"scope":{"name":"t"},"spans":[` + strings.Join(parts, ",") + `]}]}]}`
}

func gzipped(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestHTTPBadInput sends good, bad and mixed requests over OTLP/HTTP: each
// gets the right status and body, the valid spans are stored, the others
// are not, and the collector keeps serving.
func TestHTTPBadInput(t *testing.T) {
	const maxReq = 64 << 10
	cfg := testConfig(t)
	cfg.Limits.MaxRequestBytes = maxReq
	cfg.Limits.MaxSpansPerRequest = 8
	store := memory.New()
	defer store.Close()
	c := startCollector(t, cfg, store)
	url := "http://" + c.HTTPAddr() + "/v1/traces"
	tooMany := []spanSpec{}
	for i := 20; i < 29; i++ {
		tooMany = append(tooMany, validSpan(i))
	}

	v := func(i int) spanSpec { return validSpan(i) }
	mixed := append([]spanSpec{v(1), v(2)}, allInvalid()...)
	big := bytes.Repeat([]byte{0}, maxReq+1)

	tests := []struct {
		name         string
		method       string
		contentType  string
		encoding     string
		body         []byte
		wantCode     int
		wantRejected int64 // partial success
		stored       []spanSpec
	}{
		{name: "protobuf valid", contentType: "application/x-protobuf", body: request(t, "svc", v(0)), wantCode: 200, stored: []spanSpec{v(0)}},
		{name: "protobuf gzip valid", contentType: "application/x-protobuf", encoding: "gzip", body: gzipped(t, request(t, "svc", v(3))), wantCode: 200, stored: []spanSpec{v(3)}},
		{name: "protobuf mixed", contentType: "application/x-protobuf", body: request(t, "svc", mixed...), wantCode: 200, wantRejected: int64(len(invalidSpans())), stored: []spanSpec{v(1), v(2)}},
		{name: "protobuf all invalid", contentType: "application/x-protobuf", body: request(t, "svc", allInvalid()...), wantCode: 200, wantRejected: int64(len(invalidSpans()))},
		{name: "protobuf malformed", contentType: "application/x-protobuf", body: []byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2}, wantCode: 400},
		{name: "protobuf truncated", contentType: "application/x-protobuf", body: request(t, "svc", v(4))[:20], wantCode: 400},
		{name: "json valid", contentType: "application/json", body: []byte(jsonRequest(v(5))), wantCode: 200, stored: []spanSpec{v(5)}},
		{name: "json charset param", contentType: "application/json; charset=utf-8", body: []byte(jsonRequest(v(6))), wantCode: 200, stored: []spanSpec{v(6)}},
		{name: "json mixed", contentType: "application/json", body: []byte(jsonRequest(v(7), invalidSpans()["zero trace id"], invalidSpans()["end before start"])), wantCode: 200, wantRejected: 2, stored: []spanSpec{v(7)}},
		{name: "json malformed", contentType: "application/json", body: []byte(`{"resourceSpans":[{`), wantCode: 400},
		{name: "json wrong types", contentType: "application/json", body: []byte(`{"resourceSpans":"nope"}`), wantCode: 400},
		{name: "json bad hex id", contentType: "application/json", body: []byte(strings.Replace(jsonRequest(v(8)), hex.EncodeToString(v(8).traceID), "zz"+hex.EncodeToString(v(8).traceID)[2:], 1)), wantCode: 400},
		{name: "too large", contentType: "application/x-protobuf", body: big, wantCode: 413},
		{name: "too many spans", contentType: "application/x-protobuf", body: request(t, "svc", tooMany...), wantCode: 413},
		{name: "gzip bomb", contentType: "application/x-protobuf", encoding: "gzip", body: gzipped(t, big), wantCode: 413},
		{name: "bad gzip", contentType: "application/x-protobuf", encoding: "gzip", body: []byte("not gzip at all"), wantCode: 400},
		{name: "unknown encoding", contentType: "application/x-protobuf", encoding: "br", body: request(t, "svc", v(9)), wantCode: 415},
		{name: "text content type", contentType: "text/plain", body: request(t, "svc", v(10)), wantCode: 415},
		{name: "no content type", body: request(t, "svc", v(11)), wantCode: 415},
		{name: "GET", method: http.MethodGet, wantCode: 405},
	}
	var wantStored []spanSpec
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			req, err := http.NewRequest(method, url, bytes.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			if tt.encoding != "" {
				req.Header.Set("Content-Encoding", tt.encoding)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantCode {
				t.Fatalf("status: got %d, want %d (body %q)", resp.StatusCode, tt.wantCode, body)
			}
			isJSON := strings.HasPrefix(tt.contentType, "application/json")
			switch {
			case tt.wantCode == 200 && isJSON:
				var r struct {
					PartialSuccess struct {
						RejectedSpans json.Number `json:"rejectedSpans"`
						ErrorMessage  string      `json:"errorMessage"`
					} `json:"partialSuccess"`
				}
				if err := json.Unmarshal(body, &r); err != nil {
					t.Fatalf("response %q: %v", body, err)
				}
				got, _ := r.PartialSuccess.RejectedSpans.Int64()
				if got != tt.wantRejected || (got > 0) != (r.PartialSuccess.ErrorMessage != "") {
					t.Errorf("partial success: got %d %q, want %d rejected", got, r.PartialSuccess.ErrorMessage, tt.wantRejected)
				}
			case tt.wantCode == 200:
				var r coltracepb.ExportTraceServiceResponse
				if err := proto.Unmarshal(body, &r); err != nil {
					t.Fatalf("response: %v", err)
				}
				got := r.GetPartialSuccess().GetRejectedSpans()
				if got != tt.wantRejected || (got > 0) != (r.GetPartialSuccess().GetErrorMessage() != "") {
					t.Errorf("partial success: got %d %q, want %d rejected", got, r.GetPartialSuccess().GetErrorMessage(), tt.wantRejected)
				}
			case tt.wantCode == 405:
			case isJSON:
				var st struct {
					Code    int
					Message string
				}
				if err := json.Unmarshal(body, &st); err != nil || st.Message == "" {
					t.Errorf("error body %q: want a JSON google.rpc.Status (%v)", body, err)
				}
			default:
				var st spb.Status
				if err := proto.Unmarshal(body, &st); err != nil || st.Message == "" {
					t.Errorf("error body %q: want a protobuf google.rpc.Status (%v)", body, err)
				}
			}
		})
		wantStored = append(wantStored, tt.stored...)
	}

	shutdown(t, c)
	var traceIDs [][]byte
	for i := 0; i < 29; i++ {
		traceIDs = append(traceIDs, v(i).traceID)
	}
	for _, s := range invalidSpans() {
		traceIDs = append(traceIDs, s.traceID)
	}
	assertStored(t, storedSpans(t, store, traceIDs...), wantStored)
}

// assertStored checks that got holds exactly the want spans.
func assertStored(t *testing.T, got map[string]storage.Span, want []spanSpec) {
	t.Helper()
	for _, s := range want {
		k := hex.EncodeToString(s.traceID) + "/" + hex.EncodeToString(s.spanID)
		sp, ok := got[k]
		if !ok {
			t.Errorf("span %s not stored", k)
			continue
		}
		if sp.Name != s.name || uint64(sp.StartTime) != s.start || uint64(sp.EndTime) != s.end {
			t.Errorf("span %s: got name %q times %d-%d, want %q %d-%d", k, sp.Name, sp.StartTime, sp.EndTime, s.name, s.start, s.end)
		}
		delete(got, k)
	}
	for k := range got {
		t.Errorf("unexpected span stored: %s", k)
	}
}

// rawCodec sends and receives raw bytes, so a test can send what no
// generated client would.
type rawCodec struct{}

func (rawCodec) Name() string { return "proto" }
func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(*(v.(*[]byte)))}, nil
}
func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	*(v.(*[]byte)) = data.Materialize()
	return nil
}

// TestGRPCBadInput sends good, bad and mixed requests over OTLP/gRPC.
func TestGRPCBadInput(t *testing.T) {
	const maxReq = 64 << 10
	cfg := testConfig(t)
	cfg.Limits.MaxRequestBytes = maxReq
	cfg.Limits.MaxSpansPerRequest = 8
	store := memory.New()
	defer store.Close()
	c := startCollector(t, cfg, store)
	tooMany := []spanSpec{}
	for i := 20; i < 29; i++ {
		tooMany = append(tooMany, validSpan(i))
	}
	conn, err := grpc.NewClient(c.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	v := func(i int) spanSpec { return validSpan(i) }
	mixed := append([]spanSpec{v(1), v(2)}, allInvalid()...)
	tests := []struct {
		name         string
		body         []byte
		wantCode     codes.Code
		wantRejected int64
		stored       []spanSpec
	}{
		{"valid", request(t, "svc", v(0)), codes.OK, 0, []spanSpec{v(0)}},
		{"mixed", request(t, "svc", mixed...), codes.OK, int64(len(invalidSpans())), []spanSpec{v(1), v(2)}},
		{"all invalid", request(t, "svc", allInvalid()...), codes.OK, int64(len(invalidSpans())), nil},
		{"malformed", []byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2}, codes.InvalidArgument, 0, nil},
		{"truncated", request(t, "svc", v(3))[:20], codes.InvalidArgument, 0, nil},
		{"too large", bytes.Repeat([]byte{0}, maxReq+1), codes.ResourceExhausted, 0, nil},
		{"too many spans", request(t, "svc", tooMany...), codes.ResourceExhausted, 0, nil},
		{"empty", nil, codes.OK, 0, nil},
	}
	var wantStored []spanSpec
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, out := tt.body, []byte(nil)
			err := conn.Invoke(context.Background(), "/opentelemetry.proto.collector.trace.v1.TraceService/Export", &in, &out, grpc.ForceCodecV2(rawCodec{}))
			if got := status.Code(err); got != tt.wantCode {
				t.Fatalf("code: got %v (%v), want %v", got, err, tt.wantCode)
			}
			if err != nil {
				return
			}
			var r coltracepb.ExportTraceServiceResponse
			if err := proto.Unmarshal(out, &r); err != nil {
				t.Fatalf("response: %v", err)
			}
			got := r.GetPartialSuccess().GetRejectedSpans()
			if got != tt.wantRejected || (got > 0) != (r.GetPartialSuccess().GetErrorMessage() != "") {
				t.Errorf("partial success: got %d %q, want %d rejected", got, r.GetPartialSuccess().GetErrorMessage(), tt.wantRejected)
			}
		})
		wantStored = append(wantStored, tt.stored...)
	}

	// The generated client (the OTel proto types) works too.
	client := coltracepb.NewTraceServiceClient(conn)
	if _, err := client.Export(context.Background(), requestMsg("svc", v(4))); err != nil {
		t.Fatalf("generated client: %v", err)
	}
	wantStored = append(wantStored, v(4))

	shutdown(t, c)
	var traceIDs [][]byte
	for i := 0; i < 29; i++ {
		traceIDs = append(traceIDs, v(i).traceID)
	}
	for _, s := range invalidSpans() {
		traceIDs = append(traceIDs, s.traceID)
	}
	assertStored(t, storedSpans(t, store, traceIDs...), wantStored)
}
