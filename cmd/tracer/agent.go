package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/tracerdev/tracer/collector"
	"github.com/tracerdev/tracer/exporter/send"
)

const agentUsage = `Usage: tracer agent --collector host:port[,host:port...] [flags]

Runs beside the services (a local daemon or a sidecar) and forwards their
spans to collectors. It takes OTLP from any OpenTelemetry SDK on localhost
(OTLP/gRPC on --grpc-endpoint, OTLP/HTTP POST /v1/traces on
--http-endpoint), validates each request as "tracer collector" does, and
acknowledges it once it is in the agent's own write-ahead log (--wal-dir,
fsynced before the answer by default). From there it sends the requests'
bytes as they came, batched, to the first collector of --collector that
works: OTLP/gRPC or OTLP/HTTP (--collector-protocol), to a "tracer collector"
or any OTLP receiver (an OpenTelemetry Collector, say).

Nothing acknowledged is lost to a collector that is slow, down, restarting
or replaced, nor to the agent's own crash: the WAL is trimmed only after a
collector accepted the spans, and on restart the agent sends what is left.
While no collector takes them, spans wait in the WAL (up to
--wal-max-bytes; past it the agent pushes back on its clients with a
retryable error).

Several collectors (--collector a:4317,b:4317) are tried in that order: each
has a circuit breaker that opens after --collector-breaker-failures failures
in a row, so that traffic fails over to the next one; after
--collector-breaker-open-for one request probes it again, and once it works
traffic fails back to it. --collector-spread sends to every working one in
turn instead. Failed sends are retried with exponential backoff, honouring
the collector's retry delay (gRPC RetryInfo, HTTP Retry-After). Spans a
collector refuses for good (InvalidArgument, HTTP 400) or rejects in a
partial success are dropped and counted, not retried.

Connections use TLS unless --collector-insecure is given (as the
OpenTelemetry exporters do; "tracer collector" itself listens in plain text,
so pass it for one reached directly); an http:// or https:// prefix on an
address says it per collector.

Liveness GET /health, readiness GET /ready (503 also while no collector
takes spans) and Prometheus metrics GET /metrics (tracer_agent_*, and the
receivers' and WAL's tracer_collector_*) on --telemetry-endpoint. On SIGINT
or SIGTERM it stops intake, sends what it can within --shutdown-timeout and
leaves the rest in the WAL for the next start.

` + configHelp

// agentConfig is "tracer agent"'s own configuration (under "agent" in the
// YAML file): where its WAL is and where it sends. The agent also takes the
// collector's receivers, limits, wal (but wal.dir), batch, retry and
// telemetry settings.
type agentConfig struct {
	// WALDir is the agent's write-ahead log: a key of its own, so that a
	// collector and an agent given one YAML file never share a WAL.
	WALDir string `yaml:"wal_dir"`
	// Collectors are where spans go, in failover order: host:port (4317
	// for gRPC, 4318 for HTTP), or an http:// or https:// URL.
	Collectors []string `yaml:"collectors"`
	// Protocol is "grpc" or "http/protobuf".
	Protocol string `yaml:"protocol"`
	// Insecure uses plain text for addresses without a scheme.
	Insecure bool `yaml:"insecure"`
	// TLS is the client side of TLS.
	TLS agentTLSConfig `yaml:"tls"`
	// Headers go with every request (gRPC metadata, HTTP headers).
	Headers map[string]string `yaml:"headers"`
	// Compression is "gzip" or "none".
	Compression string `yaml:"compression"`
	// Spread sends to every working collector in turn instead of the first.
	Spread bool `yaml:"spread"`
	// Timeout bounds one attempt to send a request.
	Timeout time.Duration `yaml:"timeout"`
	// Retry is the backoff between attempts of one send.
	Retry agentRetryConfig `yaml:"retry"`
	// Breaker is each collector's circuit breaker.
	Breaker agentBreakerConfig `yaml:"breaker"`
	// MaxRequestBytes bounds a forwarded request (WAL records are
	// concatenated up to it).
	MaxRequestBytes int `yaml:"max_request_bytes"`
}

