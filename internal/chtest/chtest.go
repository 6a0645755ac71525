package chtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	chstore "github.com/tracerdev/tracer/storage/clickhouse"
)

// RequireEnv is the environment variable that turns a missing server from a
// skip into a failure.
const RequireEnv = "TRACER_REQUIRE_CLICKHOUSE"

// ClusterName is the name of the one-shard cluster the generated
// configuration declares (remote_servers), pointing at the server itself,
// so Distributed tables can be tested on one node.
const ClusterName = "tracer_test"

// HowTo tells a developer how to get the server.
const HowTo = "clickhouse-server not found: run `make deps` (or `apt-get install clickhouse-server clickhouse-client`), " +
	"or set " + RequireEnv + "=1 to make this a failure"

// ErrNotInstalled means no clickhouse-server binary was found.
var ErrNotInstalled = errors.New("clickhouse-server is not installed")

const readyTimeout = 60 * time.Second

// Server is a clickhouse-server process started for tests. A Server whose
// start failed is still usable: NewDatabase then skips or fails the test
// with the reason.
type Server struct {
	// Addr is the native protocol address (host:port).
	Addr string
	// HTTPAddr is the HTTP interface address.
	HTTPAddr string

	err       error
	dir       string
	removeDir bool // Stop removes dir
	bin       string
	cmd       *exec.Cmd
	done      chan struct{} // closed when the process has exited

	mu      sync.Mutex
	counter int
}

// Start starts a server in a new temporary directory and waits until it
// answers, or records why it could not. Call Stop when done: it removes the
// directory.
func Start() *Server {
	dir, err := os.MkdirTemp("", "chtest-")
	if err != nil {
		return &Server{err: fmt.Errorf("temp dir: %w", err)}
	}
	s := start(dir)
	s.removeDir = true
	return s
}

// StartDir is Start with the server's files in dir (created if missing),
// which Stop keeps: a later StartDir on the same dir finds the data again
// (on new ports). For benchmarks that reuse a large data set.
func StartDir(dir string) *Server {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return &Server{err: fmt.Errorf("data dir: %w", err)}
	}
	return start(dir)
}

func start(dir string) *Server {
	s := &Server{dir: dir}
	bin, err := findBinary()
	if err != nil {
		s.err = err
		return s
	}
	s.bin = bin
	// A free port can be taken between our probe and the server's bind:
	// try a few times.
	for attempt := 0; attempt < 3; attempt++ {
		if s.err = s.start(); s.err == nil {
			return s
		}
	}
	return s
}

// Err returns why the server is not available, or nil.
func (s *Server) Err() error { return s.err }

