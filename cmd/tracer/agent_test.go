package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracerdev/tracer/collector"
	"github.com/tracerdev/tracer/exporter/send"
	"github.com/tracerdev/tracer/internal/proctest"
	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/memory"
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

// TestAgentInProcess runs "tracer agent" in process in front of a "tracer
// collector" (in process too, on the memory store, with a shorter span name
// limit than the agent's): spans sent to the agent with the official
// OTLP/gRPC exporter are stored; the spans the collector's partial success
// rejects are counted as dropped, not retried; /metrics has the agent's
// counts per collector and exporter/send's (breaker state); cancelling
// the context stops the agent cleanly.
func TestAgentInProcess(t *testing.T) {
	for _, proto := range []string{"grpc", "http/protobuf"} {
		t.Run(proto, func(t *testing.T) { testAgentInProcess(t, proto) })
	}
}

func testAgentInProcess(t *testing.T, proto string) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store := memory.New()
	defer store.Close()
	downHTTP := proctest.FreeAddr(t)
	downGRPC, _, downLogs, downDone := runInProcess(t, ctx, nil, store, t.TempDir(), "--max-name-len", "10", "--batch-timeout", "20ms",
		"--http-endpoint", downHTTP)
	to, endpoint := downGRPC, downGRPC
	if proto == "http/protobuf" {
		to, endpoint = downHTTP, "http://"+downHTTP+"/v1/traces"
	}

	agentGRPC, agentTel := proctest.FreeAddr(t), proctest.FreeAddr(t)
	logs := &proctest.Buffer{}
	started := make(chan *collector.Collector, 1)
	m := &Main{Stdout: io.Discard, Stderr: logs, LookupEnv: func(string) (string, bool) { return "", false },
		started: func(c *collector.Collector) { started <- c }}
	agentCtx, stopAgent := context.WithCancel(ctx)
	defer stopAgent()
	done := make(chan error, 1)
	go func() {
		done <- m.Run(agentCtx, []string{"agent", "--collector", to, "--collector-protocol", proto, "--collector-insecure",
			"--grpc-endpoint", agentGRPC, "--http-endpoint", "", "--telemetry-endpoint", agentTel,
			"--wal-dir", t.TempDir(), "--batch-timeout", "20ms"})
	}()
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("agent returned before it started: %v\n%s", err, logs.String())
	case <-time.After(time.Minute):
		t.Fatal("agent did not start within a minute")
	}

	exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(agentGRPC), otlptracegrpc.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	tr := tp.Tracer("agent-test")
	var ids []trace.TraceID
	for i := range 10 {
		name := "short"
		if i%5 == 4 {
			name = "a name longer than ten bytes" // the collector rejects it, the agent took it
		}
		_, s := tr.Start(ctx, name)
		s.End()
		ids = append(ids, s.SpanContext().TraceID())
	}
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatalf("export to the agent: %v", err)
	}
	metric := func(name string) float64 {
		resp, err := http.Get("http://" + agentTel + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		for _, line := range strings.Split(string(body), "\n") {
			if v, ok := strings.CutPrefix(line, name+" "); ok {
				f, _ := strconv.ParseFloat(v, 64)
				return f
			}
		}
		return -1
	}
	forwarded := `tracer_agent_spans_forwarded_total{endpoint="` + endpoint + `"}`
	await(t, "the agent to forward every span", func() bool {
		return metric(forwarded)+metric(`tracer_agent_spans_dropped_total{reason="rejected"}`) >= 10
	})
	if got := metric(forwarded); got != 8 {
		t.Errorf("%s = %v, want 8", forwarded, got)
	}
	if got := metric(`tracer_agent_spans_dropped_total{reason="rejected"}`); got != 2 {
		t.Errorf("spans dropped as rejected = %v, want 2", got)
	}
	if got := metric(`tracer_exporter_breaker_state{server_address="` + endpoint + `"}`); got != 0 {
		t.Errorf("breaker state = %v, want 0 (closed)", got)
	}
	if got := metric(`tracer_exporter_sent_spans_total{server_address="` + endpoint + `"}`); got != 10 {
		t.Errorf("exporter sent spans = %v, want 10 (rejected ones included)", got)
	}
	for i, id := range ids {
		want := 1
		if i%5 == 4 {
			want = 0
		}
		var tr storage.Trace
		await(t, "the collector to store the spans", func() bool {
			tr, err = store.Trace(ctx, storage.TraceID(id))
			return want == 0 || err == nil
		})
		if len(tr.Spans) != want {
			t.Errorf("trace %d: %d spans stored, want %d", i, len(tr.Spans), want)
		}
	}

	stopAgent()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("agent: %v\n%s", err, logs.String())
		}
	case <-time.After(time.Minute):
		t.Fatal("agent did not stop within a minute")
	}
	if !strings.Contains(logs.String(), "agent forwarding") || !strings.Contains(logs.String(), "collector stopped") {
		t.Errorf("agent log lacks its start or its stop:\n%s", logs.String())
	}
	cancel()
	if err := <-downDone; err != nil {
		t.Errorf("collector: %v\n%s", err, downLogs.String())
	}
}
