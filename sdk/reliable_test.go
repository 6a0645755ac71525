package sdk_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/tracerdev/tracer/exporter/otlp"
	"github.com/tracerdev/tracer/sdk"
	"github.com/tracerdev/tracer/vclock"
)

// TestWithReliableOTLP: the option puts the reliable exporter behind the
// provider's batch processor; a real OTLP/HTTP server gets the span with
// its clock, and the provider's Shutdown flushes it.
func TestWithReliableOTLP(t *testing.T) {
	var mu sync.Mutex
	var names []string
	clocked := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(body, &req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					names = append(names, s.Name)
					for _, kv := range s.Attributes {
						clocked = clocked || kv.Key == vclock.AttrNode
					}
				}
			}
		}
	}))
	defer srv.Close()
	tp, err := sdk.New(context.Background(), sdk.WithNodeID("n1"),
		sdk.WithReliableOTLP(otlp.WithHTTPEndpoint(srv.URL), otlp.WithSpool(t.TempDir(), 0)))
	if err != nil {
		t.Fatal(err)
	}
	_, s := tp.Tracer("t").Start(context.Background(), "reliable")
	s.End()
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(names) != 1 || names[0] != "reliable" || !clocked {
		t.Errorf("the server got spans %v (clock attributes: %v), want [reliable] with its clock", names, clocked)
	}
}