// PID returns the server process's id, or 0 when it is not running.
func (s *Server) PID() int {
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

func findBinary() (string, error) {
	for _, name := range []string{"clickhouse-server", "clickhouse"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	for _, p := range []string{"/usr/bin/clickhouse-server", "/usr/sbin/clickhouse-server", "/usr/bin/clickhouse"} {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	return "", ErrNotInstalled
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) start() error {
	tcp, err := freePort()
	if err != nil {
		return fmt.Errorf("free port: %w", err)
	}
	httpPort, err := freePort()
	if err != nil {
		return fmt.Errorf("free port: %w", err)
	}
	for _, d := range []string{"data", "tmp", "user_files", "format_schemas", "log"} {
		if err := os.MkdirAll(filepath.Join(s.dir, d), 0o755); err != nil {
			return fmt.Errorf("mkdir: %w", err)
		}
	}
	cfg := filepath.Join(s.dir, "config.xml")
	if err := os.WriteFile(cfg, []byte(configXML(s.dir, tcp, httpPort)), 0o644); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	if err := os.WriteFile(filepath.Join(s.dir, "users.xml"), []byte(usersXML), 0o644); err != nil {
		return fmt.Errorf("write users: %w", err)
	}
	if err := s.spawn(); err != nil {
		return err
	}
	s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(tcp))
	s.HTTPAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(httpPort))
	if err := s.waitReady(); err != nil {
		s.kill()
		return fmt.Errorf("%w (log in %s)", err, filepath.Join(s.dir, "log"))
	}
	return nil
}

func (s *Server) waitReady() error {
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	var last error
	for {
		select {
		case <-s.done:
			return fmt.Errorf("clickhouse-server exited at start: %s", tail(filepath.Join(s.dir, "log")))
		default:
		}
		if last = s.ping(ctx); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("clickhouse-server not ready after %s: %w", readyTimeout, last)
		case <-s.done:
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func tail(dir string) string {
	b, _ := os.ReadFile(filepath.Join(dir, "server.err.log"))
	if len(b) == 0 {
		b, _ = os.ReadFile(filepath.Join(dir, "stdout.log"))
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return strings.TrimSpace(string(b))
}

func (s *Server) ping(ctx context.Context) error {
	conn, err := s.Open("default")
	if err != nil {
		return err
	}
	defer conn.Close()
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return conn.Ping(pctx)
}

// Config returns the storage/clickhouse configuration of a Store on a
// fresh database for t (see NewDatabase): the backend's defaults, this
// server's address.
func (s *Server) Config(t testing.TB) chstore.Config {
	t.Helper()
	cfg := chstore.NewDefaultConfig()
	cfg.Addr = []string{s.Addr}
	cfg.Database = s.NewDatabase(t)
	return cfg
}

// Pause stops the server process (SIGSTOP) until Resume, as a hung server
// would: connections stay open and nothing answers. t's cleanup resumes
// it in any case.
func (s *Server) Pause(t testing.TB) {
	t.Helper()
	s.Available(t)
	if s.cmd == nil || s.cmd.Process == nil {
		t.Fatal("chtest: server not running")
	}
	if err := stop(s.cmd.Process); err != nil {
		t.Fatalf("chtest: pause: %v", err)
	}
	t.Cleanup(s.Resume)
}

// Resume continues a paused server (SIGCONT); it does nothing to a running
// one.
func (s *Server) Resume() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = cont(s.cmd.Process)
	}
}

// Open opens a native-protocol connection to database db.
func (s *Server) Open(db string) (clickhouse.Conn, error) {
	return clickhouse.Open(&clickhouse.Options{
		Addr:        []string{s.Addr},
		Auth:        clickhouse.Auth{Database: db, Username: "default"},
		DialTimeout: 2 * time.Second,
	})
}

// spawn starts the server process with the config in s.dir.
func (s *Server) spawn() error {
	args := []string{"--config-file=" + filepath.Join(s.dir, "config.xml")}
	if filepath.Base(s.bin) == "clickhouse" {
		args = append([]string{"server"}, args...)
	}
	cmd := exec.Command(s.bin, args...)
	cmd.Dir = s.dir
	out, err := os.OpenFile(filepath.Join(s.dir, "log", "stdout.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("log file: %w", err)
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	s.cmd, s.done = cmd, done
	return nil
}

// kill stops the process: SIGTERM, then SIGKILL after a grace period.
func (s *Server) kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
}

// Stop stops the server and removes its directory (unless it came from
// StartDir).
func (s *Server) Stop() {
	s.kill()
	if s.removeDir && s.dir != "" {
		_ = os.RemoveAll(s.dir)
	}
}

// Restart stops the server (SIGKILL when hard is true, as a crash would)
// and starts it again on the same ports and data, waiting until it answers.
func (s *Server) Restart(hard bool) error {
	if s.err != nil {
		return s.err
	}
	if s.cmd != nil && hard {
		_ = s.cmd.Process.Kill()
		<-s.done
		s.cmd = nil
	}
	s.kill()
	if err := s.spawn(); err != nil {
		return err
	}
	return s.waitReady()
}

// Available reports whether the server runs; when it does not, it skips t
// with a how-to message, or fails t when TRACER_REQUIRE_CLICKHOUSE=1.
func (s *Server) Available(t testing.TB) {
	t.Helper()
	if s == nil {
		t.Fatal("chtest: nil server: call chtest.Start in TestMain")
	}
	if s.err == nil {
		return
	}
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("ClickHouse required (%s=1) but unavailable: %v", RequireEnv, s.err)
	}
	if errors.Is(s.err, ErrNotInstalled) {
		t.Skip(HowTo)
	}
	t.Skipf("clickhouse-server did not start: %v (set %s=1 to make this a failure)", s.err, RequireEnv)
}

// NewDatabase creates a fresh, empty database for t and drops it when t
// ends. It skips or fails t as Available does.
func (s *Server) NewDatabase(t testing.TB) string {
	t.Helper()
	s.Available(t)
	var b [4]byte
	_, _ = rand.Read(b[:])
	s.mu.Lock()
	s.counter++
	name := fmt.Sprintf("test_%d_%s", s.counter, hex.EncodeToString(b[:]))
	s.mu.Unlock()
	conn, err := s.Open("default")
	if err != nil {
		t.Fatalf("chtest: open: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		conn.Close()
		t.Fatalf("chtest: create database: %v", err)
	}
	conn.Close()
	t.Cleanup(func() {
		conn, err := s.Open("default")
		if err != nil {
			t.Errorf("chtest: open: %v", err)
			return
		}
		defer conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name); err != nil {
			t.Errorf("chtest: drop database: %v", err)
		}
	})
	return name
}

// TestingM is what goleak.VerifyTestMain takes.
type TestingM interface{ Run() int }

type mainRunner struct {
	m TestingM
	s *Server
}

func (r mainRunner) Run() int {
	code := r.m.Run()
	r.s.Stop()
	return code
}

// Main wraps m so that the server stops right after the tests ran (before
// goleak looks for leaked goroutines).
func Main(m TestingM, s *Server) TestingM { return mainRunner{m, s} }
