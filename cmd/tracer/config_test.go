package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tracerdev/tracer/internal/proctest"
)

// testMain returns a Main over env (a variable in it is set, even when
// empty; any other is unset) and its captured stdout and stderr.
func testMain(env map[string]string) (*Main, *bytes.Buffer, *bytes.Buffer) {
	var out, errOut bytes.Buffer
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	return &Main{Stdout: &out, Stderr: &errOut, LookupEnv: lookup}, &out, &errOut
}

// TestConfigPrecedence: defaults < YAML file < environment < flags.
func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tracer.yaml")
	yaml := `
receivers:
  grpc:
    endpoint: 127.0.0.1:5317
  http:
    endpoint: 127.0.0.1:5318
wal:
  dir: /from/yaml
  sync: interval
  sync_interval: 50ms
batch:
  size: 77
  timeout: 3s
storage:
  type: memory
limits:
  max_attributes: 9
`
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	m, _, _ := testMain(map[string]string{
		"TRACER_CONFIG":        path,
		"TRACER_HTTP_ENDPOINT": "127.0.0.1:6318",
		"TRACER_BATCH_SIZE":    "88",
	})
	cfg, err := m.loadCollectorConfig([]string{"--batch-size", "99", "--wal-dir", "/from/flag"})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"grpc endpoint (yaml)", cfg.Receivers.GRPC.Endpoint, "127.0.0.1:5317"},
		{"http endpoint (env over yaml)", cfg.Receivers.HTTP.Endpoint, "127.0.0.1:6318"},
		{"batch size (flag over env over yaml)", cfg.Batch.Size, 99},
		{"wal dir (flag over yaml)", cfg.WAL.Dir, "/from/flag"},
		{"wal sync (yaml)", cfg.WAL.Sync, "interval"},
		{"sync interval (yaml)", cfg.WAL.SyncInterval, 50 * time.Millisecond},
		{"batch timeout (yaml)", cfg.Batch.Timeout, 3 * time.Second},
		{"max attributes (yaml)", cfg.Limits.MaxAttributes, 9},
		{"telemetry endpoint (default)", cfg.Telemetry.Endpoint, "127.0.0.1:8888"},
		{"max name len (default)", cfg.Limits.MaxNameLen, 1024},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

