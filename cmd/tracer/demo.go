package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tracerdev/tracer/examples/demo"
)

// demoConfig is "tracer all-in-one --demo": the example services of
// package demo and traffic against them, in the all-in-one's process,
// sending their spans to its own OTLP/gRPC receiver.
type demoConfig struct {
	Enabled bool `yaml:"enabled"`
	// ServiceA, ServiceB and ServiceC are the services' listen addresses.
	ServiceA string `yaml:"service_a_endpoint"`
	ServiceB string `yaml:"service_b_endpoint"`
	ServiceC string `yaml:"service_c_endpoint"`
	// Rate is the traffic's requests per second to service-a.
	Rate int `yaml:"rate"`
	// Skew shifts service-b's timestamps, as a host whose clock is off;
	// 0 leaves its clock alone.
	Skew time.Duration `yaml:"skew"`
}

// defaultDemoConfig is the ports of the original design (service-a 8000,
// service-b 8001, service-c 8002), a few requests a second, and service-b's
// clock 30ms behind.
func defaultDemoConfig() demoConfig {
	return demoConfig{ServiceA: "localhost:8000", ServiceB: "localhost:8001", ServiceC: "localhost:8002", Rate: 5, Skew: -30 * time.Millisecond}
}

// demoSection is the demo's settings, in "tracer all-in-one".
var demoSection = section{"Demo (--demo: the example services and their traffic, in this process)", []setting{
	{flag: "demo", env: "TRACER_DEMO", key: "demo.enabled",
		help: "also run the example services, service-a (an HTTP gateway) calling service-b calling service-c (gRPC), and traffic against service-a until Ctrl-C, " +
			"each sending its spans to this process's OTLP/gRPC receiver: live traces and the service-a → service-b → service-c dependency graph within a minute",
		field: boolField(func(c *config) *bool { return &c.Demo.Enabled })},
	{flag: "demo-service-a-endpoint", env: "TRACER_DEMO_SERVICE_A_ENDPOINT", key: "demo.service_a_endpoint", arg: "host:port",
		help:  "listen address of service-a, the HTTP gateway (GET /api/v1/search?q=, GET /api/v1/process?data=); port 0 picks a free one",
		field: strField(func(c *config) *string { return &c.Demo.ServiceA })},
	{flag: "demo-service-b-endpoint", env: "TRACER_DEMO_SERVICE_B_ENDPOINT", key: "demo.service_b_endpoint", arg: "host:port",
		help:  "listen address of service-b, the gRPC business service; port 0 picks a free one",
		field: strField(func(c *config) *string { return &c.Demo.ServiceB })},
	{flag: "demo-service-c-endpoint", env: "TRACER_DEMO_SERVICE_C_ENDPOINT", key: "demo.service_c_endpoint", arg: "host:port",
		help:  "listen address of service-c, the gRPC data service; port 0 picks a free one",
		field: strField(func(c *config) *string { return &c.Demo.ServiceC })},
	{flag: "demo-rate", env: "TRACER_DEMO_RATE", key: "demo.rate",
		help:  "requests per second the traffic generator sends to service-a (1 to 1000)",
		field: intField(func(c *config) *int { return &c.Demo.Rate })},
	{flag: "demo-skew", env: "TRACER_DEMO_SKEW", key: "demo.skew",
		help: "service-b's clock error: its spans' timestamps are shifted by this much, as on a host whose clock is off, so that the skew analysis has something real to find " +
			"(its server spans seem to start before the calls that caused them; the vector clocks still order them right); 0 disables",
		field: durField(func(c *config) *time.Duration { return &c.Demo.Skew })},
}}

// maxDemoRate bounds --demo-rate: the demo is a demonstration, not a load
// test.
const maxDemoRate = 1000

