package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tracerdev/tracer/exporter/send"
)

// TestAgentConfigPrecedence: the agent's settings come from defaults, the
// YAML file (agent: and the collector's shared keys), the environment and
// flags, later ones winning; its WAL directory is agent.wal_dir, not the
// collector's wal.dir.
func TestAgentConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tracer.yaml")
	yaml := `
wal:
  dir: /collector/wal
  sync: interval
batch:
  size: 500
agent:
  wal_dir: /from/yaml
  collectors: [c1:4317, c2:4317]
  protocol: http/protobuf
  headers:
    Authorization: Bearer yaml
  breaker:
    failures: 5
  retry:
    max_elapsed: 1m
`
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	m, _, _ := testMain(map[string]string{
		"TRACER_CONFIG":                 path,
		"TRACER_AGENT_COLLECTORS":       "e1:4318,e2:4318",
		"TRACER_AGENT_BREAKER_OPEN_FOR": "2s",
		"TRACER_AGENT_HEADERS":          "x-tenant=env",
	})
	cfg, err := m.loadAgentConfig([]string{"--wal-dir", "/from/flag", "--collector-breaker-open-for", "3s", "--collector-insecure"})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	a := cfg.Agent
	checks := []struct {
		name      string
		got, want any
	}{
		{"wal dir (flag over yaml)", a.WALDir, "/from/flag"},
		{"collectors (env over yaml)", a.Collectors, []string{"e1:4318", "e2:4318"}},
		{"protocol (yaml)", a.Protocol, "http/protobuf"},
		{"headers (env over yaml, keys lower case)", a.Headers, map[string]string{"x-tenant": "env"}},
		{"breaker failures (yaml)", a.Breaker.Failures, 5},
		{"breaker open for (flag over env)", a.Breaker.OpenFor, 3 * time.Second},
		{"insecure (flag)", a.Insecure, true},
		{"retry max elapsed (yaml)", a.Retry.MaxElapsed, time.Minute},
		{"timeout (default)", a.Timeout, 10 * time.Second},
		{"compression (default)", a.Compression, "gzip"},
		{"max request bytes (default)", a.MaxRequestBytes, 4 << 20},
		{"wal sync (shared yaml key)", cfg.WAL.Sync, "interval"},
		{"batch size (shared yaml key)", cfg.Batch.Size, 500},
		{"the collector's wal dir is not the agent's", agentCollectorConfig(cfg).WAL.Dir, "/from/flag"},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}

	// The defaults give the agent a WAL of its own.
	m, _, _ = testMain(nil)
	cfg, err = m.loadAgentConfig([]string{"--collector", "c:4317"})
	if err != nil {
		t.Fatalf("load with defaults: %v", err)
	}
	if cfg.Agent.WALDir != "tracer-agent-data/wal" || agentCollectorConfig(cfg).WAL.Dir != "tracer-agent-data/wal" {
		t.Errorf("default WAL dir %q, want tracer-agent-data/wal", cfg.Agent.WALDir)
	}
}

// TestAgentConfigErrors: every problem is reported at once, with its
// source; no --collector says what to give.
func TestAgentConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want []string
	}{
		{"no collector", nil, nil, []string{"agent.collectors is empty", "--collector host:port"}},
		{"many", map[string]string{"TRACER_AGENT_TIMEOUT": "soon"}, []string{
			"--collector", "nohost,ftp://x:1,c:4317,c:4317", "--collector-protocol", "udp", "--collector-compression", "zstd",
			"--collector-breaker-failures", "0", "--collector-retry-max-elapsed", "0s", "--collector-headers", "novalue",
			"--wal-dir=", "--batch-size", "0", "--collector-max-request-bytes", "0",
		}, []string{
			`$TRACER_AGENT_TIMEOUT: not a duration`,
			`--collector-headers: header "novalue" is not key=value`,
			`agent.collectors: "nohost" is not host:port`,
			`scheme "ftp"`,
			`"c:4317" is listed twice`,
			`agent.protocol must be "grpc" or "http/protobuf", got "udp" (set by --collector-protocol)`,
			`agent.compression must be "gzip" or "none"`,
			"agent.breaker.failures must be at least 1, got 0 (set by --collector-breaker-failures)",
			"agent.retry.max_elapsed must be positive",
			"agent.wal_dir is required",
			"batch.size must be positive",
			"agent.max_request_bytes must be positive",
		}},
		{"grpc with a path", nil, []string{"--collector", "http://c:4317/v1/traces"}, []string{"a gRPC collector takes no path"}},
		{"missing CA file", nil, []string{"--collector", "c:4317", "--collector-tls-ca-file", "/nonexistent/ca.pem"}, []string{"agent.tls.ca_file"}},
		{"storage flags are not the agent's", nil, []string{"--collector", "c:4317", "--storage", "memory"}, []string{"unknown flag --storage"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _, _ := testMain(tt.env)
			_, err := m.loadAgentConfig(tt.args)
			if err == nil {
				t.Fatal("want an error")
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error lacks %q:\n%v", want, err)
				}
			}
			if !strings.Contains(err.Error(), `run "tracer agent --help"`) {
				t.Errorf("error lacks the help hint:\n%v", err)
			}
			if strings.Contains(err.Error(), "wal.dir") {
				t.Errorf("error names wal.dir, which the agent does not use:\n%v", err)
			}
		})
	}
}