// agentTLSConfig configures TLS to the collectors.
type agentTLSConfig struct {
	// CAFile is a PEM file of the CAs to trust; empty: the system's.
	CAFile string `yaml:"ca_file"`
	// ServerName overrides the name checked in the certificate.
	ServerName string `yaml:"server_name"`
}

// agentRetryConfig is send.RetryConfig's settings.
type agentRetryConfig struct {
	InitialInterval time.Duration `yaml:"initial_interval"`
	MaxInterval     time.Duration `yaml:"max_interval"`
	// MaxElapsed bounds one send's attempts over every collector; then
	// the batch waits (the pipeline's --retry backoff, not a flag) and is
	// sent again, for as long as it takes.
	MaxElapsed time.Duration `yaml:"max_elapsed"`
}

// agentBreakerConfig is send.BreakerConfig's settings.
type agentBreakerConfig struct {
	Failures int           `yaml:"failures"`
	OpenFor  time.Duration `yaml:"open_for"`
}

// defaultAgentConfig is agentConfig's defaults: exporter/send's, gzip as
// the OpenTelemetry Collector's otlp exporter, and requests of at most
// 4MiB, the largest message a gRPC server takes by default.
func defaultAgentConfig() agentConfig {
	return agentConfig{
		WALDir:      "tracer-agent-data/wal",
		Protocol:    string(send.GRPC),
		Compression: "gzip",
		Timeout:     10 * time.Second,
		Retry: agentRetryConfig{
			InitialInterval: 100 * time.Millisecond,
			MaxInterval:     5 * time.Second,
			MaxElapsed:      30 * time.Second,
		},
		Breaker:         agentBreakerConfig{Failures: 3, OpenFor: 5 * time.Second},
		MaxRequestBytes: 4 << 20,
	}
}

// headersValue is a list of key=value pairs, comma-separated, as
// OTEL_EXPORTER_OTLP_HEADERS writes them.
type headersValue struct{ p *map[string]string }

var _ value = headersValue{}

func (v headersValue) Set(s string) error {
	out := map[string]string{}
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item == "" {
			continue
		}
		k, val, ok := strings.Cut(item, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return fmt.Errorf("header %q is not key=value", item)
		}
		out[strings.ToLower(k)] = strings.TrimSpace(val)
	}
	*v.p = out
	return nil
}

func (v headersValue) String() string {
	if v.p == nil {
		return ""
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(*v.p)) {
		parts = append(parts, k+"="+(*v.p)[k])
	}
	return strings.Join(parts, ",")
}

func (headersValue) Type() string { return "list" }

func headersField(p func(*config) *map[string]string) binder {
	return func(c *config) value { return headersValue{p(c)} }
}