// validateDemo reports the problems of the demo's settings when it is on,
// each starting with its YAML key. grpcEndpoint is the OTLP/gRPC receiver's,
// where the services send their spans.
func validateDemo(d demoConfig, grpcEndpoint string) []error {
	if !d.Enabled {
		return nil
	}
	var errs []error
	if grpcEndpoint == "" {
		errs = append(errs, errors.New("demo.enabled: the demo's services send their spans over OTLP/gRPC: enable the gRPC receiver (receivers.grpc.endpoint)"))
	}
	seen := map[string]string{}
	for _, s := range demoServices {
		ep := *s.endpoint(&d)
		_, port, err := net.SplitHostPort(ep)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s %q is not host:port: %v", s.key, ep, err))
			continue
		}
		if other, ok := seen[ep]; ok && port != "0" {
			errs = append(errs, fmt.Errorf("%s %q is %s's too: give each service its own port", s.key, ep, other))
		}
		seen[ep] = s.name
	}
	if d.Rate < 1 || d.Rate > maxDemoRate {
		errs = append(errs, fmt.Errorf("demo.rate must be between 1 and %d requests per second, got %d", maxDemoRate, d.Rate))
	}
	return errs
}

// demoService is one example service: its name, its settings and what it
// is, in the order the demo starts them.
type demoService struct {
	name, key, what string
	endpoint        func(*demoConfig) *string
}

// demoServices start in this order (each listens before the next, which
// calls it, starts) and stop in the reverse.
var demoServices = []demoService{
	{"service-c", "demo.service_c_endpoint", "gRPC data service", func(d *demoConfig) *string { return &d.ServiceC }},
	{"service-b", "demo.service_b_endpoint", "gRPC business service, calling service-c", func(d *demoConfig) *string { return &d.ServiceB }},
	{"service-a", "demo.service_a_endpoint", "HTTP gateway, calling service-b", func(d *demoConfig) *string { return &d.ServiceA }},
}

// demoRunners are what the demo runs: package demo's functions, or a
// test's.
type demoRunners struct {
	serviceA func(context.Context, net.Listener, demo.ServiceAConfig) error
	serviceB func(context.Context, net.Listener, demo.ServiceBConfig) error
	serviceC func(context.Context, net.Listener, demo.ServiceCConfig) error
	traffic  func(context.Context, demo.TrafficConfig) (demo.TrafficStats, error)
	// progress is how often the traffic's totals are logged.
	progress time.Duration
}

var defaultDemoRunners = demoRunners{
	serviceA: demo.RunServiceA, serviceB: demo.RunServiceB, serviceC: demo.RunServiceC, traffic: demo.RunTraffic,
	progress: 10 * time.Second,
}

// demoConcurrency is the traffic's requests in flight at most.
const demoConcurrency = 8

// demoBatchTimeout is how long a demo service holds a span before export.
const demoBatchTimeout = time.Second

// demoRun is the running demo: its parts in the order they stop.
type demoRun struct {
	log    *slog.Logger
	parts  []*demoPart
	failed chan struct{} // closed when a part stopped by itself
	once   sync.Once
	cause  error // why, set before failed is closed
}

// demoPart is one goroutine of the demo: a service or the traffic.
type demoPart struct {
	name   string
	cancel context.CancelFunc
	done   chan struct{}
	err    error        // the run function's result, set before done is closed
	alone  bool         // it stopped by itself (the demo failed), set with err
	lis    net.Listener // nil for the traffic
}

