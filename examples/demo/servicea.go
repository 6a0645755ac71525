package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/tracerdev/tracer/examples/demo/demopb"
	"github.com/tracerdev/tracer/interceptors"
	"github.com/tracerdev/tracer/interceptors/httpclock"
)

// ServiceAConfig configures service-a, the HTTP gateway.
type ServiceAConfig struct {
	Telemetry
	// ServiceB is the address of service-b (host:port).
	ServiceB string
	// Timeout bounds each call to service-b (default 5s); past it the
	// answer is a 504.
	Timeout time.Duration
	// Logger gets the start-up line and shutdown problems (nil:
	// slog.Default); failed calls to service-b are logged at Debug.
	Logger *slog.Logger
}

// The limits of service-a's input; longer is a 400.
const (
	maxQueryLen = 256  // bytes of q
	maxDataLen  = 4096 // bytes of data
	searchLimit = 10   // results asked of service-b
)

// DefaultServiceATimeout bounds each call to service-b when
// ServiceAConfig leaves Timeout 0.
const DefaultServiceATimeout = 5 * time.Second

// Validate reports what is wrong with c.
func (c ServiceAConfig) Validate() error {
	var errs []error
	if c.ServiceB == "" {
		errs = append(errs, errors.New("no service-b address"))
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout %s: want 0 (the default) or more", c.Timeout))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("service-a: %w", err)
	}
	return nil
}

// RunServiceA serves service-a's HTTP API on lis until ctx is done, then
// shuts down gracefully and flushes its spans.
//
// GET /api/v1/search?q= calls Business.Search and GET /api/v1/process?data=
// Business.Process on service-b; both answer JSON, errors as
// {"error": "..."} with a 400 for bad input and, for a failed call to
// service-b, 503 (Unavailable), 400 (InvalidArgument), 504
// (DeadlineExceeded) or 502. GET /healthz answers "ok" and is not traced,
// nor are other paths (the ServeMux's 404 or 405).
// Each API route is wrapped in its own otelhttp handler with Tracer's clock
// (httpclock.NewHandler) inside the ServeMux, so that its server span is
// named after the route ("GET /api/v1/search") and has http.route; the call
// to service-b goes through Tracer's gRPC client stats handler. RunServiceA
// closes lis. It returns nil on a clean stop.
func RunServiceA(ctx context.Context, lis net.Listener, cfg ServiceAConfig) error {
	if err := cfg.Validate(); err != nil {
		_ = lis.Close()
		return err
	}
	log := logger(cfg.Logger)
	tp, err := NewProvider(ctx, "service-a", cfg.Telemetry)
	if err != nil {
		_ = lis.Close()
		return err
	}
	conn, err := grpc.NewClient(cfg.ServiceB,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithStatsHandler(interceptors.NewClientHandler(
			interceptors.WithTracerProvider(tp),
			interceptors.WithPropagators(Propagator()),
		)),
	)
	if err != nil {
		_ = lis.Close()
		return errors.Join(fmt.Errorf("service-a: service-b client: %w", err), shutdownProvider(tp))
	}

	gw := &gateway{
		business: demopb.NewBusinessClient(conn),
		timeout:  orDefault(cfg.Timeout, DefaultServiceATimeout),
		log:      log,
	}
	srv := &http.Server{
		Handler:           gw.routes(tp),
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("service-a listening", "addr", "http://"+lis.Addr().String(), "service-b", cfg.ServiceB, "spans", cfg.Telemetry.destination())

	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-served: // the listener failed
	}

	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopTimeout)
	defer cancel()
	var errs []error
	if serveErr != nil {
		errs = append(errs, fmt.Errorf("serve: %w", serveErr))
		_ = srv.Close()
	} else {
		if err := srv.Shutdown(sctx); err != nil {
			errs = append(errs, fmt.Errorf("shutdown: %w", err))
			_ = srv.Close()
		}
		<-served // http.ErrServerClosed
	}
	if err := conn.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close service-b client: %w", err))
	}
	errs = append(errs, shutdownProvider(tp))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("service-a: %w", err)
	}
	return nil
}

// gateway is service-a's HTTP API.
type gateway struct {
	business demopb.BusinessClient
	timeout  time.Duration
	log      *slog.Logger
}