// TestConfigErrors: every problem is reported at once.
func TestConfigErrors(t *testing.T) {
	m, _, _ := testMain(map[string]string{"TRACER_WAL_MAX_BYTES": "lots"})
	_, err := m.loadCollectorConfig([]string{
		"--batch-size", "0", "--storage", "nosql", "--grpc-endpoint", "nocolon", "--log-level", "loud", "--batch-timeout", "soon",
	})
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{
		`$TRACER_WAL_MAX_BYTES: not a size: "lots"`,
		"--batch-timeout: not a duration",
		"batch.size must be positive",
		`storage.type must be one of memory, badger, clickhouse; got "nosql"`,
		"receivers.grpc.endpoint",
		"telemetry.log_level",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestConfigFileErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("wal:\n  dirr: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m, _, _ := testMain(nil)
	if _, err := m.loadCollectorConfig([]string{"--config", bad}); err == nil || !strings.Contains(err.Error(), "dirr") {
		t.Errorf("unknown key: got %v, want an error naming it", err)
	}
	if _, err := m.loadCollectorConfig([]string{"--config", filepath.Join(dir, "missing.yaml")}); err == nil {
		t.Error("missing file: want an error")
	}
}

func TestHelpAndCommands(t *testing.T) {
	m, out, _ := testMain(nil)
	if err := m.Run(context.Background(), []string{"help"}); err != nil {
		t.Errorf("help: %v", err)
	}
	if !strings.Contains(out.String(), "collector") {
		t.Errorf("help output lacks the collector command: %s", out)
	}
	for _, cmd := range []string{"agent", "ingester"} { // their own tests run them
		if !strings.Contains(out.String(), "  "+cmd+" ") {
			t.Errorf("help output lacks the %s command: %s", cmd, out)
		}
	}
	if strings.Contains(out.String(), "not yet available") {
		t.Errorf("help output still calls a command unavailable: %s", out)
	}
	if err := m.Run(context.Background(), []string{"frobnicate"}); err == nil {
		t.Error("unknown command: want an error")
	}
	if err := m.Run(context.Background(), nil); err == nil {
		t.Error("no command: want an error")
	}
}

// safeCollectorArgs starts a "tracer collector" command line that, should
// the flags after it be valid, runs a collector that touches only t's
// temporary directory and a loopback port, so that a test of a bad command
// line fails instead of serving (with doneContext, it stops at once).
func safeCollectorArgs(t *testing.T) []string {
	return []string{"collector", "--storage", "memory", "--wal-dir", t.TempDir(),
		"--grpc-endpoint", "127.0.0.1:0", "--http-endpoint", "", "--telemetry-endpoint", ""}
}

// doneContext is a context that is already done.
func doneContext() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// TestTypedFlags: sizes and durations take units, booleans stand alone,
// and --flag=false turns a boolean off.
func TestTypedFlags(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		check func(*config) bool
	}{
		{"size IEC", []string{"--wal-max-bytes", "2GiB"}, func(c *config) bool { return c.WAL.MaxBytes == 2<<30 }},
		{"size SI", []string{"--max-request-bytes=512KB"}, func(c *config) bool { return c.Limits.MaxRequestBytes == 512_000 }},
		{"size plain bytes", []string{"--max-inflight-bytes", "100000000"}, func(c *config) bool { return c.Limits.MaxInflightBytes == 100_000_000 }},
		{"size fraction", []string{"--wal-max-bytes", "1.5GiB"}, func(c *config) bool { return c.WAL.MaxBytes == 3<<29 }},
		{"duration", []string{"--batch-timeout", "30s", "--retention", "168h"}, func(c *config) bool {
			return c.Batch.Timeout == 30*time.Second && c.Storage.Retention == 168*time.Hour
		}},
		{"bool alone", []string{"--clickhouse-tls", "--batch-size", "5"}, func(c *config) bool {
			return c.Storage.ClickHouse.TLS.Enabled && c.Batch.Size == 5
		}},
		{"bool last", []string{"--batch-size", "5", "--clickhouse-tls"}, func(c *config) bool { return c.Storage.ClickHouse.TLS.Enabled }},
		{"bool =false over env", []string{"--clickhouse-tls=false"}, func(c *config) bool { return !c.Storage.ClickHouse.TLS.Enabled }},
		{"int", []string{"--max-attributes", "64"}, func(c *config) bool { return c.Limits.MaxAttributes == 64 }},
		{"last flag wins", []string{"--batch-size", "5", "--batch-size", "6"}, func(c *config) bool { return c.Batch.Size == 6 }},
		{"single dash", []string{"-batch-size=7"}, func(c *config) bool { return c.Batch.Size == 7 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{}
			if strings.HasPrefix(tt.name, "bool =false") {
				env["TRACER_CLICKHOUSE_TLS"] = "true"
			}
			m, _, _ := testMain(env)
			cfg, err := m.loadCollectorConfig(tt.args)
			if err != nil {
				t.Fatalf("%v: %v", tt.args, err)
			}
			if !tt.check(&cfg) {
				t.Errorf("%v: not applied: %+v", tt.args, cfg)
			}
		})
	}
}

// TestTypedEnv: the environment takes the same typed values as the flags.
func TestTypedEnv(t *testing.T) {
	m, _, _ := testMain(map[string]string{
		"TRACER_WAL_MAX_BYTES":         "256MiB",
		"TRACER_MAX_INFLIGHT_BYTES":    "128MB",
		"TRACER_SHUTDOWN_TIMEOUT":      "2m",
		"TRACER_CLICKHOUSE_TLS":        "1",
		"TRACER_MAX_SPANS_PER_REQUEST": "1000",
	})
	cfg, err := m.loadCollectorConfig(nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.WAL.MaxBytes != 256<<20 || cfg.Limits.MaxInflightBytes != 128e6 || cfg.ShutdownTimeout != 2*time.Minute ||
		!cfg.Storage.ClickHouse.TLS.Enabled || cfg.Limits.MaxSpansPerRequest != 1000 {
		t.Errorf("environment not applied: %+v", cfg)
	}
}

// TestHelp: every way of asking for help prints it to stdout and succeeds.
func TestHelp(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"help"}, "Commands:"},
		{[]string{"--help"}, "Commands:"},
		{[]string{"-h"}, "Commands:"},
		{[]string{"collector", "--help"}, "Usage: tracer collector"},
		{[]string{"collector", "-help"}, "Usage: tracer collector"},
		{[]string{"collector", "-h"}, "Usage: tracer collector"},
		{[]string{"collector", "--batch-size", "5", "--help"}, "Usage: tracer collector"},
		// Help wins over a bad value: the values are checked after parsing.
		{[]string{"collector", "--batch-size", "many", "--help"}, "Usage: tracer collector"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			m, out, errOut := testMain(nil)
			args := tt.args
			if args[0] == "collector" {
				args = append(safeCollectorArgs(t), args[1:]...)
			}
			if err := m.Run(doneContext(), args); err != nil {
				t.Fatalf("got %v, want success", err)
			}
			if !strings.Contains(out.String(), tt.want) {
				t.Errorf("stdout lacks %q:\n%s", tt.want, out)
			}
			if errOut.Len() != 0 {
				t.Errorf("stderr not empty:\n%s", errOut)
			}
		})
	}
}

