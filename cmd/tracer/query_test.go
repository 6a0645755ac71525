package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tracerdev/tracer/collector"
	"github.com/tracerdev/tracer/internal/proctest"
	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/memory"
	"github.com/tracerdev/tracer/ui"
)

// TestQuerySettings: the query API's settings come from defaults < YAML
// (under query:) < environment < flags, in tracer query and in tracer
// all-in-one alike.
func TestQuerySettings(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tracer.yaml")
	yaml := "query:\n  endpoint: 127.0.0.1:1\n  max_lookback: 48h\n  request_timeout: 9s\n  max_trace_ids: 7\n  cors:\n    allowed_origins: [https://a.example]\n    allowed_headers: [X-From-Yaml]\nstorage:\n  type: clickhouse\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []*command{queryCommand, allInOneCommand} {
		t.Run(cmd.name, func(t *testing.T) {
			m, _, _ := testMain(map[string]string{
				"TRACER_CONFIG":             path,
				"TRACER_QUERY_TIMEOUT":      "5s",
				"TRACER_QUERY_CORS_HEADERS": "Authorization, X-Custom",
				"TRACER_QUERY_ENDPOINT":     "127.0.0.1:2",
			})
			cfg, err := m.loadConfig(cmd, []string{"--query-endpoint", "127.0.0.1:3", "--query-base-path", "/tracer"})
			if err != nil {
				t.Fatal(err)
			}
			q := cfg.Query
			checks := []struct {
				name      string
				got, want any
			}{
				{"endpoint (flag over env over yaml)", q.Endpoint, "127.0.0.1:3"},
				{"base path (flag)", q.BasePath, "/tracer"},
				{"max lookback (yaml)", q.MaxLookback, 48 * time.Hour},
				{"request timeout (env over yaml)", q.RequestTimeout, 5 * time.Second},
				{"cors origins (yaml)", strings.Join(q.CORS.AllowedOrigins, ","), "https://a.example"},
				{"cors headers (env over yaml)", strings.Join(q.CORS.AllowedHeaders, ","), "Authorization,X-Custom"},
				{"storage (yaml)", cfg.Storage.Type, "clickhouse"},
				{"max trace ids (yaml only)", q.MaxTraceIDs, 7},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
				}
			}
		})
	}
	m, _, _ := testMain(nil)
	cfg, err := m.loadConfig(allInOneCommand, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Query.Endpoint != "localhost:8080" || cfg.Receivers.GRPC.Endpoint != "localhost:4317" || cfg.Receivers.HTTP.Endpoint != "localhost:4318" ||
		cfg.Storage.Type != "badger" || cfg.Storage.Badger.Dir != "tracer-data/badger" {
		t.Errorf("all-in-one defaults: query %q, OTLP %q %q, storage %s %q", cfg.Query.Endpoint,
			cfg.Receivers.GRPC.Endpoint, cfg.Receivers.HTTP.Endpoint, cfg.Storage.Type, cfg.Storage.Badger.Dir)
	}
}

// TestQueryRefusesEmbeddedStores: tracer query on a store that only its
// writer's process can open fails at once and says what to run instead,
// however the store was chosen.
func TestQueryRefusesEmbeddedStores(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tracer.yaml")
	if err := os.WriteFile(path, []byte("storage:\n  type: memory\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"default", nil, nil, "storage.type badger: "},
		{"flag", nil, []string{"--storage", "badger"}, "(set by --storage)"},
		{"environment", map[string]string{"TRACER_STORAGE": "memory"}, nil, "(set by $TRACER_STORAGE)"},
		{"file", map[string]string{"TRACER_CONFIG": path}, nil, "storage.type memory: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, out, _ := testMain(tt.env)
			// A context that is not done: were the store accepted, Run
			// would serve (and the test time out).
			err := m.Run(context.Background(), append([]string{"query", "--query-endpoint", "127.0.0.1:0", "--telemetry-endpoint", ""}, tt.args...))
			if err == nil {
				t.Fatal("want an error")
			}
			for _, want := range []string{tt.want, "opens in one process only", `run "tracer all-in-one"`, "--storage clickhouse", `run "tracer query --help"`} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error lacks %q:\n%v", want, err)
				}
			}
			if out.Len() != 0 {
				t.Errorf("stdout not empty: %s", out)
			}
		})
	}
}

