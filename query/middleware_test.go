package query

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/memory"
)

// mwStore is a store whose Services is a test's function.
type mwStore struct {
	storage.ReadStore
	services func(ctx context.Context) ([]string, error)
}

func (s mwStore) Services(ctx context.Context) ([]string, error) { return s.services(ctx) }

func newMWEnv(t *testing.T, cfg Config, services func(ctx context.Context) ([]string, error), opts ...Option) *v1Env {
	t.Helper()
	st := memory.New()
	t.Cleanup(func() { _ = st.Close() })
	return newV1EnvStore(t, cfg, mwStore{ReadStore: st, services: services}, st, opts...)
}

func mwServices(context.Context) ([]string, error) { return []string{"a"}, nil }

var mwHexID = regexp.MustCompile(`^[0-9a-f]{16}$`)

func TestAPIRequestID(t *testing.T) {
	e := newMWEnv(t, DefaultConfig(), mwServices)
	tests := []struct {
		name, path, sent string
		keep             bool
	}{
		{"generated on success", "/api/services", "", false},
		{"generated on an error", "/api/traces?limit=x", "", false},
		{"generated on an unknown route", "/api/nope", "", false},
		{"a proxy's id is kept", "/api/services", "edge-4711.a_b", true},
		{"too long is replaced", "/api/services", strings.Repeat("a", 65), false},
		{"odd characters are replaced", "/api/services", "a b<script>", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.sent != "" {
				h.Set(RequestIDHeader, tt.sent)
			}
			ans := e.do(http.MethodGet, tt.path, h)
			id := ans.header.Get(RequestIDHeader)
			switch {
			case tt.keep && id != tt.sent:
				t.Errorf("id %q, want the client's %q", id, tt.sent)
			case !tt.keep && !mwHexID.MatchString(id):
				t.Errorf("id %q, want 16 hex digits", id)
			}
			// The log line of the request names it.
			lines := e.logs.Lines(`"request_id":"` + id + `"`)
			if len(lines) != 1 || !strings.Contains(lines[0], `"msg":"query request"`) || !strings.Contains(lines[0], `"status":`+mwItoa(ans.status)) {
				t.Errorf("log lines for %s: %q", id, lines)
			}
		})
	}
}

func mwItoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestAPIErrorsHideInternals(t *testing.T) {
	t.Run("store error: 500 naming only the request id; the log has it all", func(t *testing.T) {
		e := newMWEnv(t, DefaultConfig(), func(context.Context) ([]string, error) {
			return nil, errors.New("dial tcp 10.0.0.7:9000: password=hunter2 rejected")
		})
		ans := e.get("/api/services")
		id := ans.header.Get(RequestIDHeader)
		v1CheckError(t, ans, http.StatusInternalServerError, "internal error", id)
		if strings.Contains(string(ans.body), "hunter2") || strings.Contains(string(ans.body), "10.0.0.7") {
			t.Errorf("internal details reached the client: %s", ans.body)
		}
		if lines := e.logs.Lines("hunter2"); len(lines) != 1 || !strings.Contains(lines[0], id) {
			t.Errorf("log lines %q, want one with the error and the request id", lines)
		}
	})
	t.Run("panic: 500 in the route's shape, the server keeps serving", func(t *testing.T) {
		calls := 0
		e := newMWEnv(t, DefaultConfig(), func(context.Context) ([]string, error) {
			calls++
			if calls == 1 {
				panic("nil map somewhere")
			}
			return []string{"a"}, nil
		})
		ans := e.get("/api/services")
		v1CheckError(t, ans, http.StatusInternalServerError, "internal error", ans.header.Get(RequestIDHeader))
		if lines := e.logs.Lines("panicked"); len(lines) != 1 || !strings.Contains(lines[0], "nil map somewhere") {
			t.Errorf("log lines %q", lines)
		}
		if ans := e.get("/api/services"); ans.status != http.StatusOK {
			t.Errorf("after the panic: %d", ans.status)
		}
	})
	t.Run("timeout: 503 that says what to do", func(t *testing.T) {
		cfg := DefaultConfig()
		cfg.RequestTimeout = 20 * time.Millisecond
		e := newMWEnv(t, cfg, func(ctx context.Context) ([]string, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		})
		v1CheckError(t, e.get("/api/services"), http.StatusServiceUnavailable, "longer than 20ms", "narrow")
	})
}

