package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracerdev/tracer/collector"
	"github.com/tracerdev/tracer/examples/demo"
	"github.com/tracerdev/tracer/internal/proctest"
	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/memory"
)

// TestDemoSettings: the demo's settings come from defaults < YAML (under
// demo:) < environment < flags.
func TestDemoSettings(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tracer.yaml")
	yaml := "demo:\n  enabled: true\n  service_a_endpoint: 127.0.0.1:9000\n  service_c_endpoint: 127.0.0.1:9002\n  rate: 7\n  skew: 5ms\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want demoConfig
	}{
		{"defaults", nil, nil, demoConfig{ServiceA: "localhost:8000", ServiceB: "localhost:8001", ServiceC: "localhost:8002", Rate: 5, Skew: -30 * time.Millisecond}},
		{"flags", nil, []string{"--demo", "--demo-service-a-endpoint", ":0", "--demo-service-b-endpoint", "127.0.0.1:0", "--demo-service-c-endpoint", "localhost:18002",
			"--demo-rate", "50", "--demo-skew", "0"},
			demoConfig{Enabled: true, ServiceA: ":0", ServiceB: "127.0.0.1:0", ServiceC: "localhost:18002", Rate: 50}},
		{"environment", map[string]string{"TRACER_DEMO": "true", "TRACER_DEMO_SERVICE_B_ENDPOINT": "127.0.0.1:9101", "TRACER_DEMO_RATE": "2", "TRACER_DEMO_SKEW": "-1s"}, nil,
			demoConfig{Enabled: true, ServiceA: "localhost:8000", ServiceB: "127.0.0.1:9101", ServiceC: "localhost:8002", Rate: 2, Skew: -time.Second}},
		{"yaml < environment < flags", map[string]string{"TRACER_CONFIG": path, "TRACER_DEMO_RATE": "8"}, []string{"--demo-rate", "9", "--demo-service-c-endpoint", "127.0.0.1:9102"},
			demoConfig{Enabled: true, ServiceA: "127.0.0.1:9000", ServiceB: "localhost:8001", ServiceC: "127.0.0.1:9102", Rate: 9, Skew: 5 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _, _ := testMain(tt.env)
			cfg, err := m.loadConfig(allInOneCommand, tt.args)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Demo != tt.want {
				t.Errorf("got %+v, want %+v", cfg.Demo, tt.want)
			}
		})
	}
}