// TestCommandsValidateWhatTheyRun: one YAML file serves every command; each
// reports the problems of the settings it runs, and takes only its own
// flags.
func TestCommandsValidateWhatTheyRun(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tracer.yaml")
	if err := os.WriteFile(path, []byte("batch:\n  size: 0\nstorage:\n  type: clickhouse\nquery:\n  max_lookback: -1h\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		cmd     *command
		args    []string
		want    []string
		notWant []string
	}{
		{"collector ignores query", collectorCommand, nil, []string{"batch.size must be positive"}, []string{"query."}},
		{"query ignores batch", queryCommand, nil, []string{"query.max_lookback -1h0m0s: must be positive"}, []string{"batch.size"}},
		{"all-in-one checks both", allInOneCommand, nil, []string{"batch.size must be positive", "query.max_lookback"}, nil},
		{"query names the flag", queryCommand, []string{"--query-timeout", "0s", "--query-endpoint", "nocolon"},
			[]string{"query.request_timeout 0s: must be positive (set by --query-timeout)", `query.endpoint "nocolon" is not host:port`}, nil},
		{"query takes no collector flag", queryCommand, []string{"--wal-dir", "x"}, []string{"unknown flag --wal-dir"}, nil},
		{"query takes no retention", queryCommand, []string{"--retention", "1h"}, []string{"unknown flag --retention"}, nil},
		{"query's telemetry", queryCommand, []string{"--log-level", "loud"}, []string{"telemetry.log_level", "(set by --log-level)"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _, _ := testMain(map[string]string{"TRACER_CONFIG": path})
			_, err := m.loadConfig(tt.cmd, tt.args)
			if err == nil {
				t.Fatal("want an error")
			}
			for _, want := range append(tt.want, `run "tracer `+tt.cmd.name+` --help"`) {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error lacks %q:\n%v", want, err)
				}
			}
			for _, no := range tt.notWant {
				if strings.Contains(err.Error(), no) {
					t.Errorf("error mentions %q:\n%v", no, err)
				}
			}
		})
	}
}

