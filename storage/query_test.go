package storage_test

import (
	"testing"
	"time"

	"github.com/tracerdev/tracer/storage"
)

func TestQueryMatches(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	str := func(k, v string) storage.Attribute {
		return storage.Attribute{Key: k, Type: storage.TypeString, Value: v}
	}
	sp := storage.Span{
		Service: "api", Name: "GET /", Kind: storage.KindServer, StatusCode: storage.StatusError,
		StartTime: start.UnixNano(), EndTime: start.Add(50 * time.Millisecond).UnixNano(),
		Attributes: []storage.Attribute{str("http.method", "GET"), {Key: "http.status_code", Type: storage.TypeInt, Value: "500"}, str("host.name", "span-host")},
		Resource:   []storage.Attribute{str("service.name", "api"), str("host.name", "res-host"), str("region", "eu")},
	}
	attrs := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name string
		q    storage.Query
		want bool
	}{
		{"empty", storage.Query{}, true},
		{"service", storage.Query{Service: "api"}, true},
		{"other service", storage.Query{Service: "db"}, false},
		{"operation", storage.Query{Operation: "GET /"}, true},
		{"other operation", storage.Query{Operation: "GET"}, false},
		{"kind", storage.Query{Kind: storage.KindServer}, true},
		{"other kind", storage.Query{Kind: storage.KindClient}, false},
		{"status any", storage.Query{Status: storage.AnyStatus}, true},
		{"status error", storage.Query{Status: storage.OnlyError}, true},
		{"status ok", storage.Query{Status: storage.OnlyOK}, false},
		{"status unset", storage.Query{Status: storage.OnlyUnset}, false},
		{"duration min", storage.Query{DurationMin: 50 * time.Millisecond}, true},
		{"duration min above", storage.Query{DurationMin: 51 * time.Millisecond}, false},
		{"duration max", storage.Query{DurationMax: 50 * time.Millisecond}, true},
		{"duration max below", storage.Query{DurationMax: 49 * time.Millisecond}, false},
		{"start min inclusive", storage.Query{StartMin: start}, true},
		{"start min after", storage.Query{StartMin: start.Add(1)}, false},
		{"start max inclusive", storage.Query{StartMax: start}, true},
		{"start max before", storage.Query{StartMax: start.Add(-1)}, false},
		{"span attribute", storage.Query{Attributes: attrs("http.method", "GET")}, true},
		{"int attribute", storage.Query{Attributes: attrs("http.status_code", "500")}, true},
		{"attribute mismatch", storage.Query{Attributes: attrs("http.method", "POST")}, false},
		{"attribute missing", storage.Query{Attributes: attrs("nope", "x")}, false},
		{"attribute from resource", storage.Query{Attributes: attrs("region", "eu")}, true},
		{"attribute: span's hides resource's", storage.Query{Attributes: attrs("host.name", "res-host")}, false},
		{"attribute: span's", storage.Query{Attributes: attrs("host.name", "span-host")}, true},
		{"attributes all", storage.Query{Attributes: attrs("http.method", "GET", "region", "eu")}, true},
		{"attributes one wrong", storage.Query{Attributes: attrs("http.method", "GET", "region", "us")}, false},
		{"resource attribute", storage.Query{ResourceAttributes: attrs("region", "eu")}, true},
		{"resource attribute: resource's despite span's", storage.Query{ResourceAttributes: attrs("host.name", "res-host")}, true},
		{"resource attribute: never the span's", storage.Query{ResourceAttributes: attrs("host.name", "span-host")}, false},
		{"resource attribute only on span", storage.Query{ResourceAttributes: attrs("http.method", "GET")}, false},
		{"resource attributes all", storage.Query{ResourceAttributes: attrs("region", "eu", "service.name", "api")}, true},
		{"resource attributes one wrong", storage.Query{ResourceAttributes: attrs("region", "eu", "service.name", "db")}, false},
		{"span and resource attributes", storage.Query{Attributes: attrs("host.name", "span-host"), ResourceAttributes: attrs("host.name", "res-host")}, true},
		{"empty value is a value", storage.Query{ResourceAttributes: attrs("region", "")}, false},
		{"everything", storage.Query{
			Service: "api", Operation: "GET /", Kind: storage.KindServer, Status: storage.OnlyError,
			Attributes: attrs("http.method", "GET"), ResourceAttributes: attrs("region", "eu"),
			DurationMin: time.Millisecond, DurationMax: time.Second, StartMin: start, StartMax: start,
		}, true},
		{"everything but the status", storage.Query{
			Service: "api", Operation: "GET /", Kind: storage.KindServer, Status: storage.OnlyOK,
			Attributes: attrs("http.method", "GET"), ResourceAttributes: attrs("region", "eu"),
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.q.Matches(&sp); got != tt.want {
				t.Errorf("Matches(%+v) = %v, want %v", tt.q, got, tt.want)
			}
		})
	}
}
