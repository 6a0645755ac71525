package interceptors

import (
	"testing"

	"go.opentelemetry.io/otel/attribute"
	grpccodes "google.golang.org/grpc/codes"
)

func TestTargetAddrAttrs(t *testing.T) {
	tests := []struct {
		target string
		want   []attribute.KeyValue
	}{
		{"dns:///myservice:443", []attribute.KeyValue{keyServerAddress.String("myservice"), keyServerPort.Int(443)}},
		{"passthrough:///127.0.0.1:8080", []attribute.KeyValue{keyServerAddress.String("127.0.0.1"), keyServerPort.Int(8080)}},
		{"dns://8.8.8.8/myservice:443", []attribute.KeyValue{keyServerAddress.String("myservice"), keyServerPort.Int(443)}},
		{"myservice:443", []attribute.KeyValue{keyServerAddress.String("myservice"), keyServerPort.Int(443)}},
		{"[::1]:50051", []attribute.KeyValue{keyServerAddress.String("::1"), keyServerPort.Int(50051)}},
		{"dns:///[::1]:50051", []attribute.KeyValue{keyServerAddress.String("::1"), keyServerPort.Int(50051)}},
		{"unix:///tmp/grpc.sock", []attribute.KeyValue{keyServerAddress.String("/tmp/grpc.sock")}},
		{"unix:relative.sock", []attribute.KeyValue{keyServerAddress.String("relative.sock")}},
		{"dns:///myservice", []attribute.KeyValue{keyServerAddress.String("myservice")}},
		{"dns://authority", []attribute.KeyValue{keyServerAddress.String("dns://authority")}},
		{"myservice", []attribute.KeyValue{keyServerAddress.String("myservice")}},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			got := targetAddrAttrs(nil, tt.target)
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("got %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestParseMethod(t *testing.T) {
	tests := []struct {
		name string
		full string
		mode semconvMode
		want []attribute.KeyValue
	}{
		{"new", "/pkg.Svc/Do", semconvNew, []attribute.KeyValue{keyRPCMethod.String("pkg.Svc/Do"), keyRPCSystemName.String("grpc")}},
		{"old", "/pkg.Svc/Do", semconvOld, []attribute.KeyValue{keyRPCSystem.String("grpc"), keyRPCService.String("pkg.Svc"), keyRPCMethod.String("Do")}},
		{"dup", "/pkg.Svc/Do", semconvDup, []attribute.KeyValue{keyRPCSystem.String("grpc"), keyRPCService.String("pkg.Svc"), keyRPCMethod.String("pkg.Svc/Do"), keyRPCSystemName.String("grpc")}},
		{"new without slash", "pkg.Svc/Do", semconvNew, []attribute.KeyValue{keyRPCSystemName.String("grpc")}},
		{"old without slash", "pkg.Svc/Do", semconvOld, nil},
		{"old without method", "/pkg.Svc", semconvOld, []attribute.KeyValue{keyRPCSystem.String("grpc")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseMethod(tt.full, tt.mode).attrs
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("got %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestSemconvFromEnv(t *testing.T) {
	for env, want := range map[string]semconvMode{
		"": semconvNew, "rpc/old": semconvOld, "rpc/dup": semconvDup, "foo, rpc/dup": semconvDup,
		"rpc/old, rpc/dup": semconvDup, "  rpc/old  ": semconvOld, "http/dup": semconvNew,
	} {
		t.Setenv("OTEL_SEMCONV_STABILITY_OPT_IN", env)
		if got := semconvFromEnv(); got != want {
			t.Errorf("%q: mode %d, want %d", env, got, want)
		}
	}
}

func TestCodeName(t *testing.T) {
	for code, want := range map[grpccodes.Code]string{
		grpccodes.OK: "OK", grpccodes.Canceled: "CANCELLED", grpccodes.Unauthenticated: "UNAUTHENTICATED", 9999: "CODE(9999)",
	} {
		if got := codeName(code); got != want {
			t.Errorf("codeName(%d) = %q, want %q", code, got, want)
		}
	}
}
