package otlp

import (
	"maps"
	"testing"

	"github.com/tracerdev/tracer/exporter/send"
)

// TestEnvEndpoint follows otlptracegrpc's and otlptracehttp's reading of
// the environment (internal/otlpconfig/envconfig.go of v1.47.0).
func TestEnvEndpoint(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want send.Endpoint
	}{
		{"nothing", nil, send.Endpoint{Address: "localhost:4317", Protocol: send.GRPC}},
		{"grpc url", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317"},
			send.Endpoint{Address: "collector:4317", Protocol: send.GRPC, Insecure: true}},
		{"grpc https", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "https://collector:4317"},
			send.Endpoint{Address: "collector:4317", Protocol: send.GRPC}},
		{"grpc host:port, insecure", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4317", "OTEL_EXPORTER_OTLP_INSECURE": "true"},
			send.Endpoint{Address: "collector:4317", Protocol: send.GRPC, Insecure: true}},
		{"traces endpoint wins", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4317", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://b:4317"},
			send.Endpoint{Address: "b:4317", Protocol: send.GRPC, Insecure: true}},
		{"traces insecure wins", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4317", "OTEL_EXPORTER_OTLP_TRACES_INSECURE": "false"},
			send.Endpoint{Address: "a:4317", Protocol: send.GRPC}},
		{"http default", map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"},
			send.Endpoint{Address: "http://localhost:4318/v1/traces", Protocol: send.HTTPProtobuf, Insecure: true}},
		{"http base url gets /v1/traces", map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318/base"},
			send.Endpoint{Address: "http://c:4318/base/v1/traces", Protocol: send.HTTPProtobuf, Insecure: true}},
		{"http traces url as it is", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://c:4318/custom"},
			send.Endpoint{Address: "https://c:4318/custom", Protocol: send.HTTPProtobuf}},
		{"http traces url without a path", map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318"},
			send.Endpoint{Address: "http://c:4318/", Protocol: send.HTTPProtobuf, Insecure: true}},
		{"headers and compression", map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "api-key=a%20b, x=1,bad", "OTEL_EXPORTER_OTLP_COMPRESSION": "gzip"},
			send.Endpoint{Address: "localhost:4317", Protocol: send.GRPC, Headers: map[string]string{"api-key": "a b", "x": "1"}, Compression: "gzip"}},
		{"traces headers win", map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "a=1", "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "b=2"},
			send.Endpoint{Address: "localhost:4317", Protocol: send.GRPC, Headers: map[string]string{"b": "2"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := envEndpoint(func(k string) string { return tt.env[k] })
			if err != nil {
				t.Fatal(err)
			}
			if got.Address != tt.want.Address || got.Protocol != tt.want.Protocol || got.Insecure != tt.want.Insecure ||
				got.Compression != tt.want.Compression || !maps.Equal(got.Headers, tt.want.Headers) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
	for _, bad := range []map[string]string{
		{"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"},
		{"OTEL_EXPORTER_OTLP_INSECURE": "maybe"},
	} {
		if _, err := envEndpoint(func(k string) string { return bad[k] }); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}

// TestOptionsApplyToEndpoints: headers, insecure and compression reach
// every endpoint unless it has its own.
func TestOptionsApplyToEndpoints(t *testing.T) {
	c, err := newConfig([]Option{
		WithGRPCEndpoint("a:4317"),
		WithEndpoints(send.Endpoint{Address: "http://b:4318", Protocol: send.HTTPProtobuf, Headers: map[string]string{"own": "1"}}),
		WithHeaders(map[string]string{"k": "v"}), WithInsecure(), WithCompression("gzip"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.endpoints) != 2 {
		t.Fatalf("%d endpoints", len(c.endpoints))
	}
	a, b := c.endpoints[0], c.endpoints[1]
	if a.Headers["k"] != "v" || !a.Insecure || a.Compression != "gzip" {
		t.Errorf("first endpoint %+v", a)
	}
	if b.Headers["own"] != "1" || b.Headers["k"] != "" || !b.Insecure {
		t.Errorf("second endpoint %+v", b)
	}
	if _, err := newConfig([]Option{WithEndpoints(send.Endpoint{Address: "x", Protocol: "udp"})}); err == nil {
		t.Error("unknown protocol: no error")
	}
}
