package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"

	"github.com/tracerdev/tracer/collector"
	"github.com/tracerdev/tracer/internal/proctest"
	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/memory"
)

// hungStore is a memory store whose writes hang until their context ends,
// as a ClickHouse server that accepts connections and never answers.
type hungStore struct {
	storage.Store
	entered chan struct{} // gets a value at each write
}

func (h *hungStore) WriteSpans(ctx context.Context, _ []storage.Span) error {
	select {
	case h.entered <- struct{}{}:
	default:
	}
	<-ctx.Done()
	return ctx.Err()
}

// runInProcess runs "tracer collector" in process with store and the flags
// that give it fresh loopback ports and the WAL dir, and waits until the
// collector has started; it returns the gRPC and telemetry addresses, the
// logs, and Run's result channel.
func runInProcess(t *testing.T, ctx context.Context, abort <-chan struct{}, store storage.Store, walDir string, extra ...string) (grpcAddr, telAddr string, logs *proctest.Buffer, done <-chan error) {
	t.Helper()
	grpcAddr, telAddr, logs, done, started := runWithHook(t, ctx, abort, store, walDir, extra...)
	// The telemetry server may answer before the receivers listen: wait
	// for the collector itself.
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("tracer collector returned before it started: %v\n%s", err, logs.String())
	case <-time.After(time.Minute):
		t.Fatal("tracer collector did not start within a minute")
	}
	return grpcAddr, telAddr, logs, done
}

// runWithHook is runInProcess that also returns the running collector.
func runWithHook(t *testing.T, ctx context.Context, abort <-chan struct{}, store storage.Store, walDir string, extra ...string) (grpcAddr, telAddr string, logs *proctest.Buffer, done <-chan error, started <-chan *collector.Collector) {
	t.Helper()
	startedCh := make(chan *collector.Collector, 1)
	grpcAddr, telAddr = proctest.FreeAddr(t), proctest.FreeAddr(t)
	logs = &proctest.Buffer{}
	m := &Main{
		Stdout: io.Discard, Stderr: logs, LookupEnv: func(string) (string, bool) { return "", false }, Abort: abort,
		openStore: func(context.Context, collector.StorageConfig, *slog.Logger) (storage.Store, error) { return store, nil },
		started:   func(c *collector.Collector) { startedCh <- c },
	}
	args := append([]string{"collector", "--grpc-endpoint", grpcAddr, "--http-endpoint", proctest.FreeAddr(t),
		"--telemetry-endpoint", telAddr, "--wal-dir", walDir, "--storage", "memory"}, extra...)
	ch := make(chan error, 1)
	go func() { ch <- m.Run(ctx, args) }()
	return grpcAddr, telAddr, logs, ch, startedCh
}

// status GETs a telemetry route and returns its status code, 0 when the
// server does not answer (yet).
func status(addr, route string) int {
	resp, err := http.Get("http://" + addr + route)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// await polls cond every 10ms for at most a minute (a hang guard).
func await(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// TestSecondSignalStopsAtOnce: with storage hung, the binary's /ready says
// so while /health stays ok; the first signal starts a graceful shutdown
// that would wait for its (hour-long) deadline, the second stops at once;
// the spans stay in the WAL and the next start writes them.
func TestSecondSignalStopsAtOnce(t *testing.T) {
	walDir := t.TempDir()
	cfgPath := filepath.Join(t.TempDir(), "tracer.yaml")
	if err := os.WriteFile(cfgPath, []byte("storage:\n  write_timeout: 50ms\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	hung := &hungStore{Store: memory.New(), entered: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	abort := make(chan struct{})
	grpcAddr, telAddr, logs, done := runInProcess(t, ctx, abort, hung, walDir, "--config", cfgPath, "--shutdown-timeout", "1h")
	await(t, "the collector ready", func() bool { return status(telAddr, "/ready") == http.StatusOK })

	exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(grpcAddr), otlptracegrpc.WithInsecure(),
		otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{Enabled: false}))
	if err != nil {
		t.Fatal(err)
	}
	if err := exp.ExportSpans(ctx, batchSpans(1, 5)); err != nil {
		t.Fatalf("export: %v", err)
	}
	exp.Shutdown(ctx)
	<-hung.entered
	await(t, "/ready to say storage is retrying", func() bool { return status(telAddr, "/ready") == http.StatusServiceUnavailable })
	if got := status(telAddr, "/health"); got != http.StatusOK {
		t.Errorf("/health while storage retries: %d, want 200", got)
	}

	cancel() // the first signal
	await(t, "the shutdown to start", func() bool { return strings.Contains(logs.String(), "shutting down") })
	close(abort) // the second
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "drain") {
			t.Errorf("Run: %v, want a drain error", err)
		}
	case <-time.After(time.Minute):
		t.Fatalf("Run did not return a minute after the second signal\n%s", logs)
	}
	for _, want := range []string{"storage opened", "type=memory", "retention=", "second interrupt"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}

	// The next start writes what the WAL kept.
	store := &countingStore{Store: memory.New()}
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	_, telAddr2, logs2, done2 := runInProcess(t, ctx2, nil, store, walDir)
	await(t, "the replay", func() bool { return strings.Contains(logs2.String(), "wal replayed") })
	await(t, "the telemetry server", func() bool { return status(telAddr2, "/ready") == http.StatusOK })
	cancel2()
	if err := <-done2; err != nil {
		t.Errorf("second run: %v\n%s", err, logs2)
	}
	if got := store.n.Load(); got != 5 {
		t.Errorf("after the restart: %d spans written, want the 5 the WAL kept", got)
	}
}