// TestAgentEndpoints: --collector addresses become exporter/send endpoints:
// TLS unless insecure, a scheme per address winning; HTTP gets the traces
// path.
func TestAgentEndpoints(t *testing.T) {
	tests := []struct {
		name     string
		protocol string
		insecure bool
		addr     string
		want     send.Endpoint
	}{
		{"grpc tls", "grpc", false, "c:4317", send.Endpoint{Address: "c:4317", Protocol: send.GRPC}},
		{"grpc insecure", "grpc", true, "c:4317", send.Endpoint{Address: "c:4317", Protocol: send.GRPC, Insecure: true}},
		{"grpc http scheme", "grpc", false, "http://c:4317", send.Endpoint{Address: "c:4317", Protocol: send.GRPC, Insecure: true}},
		{"grpc https scheme over insecure", "grpc", true, "https://c:4317/", send.Endpoint{Address: "c:4317", Protocol: send.GRPC}},
		{"http tls", "http/protobuf", false, "c:4318", send.Endpoint{Address: "https://c:4318/v1/traces", Protocol: send.HTTPProtobuf}},
		{"http insecure", "http/protobuf", true, "c:4318", send.Endpoint{Address: "http://c:4318/v1/traces", Protocol: send.HTTPProtobuf, Insecure: true}},
		{"http path kept", "http/protobuf", false, "http://c:80/otlp/v1/traces", send.Endpoint{Address: "http://c:80/otlp/v1/traces", Protocol: send.HTTPProtobuf, Insecure: true}},
		{"ipv6", "grpc", true, "[::1]:4317", send.Endpoint{Address: "[::1]:4317", Protocol: send.GRPC, Insecure: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := defaultAgentConfig()
			a.Protocol, a.Insecure, a.Compression = tt.protocol, tt.insecure, "none"
			got, err := agentEndpoint(a, tt.addr)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("agentEndpoint(%q) = %+v, want %+v", tt.addr, got, tt.want)
			}
		})
	}

	// The send configuration carries every setting.
	a := defaultAgentConfig()
	a.Collectors = []string{"a:4317", "http://b:4317"}
	a.Spread, a.Headers = true, map[string]string{"authorization": "Bearer t"}
	a.Breaker = agentBreakerConfig{Failures: 2, OpenFor: time.Second}
	cfg, err := agentSendConfig(a)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Endpoints) != 2 || cfg.Endpoints[0].Insecure || !cfg.Endpoints[1].Insecure ||
		cfg.Endpoints[0].Compression != "gzip" || cfg.Endpoints[1].Headers["authorization"] != "Bearer t" {
		t.Errorf("endpoints %+v", cfg.Endpoints)
	}
	if !cfg.Spread || cfg.Breaker != (send.BreakerConfig{Failures: 2, OpenFor: time.Second}) || cfg.Retry.MaxElapsed != 30*time.Second || cfg.Timeout != 10*time.Second {
		t.Errorf("send config %+v", cfg)
	}
}

// TestAgentTLSCAFile: a CA file is read into the endpoints' TLS roots; one
// without a certificate is an error.
func TestAgentTLSCAFile(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.pem")
	if err := os.WriteFile(bad, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	a := defaultAgentConfig()
	a.Collectors = []string{"c:4317"}
	a.TLS.CAFile = bad
	if _, err := agentSendConfig(a); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("bad CA file: got %v, want an error saying it holds no certificate", err)
	}
}

// TestAgentHelp: the usage text says what the agent does and lists its
// flags, with the WAL default of its own.
func TestAgentHelp(t *testing.T) {
	m, out, _ := testMain(nil)
	if _, err := m.loadAgentConfig([]string{"--help"}); err == nil {
		t.Fatal("--help: want flag.ErrHelp")
	}
	for _, want := range []string{
		"Usage: tracer agent --collector", "failover", "fails back", "write-ahead log",
		"--collector host:port", "--collector-protocol grpc|http/protobuf", "--collector-insecure", "--collector-headers",
		"--collector-spread", "--collector-breaker-open-for", "--grpc-endpoint", "--http-endpoint", "--telemetry-endpoint",
		`--wal-dir path, $TRACER_AGENT_WAL_DIR (default "tracer-agent-data/wal")`, "--wal-sync", "--batch-size",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("usage lacks %q", want)
		}
	}
	if strings.Contains(out.String(), "--storage") {
		t.Error("usage lists --storage, which the agent does not take")
	}
}