// TestCollectorUsage: the help names every setting with its environment
// variable, type and readable default, and says what an empty variable does.
func TestCollectorUsage(t *testing.T) {
	m, out, _ := testMain(nil)
	if err := m.Run(context.Background(), []string{"collector", "--help"}); err != nil {
		t.Fatal(err)
	}
	help := out.String()
	for _, sec := range collectorSettings {
		for _, s := range sec.settings {
			if s.flag != "" && !strings.Contains(help, "--"+s.flag+" ") {
				t.Errorf("help lacks --%s", s.flag)
			}
			if !strings.Contains(help, "$"+s.env) {
				t.Errorf("help lacks $%s", s.env)
			}
		}
	}
	for _, want := range []string{
		"--wal-max-bytes size, $TRACER_WAL_MAX_BYTES (default 1GiB)",
		"--max-inflight-bytes size, $TRACER_MAX_INFLIGHT_BYTES (default 64MiB)",
		"--max-request-bytes size, $TRACER_MAX_REQUEST_BYTES (default 8MiB)",
		"--retention duration, $TRACER_RETENTION (default 72h)",
		"--batch-timeout duration, $TRACER_BATCH_TIMEOUT (default 200ms)",
		"--clickhouse-tls bool, $TRACER_CLICKHOUSE_TLS (default false)",
		`--grpc-endpoint host:port, $TRACER_GRPC_ENDPOINT (default "localhost:4317")`,
		`--http-endpoint host:port, $TRACER_HTTP_ENDPOINT (default "localhost:4318")`,
		`--telemetry-endpoint host:port, $TRACER_TELEMETRY_ENDPOINT (default "127.0.0.1:8888")`,
		`--config path, $TRACER_CONFIG (default "")`,
		"$TRACER_CLICKHOUSE_PASSWORD string",
		"TRACER_TELEMETRY_ENDPOINT= disables",
		"empty disables the gRPC receiver",
		"64MiB, 512KB",
		"/health",
	} {
		if !strings.Contains(help, want) {
			t.Errorf("help lacks %q", want)
		}
	}
	if strings.Contains(help, "67108864") || strings.Contains(help, "72h0m0s") {
		t.Errorf("help shows a raw number or duration:\n%s", help)
	}
}