// startDemo binds the three services' listeners (so that a taken port
// fails before anything starts), starts service-c, service-b and service-a,
// each sending its spans to collectorAddr, then the traffic against
// service-a, and prints progress and where to look to out. Every part runs
// on a context of its own, so that stop ends them in order.
func startDemo(ctx context.Context, cfg demoConfig, run demoRunners, collectorAddr, queryBase string, gather prometheus.Gatherer, out io.Writer, log *slog.Logger) (*demoRun, error) {
	lis := make(map[string]net.Listener, len(demoServices))
	for _, s := range demoServices {
		l, err := listenDemo(ctx, s, *s.endpoint(&cfg))
		if err != nil {
			for _, l := range lis {
				l.Close()
			}
			return nil, err
		}
		lis[s.name] = l
	}
	addr := func(name string) string { return dialAddr(lis[name].Addr().String()) }
	d := &demoRun{log: log, failed: make(chan struct{})}
	// Spans leave each service within a second, so the demo looks live.
	tel := func(skew time.Duration) demo.Telemetry {
		return demo.Telemetry{Collector: collectorAddr, Skew: skew, BatchTimeout: demoBatchTimeout}
	}
	starts := map[string]func(context.Context) error{
		"service-c": func(ctx context.Context) error {
			return run.serviceC(ctx, lis["service-c"], demo.ServiceCConfig{Telemetry: tel(0), ErrorRate: demo.DefaultErrorRate, SlowRate: demo.DefaultSlowRate,
				Logger: log.With("service", "service-c")})
		},
		"service-b": func(ctx context.Context) error {
			return run.serviceB(ctx, lis["service-b"], demo.ServiceBConfig{Telemetry: tel(cfg.Skew), ServiceC: addr("service-c"),
				Logger: log.With("service", "service-b")})
		},
		"service-a": func(ctx context.Context) error {
			return run.serviceA(ctx, lis["service-a"], demo.ServiceAConfig{Telemetry: tel(0), ServiceB: addr("service-b"),
				Logger: log.With("service", "service-a")})
		},
	}
	for _, s := range demoServices {
		fmt.Fprintf(out, "demo: starting %s on %s (%s)\n", s.name, addr(s.name), s.what)
		d.start(s.name, lis[s.name], starts[s.name])
	}
	target := "http://" + addr("service-a")
	fmt.Fprintf(out, "demo: starting traffic to %s, %d requests/s\n", target, cfg.Rate)
	d.start("traffic", nil, func(ctx context.Context) error {
		_, err := run.traffic(ctx, demo.TrafficConfig{Target: target, Rate: float64(cfg.Rate), Concurrency: demoConcurrency,
			Interval: run.progress, Logger: log.With("component", "demo traffic"),
			Progress: func(s demo.TrafficStats) {
				attrs := []any{"requests", s.Requests, "failed", s.Failed}
				if n, ok := spansReceived(gather); ok {
					attrs = append(attrs, "spans_received", n)
				}
				log.Info("demo traffic", attrs...)
			}})
		return err
	})
	printDemoBanner(out, cfg, queryBase, target, addr)
	return d, nil
}

// listenDemo binds a service's listener; a taken port says which setting
// moves it.
func listenDemo(ctx context.Context, s demoService, endpoint string) (net.Listener, error) {
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", endpoint)
	if err == nil {
		return l, nil
	}
	set := settingOf(demoSection, s.key)
	if errors.Is(err, syscall.EADDRINUSE) {
		_, port, _ := net.SplitHostPort(endpoint)
		return nil, fmt.Errorf("demo: %s: port %s is in use; pass --%s (or $%s) with a free host:port (localhost:0 picks one)", s.name, port, set.flag, set.env)
	}
	return nil, fmt.Errorf("demo: %s: listen on %s (--%s): %w", s.name, endpoint, set.flag, err)
}

// settingOf returns the setting of sec with the YAML key.
func settingOf(sec section, key string) setting {
	for _, s := range sec.settings {
		if s.key == key {
			return s
		}
	}
	return setting{key: key}
}

