// Package proctest runs the tracer binary as a child process for tests that
// need a real process (crash and restart tests): it builds the binary,
// starts it with its output in a log file, waits for its health endpoint,
// and kills it when the test ends. Buffer is a log sink for tests that run
// the collector in process and read its logs.
package proctest

import (
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// BuildTracer builds cmd/tracer into a temporary directory and returns the
// binary's path.
func BuildTracer(t *testing.T) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("this test builds the tracer binary and needs the go command: %v", err)
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the module's source directory")
	}
	bin := filepath.Join(t.TempDir(), "tracer")
	cmd := exec.Command(gobin, "build", "-o", bin, "./cmd/tracer")
	cmd.Dir = filepath.Join(filepath.Dir(file), "..", "..")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// handedOut is every address FreeAddr has returned in this process: the
// kernel may give a port that was just closed again to the next bind, so
// two calls in a row could return the same address (seen in the browser
// tests: "bind: address already in use").
var handedOut = struct {
	sync.Mutex
	addrs map[string]bool
}{addrs: map[string]bool{}}

// FreeAddr returns a loopback address that was free a moment ago and that
// no earlier call in this process returned.
func FreeAddr(t *testing.T) string {
	t.Helper()
	handedOut.Lock()
	defer handedOut.Unlock()
	for range 100 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		if !handedOut.addrs[addr] {
			handedOut.addrs[addr] = true
			return addr
		}
	}
	t.Fatal("FreeAddr: the kernel kept giving ports handed out before")
	return ""
}

// Process is a running child process.
type Process struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed when the process has exited
	err    error         // Wait's result, set before exited is closed
	log    string
}

// Start runs bin with args, appending its output to logPath, with no
// TRACER_* variables from the test's environment. The process is killed
// when the test ends.
func Start(t *testing.T, bin string, args []string, logPath string) *Process {
	t.Helper()
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatal(err)
	}
	p := &Process{cmd: cmd, exited: make(chan struct{}), log: logPath}
	go func() {
		p.err = cmd.Wait()
		logf.Close()
		close(p.exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.exited
	})
	return p
}

// Signal sends sig to the process.
func (p *Process) Signal(sig syscall.Signal) error { return p.cmd.Process.Signal(sig) }

// Wait waits for the process to exit and returns Wait's result.
func (p *Process) Wait() error {
	<-p.exited
	return p.err
}

// Exited is closed when the process has exited.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// LogText returns the last 8000 bytes of the process's output.
func (p *Process) LogText() string {
	b, _ := os.ReadFile(p.log)
	if len(b) > 8000 {
		b = b[len(b)-8000:]
	}
	return string(b)
}

// WaitHealthy polls http://addr/health until it answers 200 with no
// component starting (a collector is until its receivers listen), for at most a
// minute (a loaded machine may be slow to start it), and fails the test if
// the process exits first.
func (p *Process) WaitHealthy(t *testing.T, addr string) {
	t.Helper()
	client := &http.Client{Timeout: time.Second}
	for range 600 {
		select {
		case <-p.exited:
			t.Fatalf("process exited early: %v\n%s", p.err, p.LogText())
		default:
		}
		if resp, err := client.Get("http://" + addr + "/health"); err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			// Live, and no component still starting (the collector is
			// until its receivers listen).
			if resp.StatusCode == http.StatusOK && !strings.Contains(string(body), `"status":"starting"`) {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("not healthy after a minute\n%s", p.LogText())
}