// TestCommandLineErrors: a bad command line is an error that says what is
// wrong and how to get help, and prints nothing to stdout.
func TestCommandLineErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"unknown flag", []string{"--nope"}, []string{"unknown flag --nope"}},
		{"unknown flag with value", []string{"-nope=3"}, []string{"unknown flag -nope"}},
		{"missing value", []string{"--batch-size"}, []string{"flag needs an argument", "batch-size"}},
		{"bad size", []string{"--wal-max-bytes", "3M"}, []string{`--wal-max-bytes: not a size: "3M": write MB`}},
		{"bad duration", []string{"--batch-timeout", "5"}, []string{`--batch-timeout: not a duration: "5"`}},
		{"bad bool", []string{"--clickhouse-tls=maybe"}, []string{`--clickhouse-tls: not true or false: "maybe"`}},
		{"bool with a separate value", []string{"--clickhouse-tls", "false"}, []string{"unexpected arguments: false", "--clickhouse-tls=false"}},
		{"every bad value at once", []string{"--batch-size", "x", "--retention", "1d", "--max-request-bytes", "-1"},
			[]string{`--batch-size: not an integer: "x"`, `--retention: not a duration: "1d"`, `--max-request-bytes: not a size: "-1" is negative`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, out, _ := testMain(nil)
			err := m.Run(doneContext(), append(safeCollectorArgs(t), tt.args...))
			if err == nil {
				t.Fatal("want an error")
			}
			for _, want := range append(tt.want, `run "tracer collector --help"`) {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error lacks %q:\n%v", want, err)
				}
			}
			if out.Len() != 0 {
				t.Errorf("stdout not empty:\n%s", out)
			}
		})
	}
}

// TestEmptyEnvironment: a variable set to "" means what the flag with an
// empty value means (disable, none, an error for a number); an unset one
// keeps the default.
func TestEmptyEnvironment(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tracer.yaml")
	if err := os.WriteFile(path, []byte("storage:\n  clickhouse:\n    cluster: from-yaml\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		env     map[string]string
		check   func(*config) bool
		wantErr string
	}{
		{"telemetry endpoint disabled", map[string]string{"TRACER_TELEMETRY_ENDPOINT": ""},
			func(c *config) bool { return c.Telemetry.Endpoint == "" }, ""},
		{"grpc receiver disabled", map[string]string{"TRACER_GRPC_ENDPOINT": ""},
			func(c *config) bool {
				return c.Receivers.GRPC.Endpoint == "" && c.Receivers.HTTP.Endpoint == "localhost:4318"
			}, ""},
		{"http receiver disabled", map[string]string{"TRACER_HTTP_ENDPOINT": ""},
			func(c *config) bool { return c.Receivers.HTTP.Endpoint == "" }, ""},
		{"cluster from the file cleared", map[string]string{"TRACER_CONFIG": path, "TRACER_CLICKHOUSE_CLUSTER": ""},
			func(c *config) bool { return c.Storage.ClickHouse.Cluster.Name == "" }, ""},
		{"file applies when the variable is unset", map[string]string{"TRACER_CONFIG": path},
			func(c *config) bool { return c.Storage.ClickHouse.Cluster.Name == "from-yaml" }, ""},
		{"no file", map[string]string{"TRACER_CONFIG": ""},
			func(c *config) bool { return c.Storage.ClickHouse.Cluster.Name == "" }, ""},
		{"unset keeps the defaults", map[string]string{},
			func(c *config) bool {
				return c.Telemetry.Endpoint == "127.0.0.1:8888" && c.Receivers.GRPC.Endpoint == "localhost:4317"
			}, ""},
		{"empty number is an error", map[string]string{"TRACER_BATCH_SIZE": ""}, nil, "$TRACER_BATCH_SIZE: empty, want an integer"},
		{"empty size is an error", map[string]string{"TRACER_WAL_MAX_BYTES": ""}, nil, "$TRACER_WAL_MAX_BYTES: empty"},
		{"both receivers disabled", map[string]string{"TRACER_GRPC_ENDPOINT": "", "TRACER_HTTP_ENDPOINT": ""}, nil, "at least one of"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _, _ := testMain(tt.env)
			cfg, err := m.loadCollectorConfig(nil)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want an error saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(&cfg) {
				t.Errorf("not applied: %+v", cfg)
			}
		})
	}
}

