package e2e

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/tracerdev/tracer/internal/proctest"
	"github.com/tracerdev/tracer/internal/uitest"
	"github.com/tracerdev/tracer/sdk"
)

// uiServer is a running "tracer all-in-one" (the binary built now, with the
// embedded UI) on the embedded store, for the browser tests.
type uiServer struct {
	// URL is where the UI and the API are: http://127.0.0.1:port.
	URL      string
	GRPCAddr string
	api      *api
	proc     *proctest.Process
}

// startUI starts an all-in-one for t on free loopback ports and a temporary
// data directory, once the UI build and Chromium are known to be there
// (else it skips, or fails under TRACER_REQUIRE_UI=1).
func startUI(t *testing.T) *uiServer {
	t.Helper()
	uitest.RequireBuilt(t)
	if uitest.ChromiumPath() == "" {
		uitest.NewTab(t, 100, 100) // skips or fails with the how-to
	}
	bin := proctest.BuildTracer(t)
	dir := t.TempDir()
	grpcAddr, queryAddr, telAddr := proctest.FreeAddr(t), proctest.FreeAddr(t), proctest.FreeAddr(t)
	p := proctest.Start(t, bin, []string{"all-in-one",
		"--grpc-endpoint", grpcAddr, "--http-endpoint", "", "--query-endpoint", queryAddr, "--telemetry-endpoint", telAddr,
		"--wal-dir", filepath.Join(dir, "wal"), "--badger-dir", filepath.Join(dir, "badger"), "--batch-timeout", "20ms",
	}, filepath.Join(dir, "all-in-one.log"))
	p.WaitHealthy(t, telAddr)
	return &uiServer{URL: "http://" + queryAddr, GRPCAddr: grpcAddr, api: newAPI(queryAddr), proc: p}
}

// provider is a TracerProvider of Tracer's SDK for service (its clock node
// is the service name), exporting synchronously to s over OTLP/gRPC, so that
// a span is acknowledged by the time End returns. It is shut down when t
// ends.
func (s *uiServer) provider(t *testing.T, service string) *sdktrace.TracerProvider {
	t.Helper()
	ctx := context.Background()
	exp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(s.GRPCAddr), otlptracegrpc.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	tp, err := sdk.New(ctx, sdk.WithServiceName(service), sdk.WithNodeID(service), sdk.WithoutExporter(),
		sdk.WithExporter(exp), sdk.WithSyncExport())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp
}

// awaitSpans waits (at most a minute) until the API serves trace id with
// at least n spans: acknowledged spans reach storage after a batch timeout.
// It polls the whole trace, so a large one is polled less often.
func (s *uiServer) awaitSpans(t *testing.T, id string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var last string
	for ctx.Err() == nil {
		var tr struct {
			SpanCount int `json:"spanCount"`
		}
		code, err := s.api.get(ctx, "/api/tracer/traces/"+id, &tr)
		switch {
		case err != nil:
			last = err.Error()
		case code != http.StatusOK:
			last = fmt.Sprintf("status %d", code)
		case tr.SpanCount >= n:
			return
		default:
			last = fmt.Sprintf("%d spans", tr.SpanCount)
		}
		time.Sleep(100*time.Millisecond + time.Duration(n/1000)*20*time.Millisecond)
	}
	t.Fatalf("trace %s: want %d spans within a minute, last: %s\n%s", id, n, last, s.proc.LogText())
}