// routes is service-a's handler: each API route traced on its own (span
// name and http.route from its pattern), /healthz untraced.
func (g *gateway) routes(tp trace.TracerProvider) http.Handler {
	mux := http.NewServeMux()
	handle := func(pattern string, h http.HandlerFunc) {
		mux.Handle(pattern, httpclock.NewHandler(h, pattern,
			otelhttp.WithTracerProvider(tp),
			otelhttp.WithPropagators(Propagator()),
		))
	}
	handle("GET /api/v1/search", g.search)
	handle("GET /api/v1/process", g.process)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	return mux
}

// searchAnswer is the JSON answer of GET /api/v1/search.
type searchAnswer struct {
	Query   string         `json:"query"`
	Results []recordAnswer `json:"results"`
}

type recordAnswer struct {
	Key     string `json:"key"`
	Value   string `json:"value"`
	Version int64  `json:"version"`
}

// processAnswer is the JSON answer of GET /api/v1/process.
type processAnswer struct {
	JobID    string `json:"job_id"`
	Attempts int32  `json:"attempts"`
}

// errorAnswer is the JSON answer of every error.
type errorAnswer struct {
	Error string `json:"error"`
}

func (g *gateway) search(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query().Get("q")
	if msg := checkParam("q", q, maxQueryLen); msg != "" {
		writeJSON(w, http.StatusBadRequest, errorAnswer{Error: msg})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), g.timeout)
	defer cancel()
	resp, err := g.business.Search(ctx, &demopb.SearchRequest{Query: q, Limit: searchLimit})
	if err != nil {
		g.fail(w, r, err)
		return
	}
	ans := searchAnswer{Query: q, Results: make([]recordAnswer, 0, len(resp.GetResults()))}
	for _, rec := range resp.GetResults() {
		ans.Results = append(ans.Results, recordAnswer{Key: rec.GetKey(), Value: rec.GetValue(), Version: rec.GetVersion()})
	}
	writeJSON(w, http.StatusOK, ans)
}

func (g *gateway) process(w http.ResponseWriter, r *http.Request) {
	data := r.URL.Query().Get("data")
	if msg := checkParam("data", data, maxDataLen); msg != "" {
		writeJSON(w, http.StatusBadRequest, errorAnswer{Error: msg})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), g.timeout)
	defer cancel()
	resp, err := g.business.Process(ctx, &demopb.ProcessRequest{Data: data})
	if err != nil {
		g.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, processAnswer{JobID: resp.GetJobId(), Attempts: resp.GetAttempts()})
}

// checkParam says what is wrong with a required query parameter, or "".
func checkParam(name, v string, maxLen int) string {
	switch {
	case v == "":
		return fmt.Sprintf("missing query parameter %s", name)
	case len(v) > maxLen:
		return fmt.Sprintf("query parameter %s is %d bytes long, the limit is %d", name, len(v), maxLen)
	case !utf8.ValidString(v):
		return fmt.Sprintf("query parameter %s is not valid UTF-8", name)
	}
	return ""
}

// fail answers a failed call to service-b.
func (g *gateway) fail(w http.ResponseWriter, r *http.Request, err error) {
	st := status.Convert(err)
	code := httpStatus(st.Code())
	msg := "service-b: " + st.Message()
	if st.Code() == codes.InvalidArgument {
		msg = st.Message()
	}
	// Debug: with the demo's error rate, a line per failure would be noise;
	// the span has the error.
	g.log.Debug("service-b call failed", "path", r.URL.Path, "code", st.Code().String(), "status", code, "err", st.Message())
	writeJSON(w, code, errorAnswer{Error: msg})
}

// httpStatus maps the gRPC code of a failed call to service-b to the
// gateway's HTTP status.
func httpStatus(c codes.Code) int {
	switch c {
	case codes.Unavailable:
		return http.StatusServiceUnavailable
	case codes.InvalidArgument:
		return http.StatusBadRequest
	case codes.DeadlineExceeded:
		return http.StatusGatewayTimeout
	default:
		return http.StatusBadGateway
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil { // only strings and numbers: cannot happen
		code, b = http.StatusInternalServerError, []byte(`{"error":"encode answer"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}