// TestFlagOverridesEmptyEnvironment: a flag still wins over a variable set
// to "", in both directions.
func TestFlagOverridesEmptyEnvironment(t *testing.T) {
	m, _, _ := testMain(map[string]string{"TRACER_TELEMETRY_ENDPOINT": "", "TRACER_GRPC_ENDPOINT": "127.0.0.1:1"})
	cfg, err := m.loadCollectorConfig([]string{"--telemetry-endpoint", "127.0.0.1:9999", "--grpc-endpoint="})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Telemetry.Endpoint != "127.0.0.1:9999" || cfg.Receivers.GRPC.Endpoint != "" {
		t.Errorf("telemetry %q, grpc %q", cfg.Telemetry.Endpoint, cfg.Receivers.GRPC.Endpoint)
	}

	// --config= reads no file, whatever $TRACER_CONFIG says.
	m, _, _ = testMain(map[string]string{"TRACER_CONFIG": filepath.Join(t.TempDir(), "missing.yaml")})
	if _, err := m.loadCollectorConfig([]string{"--config="}); err != nil {
		t.Errorf("--config= over $TRACER_CONFIG: %v", err)
	}
}

// TestConfigFileProblemsJoined: the YAML file's problems (each with its
// file, line and key) come in one error with those of the environment, the
// flags and Validate.
func TestConfigFileProblemsJoined(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	typed := write("typed.yaml", "wal:\n  dirr: x\n  max_bytes: lots\nbatch:\n  timeout: soon\n")
	syntax := write("syntax.yaml", "wal:\n  dir: x\n\tbatch: 1\n")
	twoDocs := write("two.yaml", "wal: {dir: x}\n---\nbatch: {size: 1}\n")
	tests := []struct {
		name string
		path string
		want []string
	}{
		{"unknown key and wrong types", typed, []string{
			typed + `:2: wal.dirr: unknown key`,
			typed + ":3: wal.max_bytes: cannot unmarshal !!str `lots` into int64",
			typed + ":5: batch.timeout: cannot unmarshal !!str `soon` into time.Duration",
		}},
		{"syntax", syntax, []string{syntax + ":2: found a tab character"}},
		{"two documents", twoDocs, []string{twoDocs + ":2: a second YAML document"}},
		{"missing file", filepath.Join(dir, "missing.yaml"), []string{"read config:", "missing.yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _, _ := testMain(map[string]string{"TRACER_CONFIG": tt.path, "TRACER_BATCH_SIZE": "many"})
			_, err := m.loadCollectorConfig([]string{"--retention", "forever", "--storage", "nosql"})
			if err == nil {
				t.Fatal("want an error")
			}
			for _, want := range append(tt.want,
				`$TRACER_BATCH_SIZE: not an integer: "many"`,
				`--retention: not a duration: "forever"`,
				`storage.type must be one of memory, badger, clickhouse; got "nosql"`,
				`run "tracer collector --help"`,
			) {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error lacks %q:\n%v", want, err)
				}
			}
		})
	}
}