// TestCommandUsage: each command's help names its own settings with their
// variables and defaults, and says what the command is for.
func TestCommandUsage(t *testing.T) {
	tests := []struct {
		cmd     *command
		want    []string
		notWant []string
	}{
		{queryCommand, []string{"Usage: tracer query", `--query-endpoint host:port, $TRACER_QUERY_ENDPOINT (default "localhost:8080")`,
			"--query-max-lookback duration, $TRACER_QUERY_MAX_LOOKBACK (default 744h)", "--query-timeout duration, $TRACER_QUERY_TIMEOUT (default 30s)",
			"--query-cors-origins origin,..., $TRACER_QUERY_CORS_ORIGINS", "--clickhouse-addr", "$TRACER_CLICKHOUSE_PASSWORD",
			`"tracer all-in-one"`, "[YAML query.base_path]", "requests in flight"},
			[]string{"--wal-dir", "--grpc-endpoint", "--retention", "--badger-dir", "--batch-size"}},
		{allInOneCommand, []string{"Usage: tracer all-in-one", "http://localhost:8080/", "--grpc-endpoint", "--wal-dir", "--query-endpoint",
			"--badger-dir", `(default "badger")`, "--clickhouse-addr", "second Ctrl-C"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.cmd.name, func(t *testing.T) {
			m, out, errOut := testMain(nil)
			if err := m.Run(context.Background(), []string{tt.cmd.name, "--help"}); err != nil {
				t.Fatal(err)
			}
			help := out.String()
			for _, sec := range tt.cmd.sections {
				for _, s := range sec.settings {
					if s.flag != "" && !strings.Contains(help, "--"+s.flag+" ") || !strings.Contains(help, "$"+s.env) {
						t.Errorf("help lacks --%s or $%s", s.flag, s.env)
					}
				}
			}
			for _, want := range tt.want {
				if !strings.Contains(help, want) {
					t.Errorf("help lacks %q", want)
				}
			}
			for _, no := range tt.notWant {
				if strings.Contains(help, no) {
					t.Errorf("help has %q", no)
				}
			}
			if errOut.Len() != 0 {
				t.Errorf("stderr: %s", errOut)
			}
		})
	}
}

// TestEverySettingIsWhole: in every command, each setting has a YAML key
// and a field, and no flag or variable is named twice.
func TestEverySettingIsWhole(t *testing.T) {
	for _, cmd := range []*command{collectorCommand, queryCommand, allInOneCommand} {
		t.Run(cmd.name, func(t *testing.T) {
			seen := map[string]bool{}
			for _, sec := range cmd.sections {
				if len(sec.settings) == 0 {
					t.Errorf("section %q is empty", sec.title)
				}
				for _, s := range sec.settings {
					if s.key == "" || s.field == nil || s.env == "" {
						t.Errorf("setting --%s: key %q, env %q, field set %v", s.flag, s.key, s.env, s.field != nil)
					}
					for _, name := range []string{"--" + s.flag, "$" + s.env} {
						if name != "--" && seen[name] {
							t.Errorf("%s twice", name)
						}
						seen[name] = true
					}
				}
			}
		})
	}
}

// runServer runs a server command in process over store (whatever storage
// the flags name) with fresh loopback ports for the query API and
// telemetry, and waits until every server listens.
func runServer(t *testing.T, ctx context.Context, store storage.Store, args ...string) (queryAddr, telAddr string, stdout, logs *proctest.Buffer, done <-chan error) {
	t.Helper()
	queryAddr, telAddr = proctest.FreeAddr(t), proctest.FreeAddr(t)
	stdout, logs = &proctest.Buffer{}, &proctest.Buffer{}
	started := make(chan struct{}, 1)
	m := &Main{
		Stdout: stdout, Stderr: logs, LookupEnv: func(string) (string, bool) { return "", false },
		openStore: func(context.Context, collector.StorageConfig, *slog.Logger) (storage.Store, error) { return store, nil },
		started:   func(*collector.Collector) { started <- struct{}{} },
	}
	ch := make(chan error, 1)
	args = append(args, "--query-endpoint", queryAddr, "--telemetry-endpoint", telAddr)
	go func() { ch <- m.Run(ctx, args) }()
	select {
	case <-started:
	case err := <-ch:
		t.Fatalf("%s returned before it started: %v\n%s", args[0], err, logs)
	case <-time.After(time.Minute):
		t.Fatalf("%s did not start within a minute", args[0])
	}
	return queryAddr, telAddr, stdout, logs, ch
}

// readyReport GETs /ready and decodes its report.
func readyReport(t *testing.T, telAddr string) (int, collector.HealthReport) {
	t.Helper()
	resp, err := http.Get("http://" + telAddr + "/ready")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r collector.HealthReport
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, r
}

// TestServers: tracer query and tracer all-in-one serve the API (the
// placeholder page at /) and one health report that names the query
// server, print where to look (all-in-one), and stop when the context ends.
func TestServers(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		components []string
		banner     bool

		root string // the placeholder's path
	}{
		{"query", []string{"query", "--storage", "clickhouse", "--query-cors-origins", "https://a.example"}, []string{"query"}, false, "/"},
		{"query under a base path", []string{"query", "--storage", "clickhouse", "--query-base-path", "/tracer"}, []string{"query"}, false, "/tracer/"},
		{"all-in-one", []string{"all-in-one", "--storage", "memory", "--grpc-endpoint", "127.0.0.1:0", "--http-endpoint", "127.0.0.1:0",
			"--query-cors-origins", "https://a.example"}, []string{"query", "receiver/grpc", "wal", "storage"}, true, "/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			args := tt.args
			if args[0] == "all-in-one" {
				args = append(args, "--wal-dir", t.TempDir())
			}
			queryAddr, telAddr, stdout, logs, done := runServer(t, ctx, memory.New(), args...)

			req, err := http.NewRequest(http.MethodGet, "http://"+queryAddr+tt.root, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Origin", "https://a.example")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			// The web UI when this binary embeds its build, else the placeholder.
			want := "The query API is running"
			if _, built := ui.Handler(""); built {
				want = `<meta name="tracer-base-path"`
			}
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
				t.Errorf("GET %s: %d %.200s, want a page with %q", tt.root, resp.StatusCode, body, want)
			}
			wantCORS := ""
			if slices.Contains(tt.args, "--query-cors-origins") {
				wantCORS = "https://a.example"
			}
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != wantCORS {
				t.Errorf("Access-Control-Allow-Origin: %q, want %q", got, wantCORS)
			}
			status, report := readyReport(t, telAddr)
			if status != http.StatusOK || !report.Ready {
				t.Errorf("/ready: %d %+v", status, report)
			}
			for _, c := range tt.components {
				if _, ok := report.Components[c]; !ok {
					t.Errorf("/ready lacks component %q: %+v", c, report.Components)
				}
			}
			if got := stdout.String(); tt.banner != strings.Contains(got, "http://"+queryAddr+"/") {
				t.Errorf("stdout (banner %v):\n%s", tt.banner, got)
			}
			if tt.banner {
				_, port, _ := net.SplitHostPort(telAddr)
				for _, want := range []string{"OTLP/gRPC  127.0.0.1:", "OTLP/HTTP  http://127.0.0.1:", "/v1/traces", "memory: in memory", port + "/health", "Ctrl-C"} {
					if !strings.Contains(stdout.String(), want) {
						t.Errorf("banner lacks %q:\n%s", want, stdout)
					}
				}
			}
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v\n%s", err, logs)
				}
			case <-time.After(time.Minute):
				t.Fatal("Run did not return a minute after its context ended")
			}
			if !strings.Contains(logs.String(), "query api serving") || !strings.Contains(logs.String(), "shutting down") {
				t.Errorf("logs:\n%s", logs)
			}
		})
	}
}