// countingStore counts the spans written to it.
type countingStore struct {
	storage.Store
	n atomic.Int64
}

func (c *countingStore) WriteSpans(ctx context.Context, spans []storage.Span) error {
	if err := c.Store.WriteSpans(ctx, spans); err != nil {
		return err
	}
	c.n.Add(int64(len(spans)))
	return nil
}

// TestFailedComponentStopsTheBinary: when a component fails for good (a
// receiver whose server stopped), the binary shuts down by itself and Run
// returns an error naming it, so the process exits non-zero.
func TestFailedComponentStopsTheBinary(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, telAddr, logs, done, started := runWithHook(t, ctx, nil, memory.New(), t.TempDir())
	c := <-started
	await(t, "the telemetry server", func() bool { return status(telAddr, "/health") == http.StatusOK })
	c.Health().Fail("receiver/grpc", errors.New("accept tcp: use of closed network connection"))
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "accept tcp") {
			t.Errorf("Run: %v, want the component's error", err)
		}
	case <-time.After(time.Minute):
		t.Fatalf("Run did not return a minute after a component failed\n%s", logs)
	}
}

// TestHealthWhileStorageOpens: /health answers while the storage is still
// opening (a ClickHouse migration can take minutes, and a liveness probe
// that finds nothing restarts the process): live, with "storage" starting,
// and not ready until the store is open and the collector listens. The
// same holds for the ingester.
func TestHealthWhileStorageOpens(t *testing.T) {
	for _, cmd := range []string{"collector", "ingester"} {
		t.Run(cmd, func(t *testing.T) {
			entered, release := make(chan struct{}), make(chan struct{})
			telAddr := proctest.FreeAddr(t)
			logs := &proctest.Buffer{}
			m := &Main{
				Stdout: io.Discard, Stderr: logs, LookupEnv: func(string) (string, bool) { return "", false },
				openStore: func(ctx context.Context, _ collector.StorageConfig, _ *slog.Logger) (storage.Store, error) {
					close(entered)
					select {
					case <-release:
						return memory.New(), nil
					case <-ctx.Done():
						return nil, ctx.Err()
					}
				},
			}
			args := []string{cmd, "--telemetry-endpoint", telAddr, "--storage", "memory"}
			if cmd == "collector" {
				args = append(args, "--grpc-endpoint", proctest.FreeAddr(t), "--http-endpoint", "", "--wal-dir", t.TempDir())
			} else {
				// No broker answers here: the ingester keeps trying, which
				// is enough for what this test reads.
				args = append(args, "--kafka-brokers", proctest.FreeAddr(t))
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- m.Run(ctx, args) }()
			select {
			case <-entered:
			case err := <-done:
				t.Fatalf("Run returned before opening the storage: %v\n%s", err, logs.String())
			case <-time.After(time.Minute):
				t.Fatal("the storage was not opened within a minute")
			}
			await(t, "/health while the storage opens", func() bool { return status(telAddr, "/health") == http.StatusOK })
			if got := status(telAddr, "/ready"); got != http.StatusServiceUnavailable {
				t.Errorf("/ready while the storage opens: %d, want 503", got)
			}
			body := httpGet(t, "http://"+telAddr+"/health")
			if !strings.Contains(body, `"storage":{"status":"starting"`) {
				t.Errorf("/health while the storage opens: %s, want storage starting", body)
			}
			close(release)
			if cmd == "collector" {
				await(t, "/ready once the storage is open", func() bool { return status(telAddr, "/ready") == http.StatusOK })
			} else {
				await(t, "storage ok once open", func() bool {
					return !strings.Contains(httpGet(t, "http://"+telAddr+"/health"), `"storage":{"status":"starting"`)
				})
			}
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v\n%s", err, logs.String())
				}
			case <-time.After(time.Minute):
				t.Fatal("Run did not return within a minute of the interrupt")
			}
		})
	}
}