// TestConfigFileKeepsGoing: a wrong value in the file leaves the default of
// that key, and the file's other keys still apply.
func TestConfigFileKeepsGoing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tracer.yaml")
	if err := os.WriteFile(path, []byte("batch:\n  size: lots\n  timeout: 2s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := defaultConfig()
	err := cfg.LoadFile(path)
	if err == nil || !strings.Contains(err.Error(), path+":2: batch.size") {
		t.Fatalf("got %v, want an error at %s:2", err, path)
	}
	if cfg.Batch.Timeout != 2*time.Second || cfg.Batch.Size != defaultConfig().Batch.Size {
		t.Errorf("batch = %+v, want the default size and the file's timeout", cfg.Batch)
	}
	empty := filepath.Join(t.TempDir(), "empty.yaml")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := cfg.LoadFile(empty); err != nil {
		t.Errorf("empty file: %v", err)
	}
}

// TestBinaryStreamsAndStatus runs the built binary: help goes to stdout
// with status 0; a bad command line goes to stderr, with the hint, and a
// non-zero status.
func TestBinaryStreamsAndStatus(t *testing.T) {
	bin := proctest.BuildTracer(t)
	tests := []struct {
		args       []string
		wantStatus int
		wantOut    string // in stdout
		wantErr    string // in stderr
	}{
		{[]string{"--help"}, 0, "Commands:", ""},
		{[]string{"help"}, 0, "Commands:", ""},
		{[]string{"collector", "--help"}, 0, "Usage: tracer collector", ""},
		{[]string{"collector", "-h"}, 0, "Usage: tracer collector", ""},
		{[]string{"collector", "--nope"}, 1, "", "unknown flag --nope\nrun \"tracer collector --help\""},
		{[]string{"collector", "--wal-max-bytes", "lots"}, 1, "", `--wal-max-bytes: not a size: "lots"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			cmd := exec.Command(bin, tt.args...)
			cmd.Stdout, cmd.Stderr = &out, &errOut
			cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
			err := cmd.Run()
			status := 0
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				status = exit.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if status != tt.wantStatus {
				t.Errorf("status %d, want %d\nstderr: %s", status, tt.wantStatus, errOut.String())
			}
			if tt.wantOut == "" && out.Len() != 0 || !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("stdout %q, want it to hold %q", out.String(), tt.wantOut)
			}
			if tt.wantErr == "" && errOut.Len() != 0 || !strings.Contains(errOut.String(), tt.wantErr) {
				t.Errorf("stderr %q, want it to hold %q", errOut.String(), tt.wantErr)
			}
		})
	}
}

// TestClickHouseBatchDefaults: with storage clickhouse, the batch settings
// nobody chose are ClickHouse's (few large inserts); one chosen by a flag,
// the environment or the file stays, and other storage keeps the generic
// defaults.
func TestClickHouseBatchDefaults(t *testing.T) {
	generic := defaultConfig().Batch
	file := filepath.Join(t.TempDir(), "tracer.yaml")
	if err := os.WriteFile(file, []byte("storage:\n  type: clickhouse\nbatch:\n  max_bytes: 1000000\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		env       map[string]string
		args      []string
		size      int
		maxBytes  int
		timeoutMs int64
	}{
		{"badger", nil, nil, generic.Size, int(generic.MaxBytes), generic.Timeout.Milliseconds()},
		{"clickhouse", nil, []string{"--storage", "clickhouse"}, 50_000, 64 << 20, 1000},
		{"clickhouse batch size", nil, []string{"--storage", "clickhouse", "--clickhouse-batch-size", "20000"}, 20_000, 64 << 20, 1000},
		{"flag chosen", nil, []string{"--storage", "clickhouse", "--batch-size", "100"}, 100, 64 << 20, 1000},
		{"env chosen", map[string]string{"TRACER_STORAGE": "clickhouse", "TRACER_BATCH_TIMEOUT": "50ms"}, nil, 50_000, 64 << 20, 50},
		{"file chosen", nil, []string{"--config", file}, 50_000, 1000000, 1000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, _, _ := testMain(tc.env)
			cfg, err := m.loadCollectorConfig(tc.args)
			if err != nil {
				t.Fatal(err)
			}
			if b := cfg.Batch; b.Size != tc.size || b.MaxBytes != int64(tc.maxBytes) || b.Timeout.Milliseconds() != tc.timeoutMs {
				t.Errorf("batch %+v, want size %d, max_bytes %d, timeout %dms", b, tc.size, tc.maxBytes, tc.timeoutMs)
			}
		})
	}
}