// start runs fn in a goroutine on a context of its own; the part stops
// last of those started before it.
func (d *demoRun) start(name string, lis net.Listener, fn func(context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	p := &demoPart{name: name, cancel: cancel, done: make(chan struct{}), lis: lis}
	d.parts = append([]*demoPart{p}, d.parts...)
	go func() {
		defer close(p.done)
		p.err = fn(ctx)
		if p.alone = ctx.Err() == nil; p.alone {
			err := p.err
			if err == nil {
				err = errors.New("stopped")
			}
			err = fmt.Errorf("demo: %s: %w", name, err)
			d.log.Error("demo: "+name+" stopped by itself", "err", err)
			d.fail(err)
		}
	}()
}

func (d *demoRun) fail(err error) {
	d.once.Do(func() {
		d.cause = err
		close(d.failed)
	})
}

// Failed is closed when a part of the demo stopped by itself; Err then
// says why. Nil (never) for no demo.
func (d *demoRun) Failed() <-chan struct{} {
	if d == nil {
		return nil
	}
	return d.failed
}

// Err is why the demo failed, once Failed is closed.
func (d *demoRun) Err() error { return d.cause }

// stop ends the traffic, then service-a, service-b and service-c, each
// after the one before it has returned (and so flushed its spans into the
// collector, which still runs), and frees their ports. When ctx is done
// first (the shutdown timeout, a second interrupt) it stops waiting,
// cancels the rest and returns an error.
func (d *demoRun) stop(ctx context.Context) error {
	if d == nil {
		return nil
	}
	var errs []error
	for i, p := range d.parts {
		d.log.Info("demo: stopping " + p.name)
		p.cancel()
		select {
		case <-p.done:
		case <-ctx.Done():
			for _, q := range d.parts[i:] {
				q.cancel()
			}
			return errors.Join(append(errs, fmt.Errorf("demo: %s did not stop in time: %w", p.name, context.Cause(ctx)))...)
		}
		if p.lis != nil {
			p.lis.Close() // the service closed it already, as a rule
		}
		// What stopped by itself is the failure serve reports already.
		if p.err != nil && !p.alone && !errors.Is(p.err, context.Canceled) && !errors.Is(p.err, net.ErrClosed) {
			errs = append(errs, fmt.Errorf("demo: %s: %w", p.name, p.err))
		}
	}
	return errors.Join(errs...)
}

// spansReceived sums the collector's received-spans counter over its
// transports.
func spansReceived(g prometheus.Gatherer) (int64, bool) {
	if g == nil {
		return 0, false
	}
	families, err := g.Gather()
	if err != nil {
		return 0, false
	}
	var n float64 // the family is missing until a transport has received
	for _, f := range families {
		if f.GetName() == "tracer_collector_spans_received_total" {
			for _, m := range f.GetMetric() {
				n += m.GetCounter().GetValue()
			}
		}
	}
	return int64(n), true
}

// printDemoBanner says where to look: the UI's pages (the Jaeger UI's
// paths), the API and a request to try.
func printDemoBanner(w io.Writer, cfg demoConfig, queryBase, target string, addr func(string) string) {
	fmt.Fprintf(w, "Tracer demo is running: traffic → service-a (%s) → service-b (%s) → service-c (%s), %d requests/s.\n",
		addr("service-a"), addr("service-b"), addr("service-c"), cfg.Rate)
	fmt.Fprintf(w, "  Traces            %s/search?service=service-a\n", queryBase)
	fmt.Fprintf(w, "  Dependency graph  %s/dependencies\n", queryBase)
	fmt.Fprintf(w, "  API               %s/api/traces?service=service-a&limit=5, %[1]s/api/dependencies, %[1]s/api/tracer/openapi.yaml\n", queryBase)
	fmt.Fprintf(w, "  Try it            curl '%s/api/v1/search?q=example'\n", target)
	if cfg.Skew != 0 {
		fmt.Fprintf(w, "  Clock skew        service-b's clock is off by %s (--demo-skew): its spans seem to start before the calls that caused them; the vector clocks order them right\n", formatDuration(cfg.Skew))
	}
	fmt.Fprintln(w, "Ctrl-C stops the traffic, then service-a, service-b and service-c, then Tracer.")
}