// The agent's own settings, and the collector's it takes with another help
// text or key.
var (
	agentWALSection = section{"Write-ahead log (acknowledged spans wait here until a collector takes them)", append([]setting{
		{flag: "wal-dir", env: "TRACER_AGENT_WAL_DIR", key: "agent.wal_dir", arg: "path",
			help:  "the agent's write-ahead log directory (required; not wal.dir, so that an agent and a collector never share one)",
			field: strField(func(c *config) *string { return &c.Agent.WALDir })},
	}, without(walSection.settings, "wal-dir")...)}
	agentBatchSection = section{"Batching", []setting{
		{flag: "batch-size", env: "TRACER_BATCH_SIZE", key: "batch.size",
			help:  "spans per forwarded request (WAL records are concatenated up to it and --collector-max-request-bytes; a larger record goes alone)",
			field: intField(func(c *config) *int { return &c.Batch.Size })},
		{flag: "batch-timeout", env: "TRACER_BATCH_TIMEOUT", key: "batch.timeout",
			help:  "longest a span waits for its batch to fill",
			field: durField(func(c *config) *time.Duration { return &c.Batch.Timeout })},
	}}
	agentCollectorsSection = section{"Collectors (where spans go)", []setting{
		{flag: "collector", env: "TRACER_AGENT_COLLECTORS", key: "agent.collectors", arg: "host:port,...",
			help:  "collectors in failover order (required): host:port (OTLP/gRPC 4317, OTLP/HTTP 4318), or an http:// or https:// URL (plain text or TLS for that one; for HTTP the path defaults to /v1/traces)",
			field: listField(func(c *config) *[]string { return &c.Agent.Collectors })},
		{flag: "collector-protocol", env: "TRACER_AGENT_PROTOCOL", key: "agent.protocol", arg: "grpc|http/protobuf",
			help:  "OTLP transport to the collectors",
			field: strField(func(c *config) *string { return &c.Agent.Protocol })},
		{flag: "collector-insecure", env: "TRACER_AGENT_INSECURE", key: "agent.insecure",
			help:  "plain text, no TLS, to collectors given as host:port (tracer collector listens in plain text)",
			field: boolField(func(c *config) *bool { return &c.Agent.Insecure })},
		{flag: "collector-tls-ca-file", env: "TRACER_AGENT_TLS_CA_FILE", key: "agent.tls.ca_file", arg: "path",
			help:  "PEM file of the CAs to trust for the collectors' certificates; empty: the system's",
			field: strField(func(c *config) *string { return &c.Agent.TLS.CAFile })},
		{flag: "collector-tls-server-name", env: "TRACER_AGENT_TLS_SERVER_NAME", key: "agent.tls.server_name",
			help:  "name to check in the collectors' certificates; empty: the host dialled",
			field: strField(func(c *config) *string { return &c.Agent.TLS.ServerName })},
		{flag: "collector-headers", env: "TRACER_AGENT_HEADERS", key: "agent.headers", arg: "key=value,...",
			help:  "headers sent with every request (gRPC metadata or HTTP headers), an authorization token say; prefer the variable or the file for secrets",
			field: headersField(func(c *config) *map[string]string { return &c.Agent.Headers })},
		{flag: "collector-compression", env: "TRACER_AGENT_COMPRESSION", key: "agent.compression", arg: "gzip|none",
			help:  "compression of the requests",
			field: strField(func(c *config) *string { return &c.Agent.Compression })},
		{flag: "collector-spread", env: "TRACER_AGENT_SPREAD", key: "agent.spread",
			help:  "send to every working collector in turn instead of the first working one",
			field: boolField(func(c *config) *bool { return &c.Agent.Spread })},
		{flag: "collector-timeout", env: "TRACER_AGENT_TIMEOUT", key: "agent.timeout",
			help:  "how long one attempt to send a request may take",
			field: durField(func(c *config) *time.Duration { return &c.Agent.Timeout })},
		{flag: "collector-retry-initial-interval", env: "TRACER_AGENT_RETRY_INITIAL_INTERVAL", key: "agent.retry.initial_interval",
			help:  "first backoff between attempts (doubling, with jitter; a collector's retry delay wins when longer)",
			field: durField(func(c *config) *time.Duration { return &c.Agent.Retry.InitialInterval })},
		{flag: "collector-retry-max-interval", env: "TRACER_AGENT_RETRY_MAX_INTERVAL", key: "agent.retry.max_interval",
			help:  "longest backoff between attempts",
			field: durField(func(c *config) *time.Duration { return &c.Agent.Retry.MaxInterval })},
		{flag: "collector-retry-max-elapsed", env: "TRACER_AGENT_RETRY_MAX_ELAPSED", key: "agent.retry.max_elapsed",
			help:  "how long one send tries; then the batch is sent again after a pause, for as long as it takes (the WAL keeps it)",
			field: durField(func(c *config) *time.Duration { return &c.Agent.Retry.MaxElapsed })},
		{flag: "collector-breaker-failures", env: "TRACER_AGENT_BREAKER_FAILURES", key: "agent.breaker.failures",
			help:  "failures in a row that open a collector's circuit breaker (traffic fails over to the next one)",
			field: intField(func(c *config) *int { return &c.Agent.Breaker.Failures })},
		{flag: "collector-breaker-open-for", env: "TRACER_AGENT_BREAKER_OPEN_FOR", key: "agent.breaker.open_for",
			help:  "how long a breaker stays open before one request probes the collector again (traffic fails back once it works)",
			field: durField(func(c *config) *time.Duration { return &c.Agent.Breaker.OpenFor })},
		{flag: "collector-max-request-bytes", env: "TRACER_AGENT_MAX_REQUEST_BYTES", key: "agent.max_request_bytes",
			help:  "largest forwarded request, before compression (a larger received request goes alone, as it came); keep it under the collectors' limit (gRPC servers take 4MiB by default)",
			field: bytesField(func(c *config) *int { return &c.Agent.MaxRequestBytes })},
	}}
)

