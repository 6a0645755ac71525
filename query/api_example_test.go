package query_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/tracerdev/tracer/query"
	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/memory"
)

// The API over a store answers the Jaeger UI's and Grafana's requests.
func Example() {
	store := memory.New()
	defer store.Close()
	start := time.Now().Add(-time.Minute)
	_ = store.WriteSpans(context.Background(), []storage.Span{{
		TraceID: storage.TraceID{1, 15: 1}, SpanID: storage.SpanID{2, 7: 1},
		Name: "GET /checkout", Kind: storage.KindServer,
		StartTime: start.UnixNano(), EndTime: start.Add(time.Millisecond).UnixNano(),
		Service:  "frontend",
		Resource: []storage.Attribute{{Key: "service.name", Type: storage.TypeString, Value: "frontend"}},
	}})
	api, err := query.New(store, query.DefaultConfig(), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, path := range []string{"/api/services", "/api/operations?service=frontend&spanKind=server", "/api/traces?limit=x"} {
		rec := httptest.NewRecorder()
		api.Handler().ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		fmt.Print(rec.Code, " ", rec.Body.String())
	}
	// Output:
	// 200 {"data":["frontend"],"total":1,"limit":0,"offset":0,"errors":null}
	// 200 {"data":[{"name":"GET /checkout","spanKind":"server"}],"total":1,"limit":0,"offset":0,"errors":null}
	// 400 {"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":400,"msg":"parameter limit=\"x\": want a positive integer"}]}
}
