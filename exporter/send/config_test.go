package send

import (
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	good := Endpoint{Address: "127.0.0.1:4317", Protocol: GRPC, Insecure: true}
	tests := []struct {
		name string
		cfg  Config
		want []string // substrings of the error; none: valid
	}{
		{"defaults", Config{Endpoints: []Endpoint{good}}, nil},
		{"http URL without a path", Config{Endpoints: []Endpoint{{Address: "http://collector:4318", Protocol: HTTPProtobuf}}}, nil},
		{"no endpoints", Config{}, []string{"no endpoints"}},
		{"several problems at once", Config{
			Endpoints: []Endpoint{
				{Address: "", Protocol: GRPC},
				{Address: "x:1", Protocol: "thrift"},
				{Address: "grpc://x:1", Protocol: GRPC},
				{Address: "ftp://x/", Protocol: HTTPProtobuf},
				{Address: "x:2", Protocol: GRPC, Compression: "zstd"},
				good, good,
			},
			Timeout: -time.Second,
			Retry:   RetryConfig{InitialInterval: time.Second, MaxInterval: time.Millisecond, Multiplier: 0.5},
			Breaker: BreakerConfig{Failures: -1},
		}, []string{"empty address", `protocol "thrift"`, "without a scheme", `scheme "ftp"`, `compression "zstd"`, "listed twice", "timeout", "below the initial interval", "multiplier", "breaker failures"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				if _, err := New(tt.cfg); err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate accepted it")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if _, err := New(tt.cfg); err == nil {
				t.Error("New accepted it")
			}
		})
	}
}

func TestTraceURL(t *testing.T) {
	tests := []struct {
		ep   Endpoint
		want string
	}{
		{Endpoint{Address: "http://c:4318"}, "http://c:4318/v1/traces"},
		{Endpoint{Address: "http://c:4318/"}, "http://c:4318/v1/traces"},
		{Endpoint{Address: "https://c/otlp/v1/traces"}, "https://c/otlp/v1/traces"},
		{Endpoint{Address: "c:4318", Insecure: true}, "http://c:4318/v1/traces"},
		{Endpoint{Address: "c:4318"}, "https://c:4318/v1/traces"},
	}
	for _, tt := range tests {
		got, err := tt.ep.traceURL()
		if err != nil || got != tt.want {
			t.Errorf("traceURL(%q) = %q, %v; want %q", tt.ep.Address, got, err, tt.want)
		}
	}
}