func TestAPIErrorShapes(t *testing.T) {
	e := newMWEnv(t, DefaultConfig(), mwServices)
	tests := []struct {
		name, path, want string
	}{
		{"v1 envelope", "/api/nope", `{"data":null,"total":0,"limit":0,"offset":0,"errors":[{"code":404,"msg":"no API route /api/nope"}]}`},
		{"v3 shape under /api/v3/", "/api/v3/nope", `{"error":{"httpCode":404,"message":"no API route /api/v3/nope"}}`},
		{"Tracer's shape under /api/tracer/", "/api/tracer/nope", `{"error":{"code":404,"message":"no API route /api/tracer/nope","requestId":"ID"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ans := e.get(tt.path)
			if ans.status != http.StatusNotFound {
				t.Fatalf("status %d", ans.status)
			}
			v1ExpectJSON(t, ans.json, strings.ReplaceAll(tt.want, "ID", ans.header.Get(RequestIDHeader)))
		})
	}
}

func TestAPICORS(t *testing.T) {
	origins := func(o ...string) Config {
		cfg := DefaultConfig()
		cfg.CORS.AllowedOrigins = o
		cfg.CORS.AllowedHeaders = []string{"Authorization", "X-Scope-OrgID"}
		return cfg
	}
	tests := []struct {
		name       string
		cfg        Config
		method     string
		origin     string
		preflight  bool
		wantStatus int
		wantOrigin string // Access-Control-Allow-Origin; "" means absent
	}{
		{"off by default", DefaultConfig(), http.MethodGet, "https://grafana.example.com", false, 200, ""},
		{"simple request from an allowed origin", origins("https://grafana.example.com"), http.MethodGet, "https://grafana.example.com", false, 200, "https://grafana.example.com"},
		{"simple request from another origin", origins("https://grafana.example.com"), http.MethodGet, "https://evil.example.com", false, 200, ""},
		{"any origin", origins("*"), http.MethodGet, "https://x.example.com", false, 200, "*"},
		{"same-origin request (no Origin)", origins("*"), http.MethodGet, "", false, 200, ""},
		{"preflight from an allowed origin", origins("https://grafana.example.com"), http.MethodOptions, "https://grafana.example.com", true, 204, "https://grafana.example.com"},
		{"preflight from another origin is not answered", origins("https://grafana.example.com"), http.MethodOptions, "https://evil.example.com", true, 405, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newMWEnv(t, tt.cfg, mwServices)
			h := http.Header{}
			if tt.origin != "" {
				h.Set("Origin", tt.origin)
			}
			if tt.preflight {
				h.Set("Access-Control-Request-Method", "GET")
				h.Set("Access-Control-Request-Headers", "authorization")
			}
			ans := e.do(tt.method, "/api/services", h)
			if ans.status != tt.wantStatus {
				t.Errorf("status %d, want %d: %s", ans.status, tt.wantStatus, ans.body)
			}
			if got := ans.header.Get("Access-Control-Allow-Origin"); got != tt.wantOrigin {
				t.Errorf("Access-Control-Allow-Origin %q, want %q", got, tt.wantOrigin)
			}
			if tt.origin != "" && len(tt.cfg.CORS.AllowedOrigins) > 0 && ans.header.Get("Vary") != "Origin" {
				t.Errorf("Vary %q, want Origin (caches must key on it)", ans.header.Get("Vary"))
			}
			if tt.wantOrigin == "" {
				return
			}
			if got := ans.header.Get("Access-Control-Expose-Headers"); got != RequestIDHeader {
				t.Errorf("Access-Control-Expose-Headers %q", got)
			}
			if tt.preflight {
				for k, want := range map[string]string{
					"Access-Control-Allow-Methods": "GET, POST, OPTIONS",
					"Access-Control-Allow-Headers": "Authorization, X-Scope-OrgID",
					"Access-Control-Max-Age":       "600",
				} {
					if got := ans.header.Get(k); got != want {
						t.Errorf("%s %q, want %q", k, got, want)
					}
				}
			}
		})
	}
}

func TestAPIBasePath(t *testing.T) {
	cfg := DefaultConfig()
	cfg.BasePath = "/tracer"
	reg := prometheus.NewRegistry()
	e := newMWEnv(t, cfg, mwServices, WithRegisterer(reg))
	tests := []struct {
		path   string
		status int
		body   string
	}{
		{"/tracer/api/services", 200, `"data":["a"]`},
		{"/tracer/api/nope", 404, `"msg":"no API route /api/nope"`},
		{"/tracer/", 200, "<h1>Tracer</h1>"},
		{"/api/services", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			ans := e.get(tt.path)
			if ans.status != tt.status || !strings.Contains(string(ans.body), tt.body) {
				t.Errorf("%d %s, want %d with %s", ans.status, ans.body, tt.status, tt.body)
			}
		})
	}
	if got := mwCounter(t, reg, "GET /api/services", "200"); got != 1 {
		t.Errorf("route label under a base path: count %v, want 1 for GET /api/services", got)
	}
}

// mwCounter returns tracer_query_requests_total{route, code}.
func mwCounter(t *testing.T, reg *prometheus.Registry, route, code string) float64 {
	t.Helper()
	for _, m := range mwFamily(t, reg, "tracer_query_requests_total") {
		if mwLabel(m, "route") == route && mwLabel(m, "code") == code {
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

func mwFamily(t *testing.T, reg *prometheus.Registry, name string) []*dto.Metric {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() == name {
			return f.GetMetric()
		}
	}
	return nil
}

func mwLabel(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func TestAPIMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	e := newMWEnv(t, DefaultConfig(), mwServices, WithRegisterer(reg))
	for _, p := range []string{"/api/services", "/api/services", "/api/traces?limit=x", "/api/traces/zz", "/api/nope", "/"} {
		e.get(p)
	}
	tests := []struct {
		route, code string
		want        float64
	}{
		{"GET /api/services", "200", 2},
		{"GET /api/traces", "400", 1},
		{"GET /api/traces/{traceID}", "400", 1},
		{"/", "404", 1}, // the catch-all answers unknown /api/ paths
		{"/", "200", 1}, // and serves the UI
	}
	for _, tt := range tests {
		if got := mwCounter(t, reg, tt.route, tt.code); got != tt.want {
			t.Errorf("requests_total{route=%q,code=%q} = %v, want %v", tt.route, tt.code, got, tt.want)
		}
	}
	var count uint64
	for _, m := range mwFamily(t, reg, "tracer_query_request_duration_seconds") {
		if mwLabel(m, "route") == "GET /api/services" {
			count = m.GetHistogram().GetSampleCount()
		}
	}
	if count != 2 {
		t.Errorf("request_duration_seconds{route=GET /api/services} count %d, want 2", count)
	}
	t.Run("one registry, one API", func(t *testing.T) {
		if _, err := New(e.api.store, DefaultConfig(), nil, WithRegisterer(reg)); err == nil {
			t.Error("a second API registered the same metrics on the same registry")
		}
	})
}

func TestAPIConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(c *Config)
		want string // "" means valid
	}{
		{"default", func(c *Config) {}, ""},
		{"zero max_trace_ids means the default", func(c *Config) { c.MaxTraceIDs = 0 }, ""},
		{"origins", func(c *Config) {
			c.CORS.AllowedOrigins = []string{"*", "https://a.example.com", "http://localhost:3000"}
		}, ""},
		{"max_lookback", func(c *Config) { c.MaxLookback = 0 }, "max_lookback"},
		{"request_timeout", func(c *Config) { c.RequestTimeout = -time.Second }, "request_timeout"},
		{"base_path without slash", func(c *Config) { c.BasePath = "tracer" }, "base_path"},
		{"base_path with trailing slash", func(c *Config) { c.BasePath = "/tracer/" }, "base_path"},
		{"negative max_trace_ids", func(c *Config) { c.MaxTraceIDs = -1 }, "max_trace_ids"},
		{"origin with a path", func(c *Config) { c.CORS.AllowedOrigins = []string{"https://a.example.com/ui"} }, "cors.allowed_origins"},
		{"origin without scheme", func(c *Config) { c.CORS.AllowedOrigins = []string{"a.example.com"} }, "cors.allowed_origins"},
		{"header with a space", func(c *Config) { c.CORS.AllowedHeaders = []string{"X Bad"} }, "cors.allowed_headers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.edit(&c)
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("error %v, want none", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error %v, want one about %s", err, tt.want)
			}
			if tt.want != "" {
				if _, err := New(nil, c, nil); err == nil {
					t.Error("New accepted the invalid config")
				}
			}
		})
	}
}

func TestAPIUI(t *testing.T) {
	t.Run("placeholder", func(t *testing.T) {
		e := newMWEnv(t, DefaultConfig(), mwServices)
		for _, p := range []string{"/", "/search", "/trace/abc"} {
			ans := e.get(p)
			body := string(ans.body)
			if ans.status != 200 || !strings.HasPrefix(ans.header.Get("Content-Type"), "text/html") {
				t.Errorf("%s: %d %q", p, ans.status, ans.header.Get("Content-Type"))
			}
			for _, want := range []string{"built without the web UI", "make ui", "Jaeger UI", "Grafana"} {
				if !strings.Contains(body, want) {
					t.Errorf("%s: page does not say %q", p, want)
				}
			}
		}
	})
	t.Run("a built UI is served outside /api/ only", func(t *testing.T) {
		ui := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("the ui at " + r.URL.Path)) })
		e := newMWEnv(t, DefaultConfig(), mwServices, WithUI(ui))
		if ans := e.get("/trace/abc"); string(ans.body) != "the ui at /trace/abc" {
			t.Errorf("UI: %s", ans.body)
		}
		if ans := e.get("/api/nope"); ans.status != http.StatusNotFound || ans.json == nil {
			t.Errorf("/api/nope: %d %s", ans.status, ans.body)
		}
		if ans := e.get("/apix"); string(ans.body) != "the ui at /apix" {
			t.Errorf("/apix: %s", ans.body)
		}
	})
}

// TestWriteErrorNoRoute checks writeError's choice of shape without a
// server (the recorder sees exactly what a client would).
func TestAPIWriteErrorNoRoute(t *testing.T) {
	a, err := New(nil, DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	a.writeError(rec, httptest.NewRequest(http.MethodGet, "/api/v3/traces", nil), badParam("query.start_time_min", "x", "an RFC 3339 time"))
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `"httpCode":400`) {
		t.Errorf("%d %s", rec.Code, rec.Body)
	}
}