// TestQueryPortTaken: a query endpoint that cannot be bound is an error
// that names it, and what started is stopped again (goleak checks).
func TestQueryPortTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	m := &Main{Stdout: io.Discard, Stderr: io.Discard, LookupEnv: func(string) (string, bool) { return "", false },
		openStore: func(context.Context, collector.StorageConfig, *slog.Logger) (storage.Store, error) {
			return memory.New(), nil
		}}
	err = m.Run(context.Background(), []string{"all-in-one", "--storage", "memory", "--wal-dir", t.TempDir(),
		"--grpc-endpoint", "127.0.0.1:0", "--http-endpoint", "", "--telemetry-endpoint", "127.0.0.1:0", "--query-endpoint", ln.Addr().String()})
	if err == nil || !strings.Contains(err.Error(), "query api: listen on "+ln.Addr().String()) {
		t.Errorf("Run: %v, want a listen error naming the query endpoint", err)
	}
}

func TestDialAddr(t *testing.T) {
	tests := []struct{ in, want string }{
		{"127.0.0.1:8080", "127.0.0.1:8080"},
		{"0.0.0.0:4317", "localhost:4317"},
		{"[::]:4318", "localhost:4318"},
		{":8080", "localhost:8080"},
		{"example.com:80", "example.com:80"},
		{"nonsense", "nonsense"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := dialAddr(tt.in); got != tt.want {
				t.Errorf("dialAddr(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// hungReader is a memory store whose Services hangs until its context ends,
// as a ClickHouse server that never answers.
type hungReader struct {
	storage.Store
	entered chan struct{}
}

func (h *hungReader) Services(ctx context.Context) ([]string, error) {
	h.entered <- struct{}{}
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestQuerySecondSignal: tracer query's first signal lets a request in
// flight finish (here one that would take an hour); the second stops at
// once.
func TestQuerySecondSignal(t *testing.T) {
	store := &hungReader{Store: memory.New(), entered: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	abort := make(chan struct{})
	queryAddr, telAddr := proctest.FreeAddr(t), proctest.FreeAddr(t)
	logs := &proctest.Buffer{}
	m := &Main{Stdout: io.Discard, Stderr: logs, LookupEnv: func(string) (string, bool) { return "", false }, Abort: abort,
		openStore: func(context.Context, collector.StorageConfig, *slog.Logger) (storage.Store, error) { return store, nil }}
	done := make(chan error, 1)
	go func() {
		done <- m.Run(ctx, []string{"query", "--storage", "clickhouse", "--query-endpoint", queryAddr, "--telemetry-endpoint", telAddr,
			"--query-timeout", "1h", "--shutdown-timeout", "1h"})
	}()
	await(t, "the query api", func() bool { return status(queryAddr, "/") == http.StatusOK })

	answered := make(chan error, 1)
	go func() {
		resp, err := http.Get("http://" + queryAddr + "/api/services")
		if err == nil {
			resp.Body.Close()
		}
		answered <- err
	}()
	select {
	case <-store.entered:
	case <-time.After(time.Minute):
		t.Fatal("GET /api/services did not reach the store within a minute")
	}
	cancel() // the first signal
	await(t, "the shutdown to start", func() bool { return strings.Contains(logs.String(), "finishing the requests in flight") })
	await(t, "/ready to say the query server stops", func() bool { return status(telAddr, "/ready") == http.StatusServiceUnavailable })
	select {
	case err := <-done:
		t.Fatalf("Run returned with a request in flight after one signal: %v", err)
	default:
	}
	close(abort) // the second
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "stop query api") {
			t.Errorf("Run: %v, want the query server's cut-short stop", err)
		}
	case <-time.After(time.Minute):
		t.Fatalf("Run did not return a minute after the second signal\n%s", logs)
	}
	<-answered // the connection was closed under the request
	if !strings.Contains(logs.String(), "second interrupt: stopping at once") {
		t.Errorf("logs:\n%s", logs)
	}
}