// without returns settings without the one with flag name.
func without(settings []setting, name string) []setting {
	var out []setting
	for _, s := range settings {
		if s.flag != name {
			out = append(out, s)
		}
	}
	return out
}

// agentSettings are the agent's flags and environment variables, in the
// order of its usage text.
var agentSettings = []section{agentCollectorsSection, receiversSection, limitsSection, agentWALSection, agentBatchSection, telemetrySection}

// agentCommand is "tracer agent".
var agentCommand = &command{
	name:     "agent",
	usage:    agentUsage,
	sections: agentSettings,
	validate: func(c *config) []error {
		errs := validateAgent(c.Agent)
		cc := agentCollectorConfig(*c)
		if err := cc.Validate(); err != nil {
			for _, e := range split(err) {
				if !strings.HasPrefix(e.Error(), "wal.dir ") { // agent.wal_dir's, reported above
					errs = append(errs, e)
				}
			}
		}
		return errs
	},
}

// agentCollectorConfig is the collector.Config the agent runs: its own WAL
// directory, the storage defaults (the agent stores nothing: a storage
// section in a shared YAML file is not its business), and one forwarding
// attempt's bound as the pipeline's write timeout.
func agentCollectorConfig(c config) collector.Config {
	cc := c.Config
	cc.WAL.Dir = c.Agent.WALDir
	cc.Sink = collector.SinkStorage // replaced by the forwarding sink
	cc.Storage = defaultConfig().Storage
	cc.Storage.WriteTimeout = c.Agent.Retry.MaxElapsed + c.Agent.Timeout
	if cc.Storage.WriteTimeout <= 0 {
		cc.Storage.WriteTimeout = time.Minute // an invalid agent setting is reported by validateAgent
	}
	return cc
}

// validateAgent reports the problems of the agent's settings, each starting
// with its YAML key (as withSources wants).
func validateAgent(a agentConfig) []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if a.WALDir == "" {
		bad("agent.wal_dir is required: the agent acknowledges spans once they are in its write-ahead log")
	}
	if len(a.Collectors) == 0 {
		bad(`agent.collectors is empty: give the collectors to send to with --collector host:port[,host:port...] (in failover order; "tracer collector" listens on 4317 for OTLP/gRPC), $TRACER_AGENT_COLLECTORS or agent.collectors in the YAML file`)
	}
	proto := send.Protocol(a.Protocol)
	if proto != send.GRPC && proto != send.HTTPProtobuf {
		bad("agent.protocol must be %q or %q, got %q", send.GRPC, send.HTTPProtobuf, a.Protocol)
	}
	seen := map[string]bool{}
	for _, addr := range a.Collectors {
		ep, err := agentEndpoint(a, addr)
		switch {
		case err != nil:
			bad("agent.collectors: %v", err)
		case seen[ep.Address]:
			bad("agent.collectors: %q is listed twice", addr)
		}
		seen[ep.Address] = true
	}
	switch a.Compression {
	case "gzip", "none":
	default:
		bad(`agent.compression must be "gzip" or "none", got %q`, a.Compression)
	}
	if a.TLS.CAFile != "" {
		if _, err := os.Stat(a.TLS.CAFile); err != nil {
			bad("agent.tls.ca_file: %v", err)
		}
	}
	if a.Timeout <= 0 {
		bad("agent.timeout must be positive, got %v", a.Timeout)
	}
	if a.Retry.InitialInterval <= 0 {
		bad("agent.retry.initial_interval must be positive, got %v", a.Retry.InitialInterval)
	}
	if a.Retry.MaxInterval < a.Retry.InitialInterval {
		bad("agent.retry.max_interval (%v) must be at least agent.retry.initial_interval (%v)", a.Retry.MaxInterval, a.Retry.InitialInterval)
	}
	if a.Retry.MaxElapsed <= 0 {
		bad("agent.retry.max_elapsed must be positive, got %v (the batch is sent again after it anyway)", a.Retry.MaxElapsed)
	}
	if a.Breaker.Failures < 1 {
		bad("agent.breaker.failures must be at least 1, got %d", a.Breaker.Failures)
	}
	if a.Breaker.OpenFor <= 0 {
		bad("agent.breaker.open_for must be positive, got %v", a.Breaker.OpenFor)
	}
	if a.MaxRequestBytes <= 0 {
		bad("agent.max_request_bytes must be positive, got %d", a.MaxRequestBytes)
	}
	if len(errs) == 0 { // exporter/send's own checks, of what passed these
		if scfg, err := agentSendConfig(a); err != nil {
			errs = append(errs, err)
		} else if err := scfg.Validate(); err != nil {
			for _, e := range split(err) {
				bad("agent.collectors: %v", e)
			}
		}
	}
	return errs
}