// TestDemoSettingKeys: each demo setting's YAML key is its field's key in
// the file (as TestSettingKeys checks the collector's).
func TestDemoSettingKeys(t *testing.T) {
	values := map[string]struct{ text, want string }{
		"demo.enabled": {"true", "true"}, "demo.service_a_endpoint": {"h:1", "h:1"}, "demo.service_b_endpoint": {"h:2", "h:2"},
		"demo.service_c_endpoint": {"h:3", "h:3"}, "demo.rate": {"3", "3"}, "demo.skew": {"-7ms", "-7ms"},
	}
	for _, s := range demoSection.settings {
		t.Run(s.key, func(t *testing.T) {
			v, ok := values[s.key]
			if !ok {
				t.Fatalf("no test value for %s", s.key)
			}
			name, _ := strings.CutPrefix(s.key, "demo.")
			path := filepath.Join(t.TempDir(), "c.yaml")
			if err := os.WriteFile(path, []byte("demo:\n  "+name+": "+v.text+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			var cfg config
			if err := cfg.LoadFile(path); err != nil {
				t.Fatal(err)
			}
			if got := s.field(&cfg).String(); got != v.want {
				t.Errorf("--%s after %s: %s in the file: %q, want %q", s.flag, s.key, v.text, got, v.want)
			}
		})
	}
}

// TestDemoConfigErrors: the demo's settings are checked when it is on,
// every problem at once with its source, and left alone when it is off.
func TestDemoConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want []string // empty: no error
	}{
		{"off: not checked", nil, []string{"--demo-rate", "0", "--demo-service-a-endpoint", "nocolon"}, nil},
		{"on: defaults are fine", nil, []string{"--demo"}, nil},
		{"on: ports 0 may repeat", nil, []string{"--demo", "--demo-service-a-endpoint", "127.0.0.1:0", "--demo-service-b-endpoint", "127.0.0.1:0"}, nil},
		{"bad values", map[string]string{"TRACER_DEMO_RATE": "0"}, []string{"--demo", "--demo-service-a-endpoint", "nocolon", "--demo-service-c-endpoint", "localhost:8001"},
			[]string{`demo.service_a_endpoint "nocolon" is not host:port`, "(set by --demo-service-a-endpoint)",
				`demo.service_b_endpoint "localhost:8001" is service-c's too`,
				"demo.rate must be between 1 and 1000 requests per second, got 0 (set by $TRACER_DEMO_RATE)"}},
		{"too fast", nil, []string{"--demo", "--demo-rate", "1001"}, []string{"demo.rate must be between 1 and 1000", "(set by --demo-rate)"}},
		{"no grpc receiver", map[string]string{"TRACER_DEMO": "1"}, []string{"--grpc-endpoint", ""},
			[]string{"demo.enabled: the demo's services send their spans over OTLP/gRPC: enable the gRPC receiver (receivers.grpc.endpoint) (set by $TRACER_DEMO)"}},
		{"not a number", nil, []string{"--demo", "--demo-rate", "fast", "--demo-skew", "a bit"}, []string{`--demo-rate: not an integer: "fast"`, `--demo-skew: not a duration: "a bit"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _, _ := testMain(tt.env)
			_, err := m.loadConfig(allInOneCommand, tt.args)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("got %v, want no error", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("got no error, want %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

// TestDemoHelp: all-in-one's help names the demo's settings with their
// variables and defaults, and says what the skew is for.
func TestDemoHelp(t *testing.T) {
	m, out, _ := testMain(nil)
	if err := m.Run(context.Background(), []string{"all-in-one", "--help"}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"--demo bool, $TRACER_DEMO (default false)",
		`--demo-service-a-endpoint host:port, $TRACER_DEMO_SERVICE_A_ENDPOINT (default "localhost:8000")`,
		`--demo-service-b-endpoint host:port, $TRACER_DEMO_SERVICE_B_ENDPOINT (default "localhost:8001")`,
		`--demo-service-c-endpoint host:port, $TRACER_DEMO_SERVICE_C_ENDPOINT (default "localhost:8002")`,
		"--demo-rate int, $TRACER_DEMO_RATE (default 5)",
		"--demo-skew duration, $TRACER_DEMO_SKEW (default -30ms)",
		"skew analysis", "demo.skew]",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help lacks %q", want)
		}
	}
}

// fakeDemo records what the demo started with and in which order its parts
// stopped; each part blocks until its context ends (or fails at once when
// failing names it).
type fakeDemo struct {
	mu       sync.Mutex
	started  []string
	stopped  []string
	a        demo.ServiceAConfig
	b        demo.ServiceBConfig
	c        demo.ServiceCConfig
	traffic  demo.TrafficConfig
	failing  string
	hang     chan struct{} // when not nil, service-a's stop waits for it
	listened map[string]string
}

func (f *fakeDemo) part(ctx context.Context, name string, lis net.Listener) error {
	f.mu.Lock()
	f.started = append(f.started, name)
	if lis != nil {
		f.listened[name] = lis.Addr().String()
	}
	f.mu.Unlock()
	if name == f.failing {
		return errors.New("broken on purpose")
	}
	<-ctx.Done()
	if name == "service-a" && f.hang != nil {
		<-f.hang
	}
	f.mu.Lock()
	f.stopped = append(f.stopped, name)
	f.mu.Unlock()
	if lis != nil {
		lis.Close() // as the real services do
	}
	return nil
}

func (f *fakeDemo) runners() *demoRunners {
	f.listened = map[string]string{}
	return &demoRunners{
		serviceA: func(ctx context.Context, lis net.Listener, cfg demo.ServiceAConfig) error {
			f.mu.Lock()
			f.a = cfg
			f.mu.Unlock()
			return f.part(ctx, "service-a", lis)
		},
		serviceB: func(ctx context.Context, lis net.Listener, cfg demo.ServiceBConfig) error {
			f.mu.Lock()
			f.b = cfg
			f.mu.Unlock()
			return f.part(ctx, "service-b", lis)
		},
		serviceC: func(ctx context.Context, lis net.Listener, cfg demo.ServiceCConfig) error {
			f.mu.Lock()
			f.c = cfg
			f.mu.Unlock()
			return f.part(ctx, "service-c", lis)
		},
		traffic: func(ctx context.Context, cfg demo.TrafficConfig) (demo.TrafficStats, error) {
			f.mu.Lock()
			f.traffic = cfg
			f.mu.Unlock()
			tick := time.NewTicker(cfg.Interval)
			defer tick.Stop()
			var n int64
			done := make(chan error, 1)
			go func() { done <- f.part(ctx, "traffic", nil) }()
			for {
				select {
				case err := <-done:
					return demo.TrafficStats{Requests: n}, err
				case <-tick.C:
					n += 10
					cfg.Progress(demo.TrafficStats{Requests: n, Failed: 1})
				}
			}
		},
		progress: 20 * time.Millisecond,
	}
}

// runDemo runs "tracer all-in-one --demo" in process on the memory store
// and loopback ports with f's parts, and waits until it has started (or
// returned).
func runDemo(t *testing.T, ctx context.Context, abort <-chan struct{}, f *fakeDemo, extra ...string) (stdout, logs *proctest.Buffer, started <-chan *collector.Collector, done <-chan error) {
	t.Helper()
	stdout, logs = &proctest.Buffer{}, &proctest.Buffer{}
	startedCh := make(chan *collector.Collector, 1)
	m := &Main{
		Stdout: stdout, Stderr: logs, LookupEnv: func(string) (string, bool) { return "", false }, Abort: abort,
		openStore: func(context.Context, collector.StorageConfig, *slog.Logger) (storage.Store, error) {
			return memory.New(), nil
		},
		started: func(c *collector.Collector) { startedCh <- c },
		demo:    f.runners(),
	}
	args := append([]string{"all-in-one", "--demo", "--storage", "memory", "--wal-dir", t.TempDir(),
		"--grpc-endpoint", "127.0.0.1:0", "--http-endpoint", "", "--query-endpoint", "127.0.0.1:0", "--telemetry-endpoint", "",
		"--demo-service-a-endpoint", "127.0.0.1:0", "--demo-service-b-endpoint", "127.0.0.1:0", "--demo-service-c-endpoint", "127.0.0.1:0"}, extra...)
	ch := make(chan error, 1)
	go func() { ch <- m.Run(ctx, args) }()
	return stdout, logs, startedCh, ch
}

// awaitDone waits a minute at most for Run's result.
func awaitDone(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(time.Minute):
		t.Fatal("Run did not return within a minute")
		return nil
	}
}

// TestDemoStartsAndStops: the demo starts service-c, b, a and then the
// traffic, each wired to the next hop's real address and to the
// collector's gRPC address, prints progress and where to look, logs the
// traffic's totals, and on the first signal stops the traffic, then a, b,
// c, and frees their ports; Run returns nil.
func TestDemoStartsAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := &fakeDemo{}
	stdout, logs, started, done := runDemo(t, ctx, nil, f, "--demo-rate", "40", "--demo-skew", "-25ms")
	var c *collector.Collector
	select {
	case c = <-started:
	case err := <-done:
		t.Fatalf("Run returned before it started: %v\n%s", err, logs)
	case <-time.After(time.Minute):
		t.Fatal("not started within a minute")
	}
	await(t, "the traffic's progress in the log", func() bool { return len(logs.Lines("demo traffic")) >= 2 })

	f.mu.Lock()
	grpcAddr := c.GRPCAddr()
	if got := slices.Sorted(slices.Values(f.started)); !slices.Equal(got, []string{"service-a", "service-b", "service-c", "traffic"}) {
		t.Errorf("started %v, want service-a, service-b, service-c and the traffic", got)
	}
	for _, tt := range []struct {
		name      string
		got, want any
	}{
		{"service-a's collector", f.a.Collector, grpcAddr},
		{"service-b's collector", f.b.Collector, grpcAddr},
		{"service-c's collector", f.c.Collector, grpcAddr},
		{"service-a calls service-b", f.a.ServiceB, f.listened["service-b"]},
		{"service-b calls service-c", f.b.ServiceC, f.listened["service-c"]},
		{"the traffic's target", f.traffic.Target, "http://" + f.listened["service-a"]},
		{"the traffic's rate", f.traffic.Rate, 40.0},
		{"service-b's skew", f.b.Skew, -25 * time.Millisecond},
		{"service-a's skew", f.a.Skew, time.Duration(0)},
		{"service-c's skew", f.c.Skew, time.Duration(0)},
		{"the traffic runs until Ctrl-C", f.traffic.Duration, time.Duration(0)},
	} {
		if tt.got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, tt.got, tt.want)
		}
	}
	if f.c.ErrorRate <= 0 || f.c.SlowRate <= 0 || f.traffic.Concurrency <= 0 {
		t.Errorf("service-c error rate %v, slow rate %v, traffic concurrency %d: want some", f.c.ErrorRate, f.c.SlowRate, f.traffic.Concurrency)
	}
	listened := map[string]string{}
	for k, v := range f.listened {
		listened[k] = v
	}
	f.mu.Unlock()

	out := stdout.String()
	for _, want := range []string{
		"demo: starting service-c on " + listened["service-c"], "demo: starting service-b on " + listened["service-b"],
		"demo: starting service-a on " + listened["service-a"], "demo: starting traffic to http://" + listened["service-a"] + ", 40 requests/s",
		"/search?service=service-a", "/dependencies", "/api/traces?service=service-a", "/api/dependencies",
		"curl 'http://" + listened["service-a"] + "/api/v1/search?q=example'", "service-b's clock is off by -25ms", "Ctrl-C",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	// In order: the all-in-one, then each service before the one that
	// calls it, then the traffic, then where to look.
	last := -1
	for _, line := range []string{"Tracer all-in-one is running", "demo: starting service-c", "demo: starting service-b", "demo: starting service-a",
		"demo: starting traffic", "Tracer demo is running"} {
		i := strings.Index(out, line)
		if i <= last {
			t.Errorf("stdout: %q is not after the lines before it:\n%s", line, out)
		}
		last = i
	}
	if lines := logs.Lines("demo traffic"); !strings.Contains(lines[0], "requests=10 failed=1 spans_received=0") {
		t.Errorf("progress line %q, want the totals and the spans received", lines[0])
	}

	cancel()
	if err := awaitDone(t, done); err != nil {
		t.Errorf("Run: %v\n%s", err, logs)
	}
	f.mu.Lock()
	if !slices.Equal(f.stopped, []string{"traffic", "service-a", "service-b", "service-c"}) {
		t.Errorf("stopped %v, want traffic, service-a, service-b, service-c", f.stopped)
	}
	f.mu.Unlock()
	// The demo stopped before the collector drained.
	log := logs.String()
	if i, j := strings.Index(log, "demo: stopping service-c"), strings.Index(log, "collector stopped"); i < 0 || j < i {
		t.Errorf("want the demo stopped before the collector:\n%s", log)
	}
	for name, addr := range listened {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Errorf("%s's port %s after Run: %v", name, addr, err)
			continue
		}
		l.Close()
	}
}

// TestDemoPortInUse: a demo port that is taken is an error that names the
// port and the flag that moves it; what started is stopped again (the
// ports it bound are free, goleak checks the goroutines) and no service
// ran.
func TestDemoPortInUse(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	_, port, _ := net.SplitHostPort(taken.Addr().String())
	cAddr, aAddr := proctest.FreeAddr(t), proctest.FreeAddr(t)
	for _, tt := range []struct {
		name, flag string
	}{
		{"service-b", "demo-service-b-endpoint"},
		{"service-a", "demo-service-a-endpoint"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeDemo{}
			args := []string{"--demo-service-c-endpoint", cAddr, "--demo-service-a-endpoint", aAddr, "--" + tt.flag, taken.Addr().String()}
			_, logs, _, done := runDemo(t, context.Background(), nil, f, args...)
			err := awaitDone(t, done)
			want := "demo: " + tt.name + ": port " + port + " is in use; pass --" + tt.flag + " (or $TRACER_" + strings.ToUpper(strings.ReplaceAll(tt.flag, "-", "_")) + ") with a free host:port"
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("Run: %v, want %q", err, want)
			}
			if len(f.started) > 0 {
				t.Errorf("started %v, want nothing", f.started)
			}
			if !strings.Contains(logs.String(), "collector stopped") {
				t.Errorf("want the all-in-one stopped:\n%s", logs)
			}
			if tt.name == "service-b" { // service-c's port was bound before
				l, err := net.Listen("tcp", cAddr)
				if err != nil {
					t.Fatalf("service-c's port after the error: %v", err)
				}
				l.Close()
			}
		})
	}
}

// TestDemoPartFails: a service that stops by itself stops the demo and the
// all-in-one, and Run's error names it.
func TestDemoPartFails(t *testing.T) {
	f := &fakeDemo{failing: "service-b"}
	_, logs, _, done := runDemo(t, context.Background(), nil, f)
	err := awaitDone(t, done)
	if err == nil || !strings.Contains(err.Error(), "demo: service-b: broken on purpose") || strings.Count(err.Error(), "broken on purpose") != 1 {
		t.Errorf("Run: %v, want service-b's error once", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !slices.Equal(f.stopped, []string{"traffic", "service-a", "service-c"}) {
		t.Errorf("stopped %v, want the others: traffic, service-a, service-c", f.stopped)
	}
	if !strings.Contains(logs.String(), "collector stopped") {
		t.Errorf("want the all-in-one stopped:\n%s", logs)
	}
}

// TestDemoSecondSignal: when a service hangs in its shutdown, the second
// signal stops at once: Run returns an error that names it.
func TestDemoSecondSignal(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	abort := make(chan struct{})
	f := &fakeDemo{hang: make(chan struct{})}
	defer close(f.hang) // let the hung fake return before goleak looks
	_, logs, started, done := runDemo(t, ctx, abort, f)
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("Run returned before it started: %v", err)
	}
	cancel()
	await(t, "service-a's stop", func() bool { return strings.Contains(logs.String(), "demo: stopping service-a") })
	select {
	case err := <-done:
		t.Fatalf("Run returned before the second signal: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(abort)
	err := awaitDone(t, done)
	if err == nil || !strings.Contains(err.Error(), "demo: service-a did not stop in time") {
		t.Errorf("Run: %v, want service-a named", err)
	}
}

// TestDemoRealServices runs the demo with package demo's services and
// traffic in process until the three services' spans are stored, then
// stops it: Run returns nil, every port is free, and goleak (TestMain)
// finds no goroutine left behind by the services, their clients and
// exporters, or the traffic.
func TestDemoRealServices(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store := memory.New()
	stdout, logs := &proctest.Buffer{}, &proctest.Buffer{}
	started := make(chan struct{}, 1)
	m := &Main{
		Stdout: stdout, Stderr: logs, LookupEnv: func(string) (string, bool) { return "", false },
		openStore: func(context.Context, collector.StorageConfig, *slog.Logger) (storage.Store, error) { return store, nil },
		started:   func(*collector.Collector) { started <- struct{}{} },
	}
	addrs := []string{proctest.FreeAddr(t), proctest.FreeAddr(t), proctest.FreeAddr(t)}
	done := make(chan error, 1)
	go func() {
		done <- m.Run(ctx, []string{"all-in-one", "--demo", "--storage", "memory", "--wal-dir", t.TempDir(), "--batch-timeout", "50ms",
			"--grpc-endpoint", "127.0.0.1:0", "--http-endpoint", "", "--query-endpoint", "127.0.0.1:0", "--telemetry-endpoint", "",
			"--demo-service-a-endpoint", addrs[0], "--demo-service-b-endpoint", addrs[1], "--demo-service-c-endpoint", addrs[2], "--demo-rate", "20"})
	}()
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("Run returned before it started: %v\n%s", err, logs)
	}
	await(t, "spans of service-a, service-b and service-c in the store", func() bool {
		services, err := store.Services(ctx)
		return err == nil && slices.Contains(services, "service-a") && slices.Contains(services, "service-b") && slices.Contains(services, "service-c")
	})
	cancel()
	if err := awaitDone(t, done); err != nil {
		t.Errorf("Run: %v\n%s", err, logs)
	}
	for _, addr := range addrs {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Errorf("port %s after Run: %v", addr, err)
			continue
		}
		l.Close()
	}
}