// agentEndpoint is the send.Endpoint of one --collector address: host:port
// takes TLS unless a.Insecure; an http:// or https:// URL says it itself
// (for gRPC the URL is reduced to its host:port).
func agentEndpoint(a agentConfig, addr string) (send.Endpoint, error) {
	ep := send.Endpoint{Protocol: send.Protocol(a.Protocol), Insecure: a.Insecure, Headers: a.Headers}
	if a.Compression == "gzip" {
		ep.Compression = "gzip"
	}
	hostport, path := addr, ""
	if scheme, rest, ok := strings.Cut(addr, "://"); ok {
		switch scheme {
		case "http":
			ep.Insecure = true
		case "https":
			ep.Insecure = false
		default:
			return ep, fmt.Errorf("%q: scheme %q, want http:// or https:// (or none: host:port)", addr, scheme)
		}
		hostport, path, _ = strings.Cut(rest, "/")
		if path != "" {
			path = "/" + path
		}
	}
	host, port, err := net.SplitHostPort(hostport)
	if err != nil || port == "" {
		return ep, fmt.Errorf("%q is not host:port (4317 is OTLP/gRPC's port, 4318 OTLP/HTTP's)", addr)
	}
	switch ep.Protocol {
	case send.GRPC:
		if path != "" && path != "/" {
			return ep, fmt.Errorf("%q: a gRPC collector takes no path", addr)
		}
		ep.Address = hostport
	case send.HTTPProtobuf:
		scheme := "https"
		if ep.Insecure {
			scheme = "http"
		}
		if path == "" || path == "/" {
			path = "/v1/traces"
		}
		ep.Address = scheme + "://" + net.JoinHostPort(host, port) + path
	default:
		ep.Address = hostport // the protocol is reported on its own
	}
	return ep, nil
}

// agentSendConfig is the send.Config of the agent's settings, TLS files
// read.
func agentSendConfig(a agentConfig) (send.Config, error) {
	cfg := send.Config{
		Spread:  a.Spread,
		Timeout: a.Timeout,
		Retry: send.RetryConfig{
			InitialInterval: a.Retry.InitialInterval,
			MaxInterval:     a.Retry.MaxInterval,
			Multiplier:      2,
			MaxElapsed:      a.Retry.MaxElapsed,
		},
		Breaker: send.BreakerConfig{Failures: a.Breaker.Failures, OpenFor: a.Breaker.OpenFor},
	}
	var tlsCfg *tls.Config
	if a.TLS.CAFile != "" || a.TLS.ServerName != "" {
		tlsCfg = &tls.Config{ServerName: a.TLS.ServerName, MinVersion: tls.VersionTLS12}
		if a.TLS.CAFile != "" {
			pem, err := os.ReadFile(a.TLS.CAFile)
			if err != nil {
				return cfg, fmt.Errorf("agent.tls.ca_file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return cfg, fmt.Errorf("agent.tls.ca_file %s: no PEM certificate in it", a.TLS.CAFile)
			}
			tlsCfg.RootCAs = pool
		}
	}
	for _, addr := range a.Collectors {
		ep, err := agentEndpoint(a, addr)
		if err != nil {
			return cfg, err
		}
		if !ep.Insecure {
			ep.TLS = tlsCfg
		}
		cfg.Endpoints = append(cfg.Endpoints, ep)
	}
	return cfg, nil
}

// loadAgentConfig is loadConfig for "tracer agent".
func (m *Main) loadAgentConfig(args []string) (config, error) {
	return m.loadConfig(agentCommand, args)
}

func (m *Main) runAgent(ctx context.Context, args []string) error {
	return m.run(ctx, agentCommand, args, m.serveAgent)
}

// serveAgent runs the agent: the collector's receivers and WAL with a
// ForwardSink over an exporter/send Sender, and the telemetry server, until
// ctx is done or a component fails; then it shuts down as serve does
// (within cfg.ShutdownTimeout, m.Abort cutting it short), leaving what no
// collector took in the WAL.
func (m *Main) serveAgent(ctx context.Context, cfg config) error {
	log := newLogger(m.Stderr, cfg.Telemetry)
	reg, err := newRegistry()
	if err != nil {
		return err
	}
	fm, err := collector.NewForwardMetrics(reg)
	if err != nil {
		return err
	}
	scfg, err := agentSendConfig(cfg.Agent)
	if err != nil {
		return err
	}
	scfg.Logger = log.With("component", "send")
	meters, err := newSendMetrics(reg)
	if err != nil {
		return err
	}
	scfg.MeterProvider = meters.provider()
	defer meters.shutdown()
	newSink := func(set collector.Settings) (collector.Sink, error) {
		s, err := send.New(scfg)
		if err != nil {
			return nil, fmt.Errorf("collectors: %w", err)
		}
		return collector.NewForwardSink(s, collector.ForwardConfig{
			MaxRequestBytes: cfg.Agent.MaxRequestBytes,
			MaxRequestSpans: cfg.Batch.Size,
			Metrics:         fm,
		}, set), nil
	}
	c, err := collector.New(agentCollectorConfig(cfg), nil, log, collector.WithRegisterer(reg), collector.WithSink("forward", newSink))
	if err != nil {
		return err
	}
	health := c.Health()
	tel, err := startTelemetry(ctx, cfg.Telemetry.Endpoint, reg, health, log)
	if err != nil {
		return err
	}
	if err := c.Start(ctx); err != nil {
		return errors.Join(err, tel.stop())
	}
	var to []string
	for _, ep := range scfg.Endpoints {
		to = append(to, ep.Address)
	}
	log.Info("agent forwarding", "collectors", strings.Join(to, ","), "protocol", cfg.Agent.Protocol,
		"spread", cfg.Agent.Spread, "tls", tlsText(scfg.Endpoints), "wal_dir", cfg.Agent.WALDir)
	if m.started != nil {
		m.started(c)
	}

	var failed error
	select {
	case <-ctx.Done():
	case <-health.Failed():
		failed = fmt.Errorf("agent failed: %w", health.Err())
		log.Error("a component failed: shutting down", "err", health.Err())
	}
	sctx, cancel := m.shutdownContext(ctx, cfg.ShutdownTimeout, log, "sending what the wal holds to the collectors",
		"second interrupt: stopping at once; what is not sent stays in the wal")
	err = c.Shutdown(sctx)
	cancel()
	return errors.Join(failed, err, tel.stop())
}

// tlsText says how the agent connects, for its start-up log.
func tlsText(eps []send.Endpoint) string {
	plain, secure := 0, 0
	for _, ep := range eps {
		if ep.Insecure {
			plain++
		} else {
			secure++
		}
	}
	switch {
	case secure == 0:
		return "off (plain text)"
	case plain == 0:
		return "on"
	}
	return fmt.Sprintf("on for %d of %d collectors", secure, secure+plain)
}
