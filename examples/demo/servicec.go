package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"time"

	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tracerdev/tracer/examples/demo/demopb"
	"github.com/tracerdev/tracer/interceptors"
)

// The rates the service-c command uses unless told otherwise. A
// ServiceCConfig's zero rates mean a database that never fails nor stalls.
const (
	DefaultErrorRate = 0.02
	DefaultSlowRate  = 0.01
)

// ServiceCConfig configures service-c, the data service.
type ServiceCConfig struct {
	Telemetry
	// ErrorRate is the share of database queries that fail (Unavailable),
	// from 0 (none, the zero value) to 1 (all).
	ErrorRate float64
	// SlowRate is the share of database queries that are slow (hundreds of
	// milliseconds instead of a few), from 0 to 1.
	SlowRate float64
	// Rand, when set, draws the simulation's uniform numbers in [0, 1)
	// instead of math/rand/v2's Float64, so that tests decide which queries
	// fail or stall. It is called concurrently. Each database query draws
	// three numbers in order: failure (below ErrorRate fails), slowness
	// (below SlowRate is slow) and the latency's quantile.
	Rand   func() float64
	Logger *slog.Logger
}

// Validate reports what is wrong with c.
func (c ServiceCConfig) Validate() error {
	var errs []error
	if !(c.ErrorRate >= 0 && c.ErrorRate <= 1) {
		errs = append(errs, fmt.Errorf("error rate %v: want 0 to 1", c.ErrorRate))
	}
	if !(c.SlowRate >= 0 && c.SlowRate <= 1) {
		errs = append(errs, fmt.Errorf("slow rate %v: want 0 to 1", c.SlowRate))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("service-c: %w", err)
	}
	return nil
}

// RunServiceC serves service-c's gRPC Data service on lis until ctx is done,
// then stops gracefully and flushes its spans.
//
// Its spans, under the server span of each call
// ("tracer.examples.demo.v1.Data/Get", ".../Put", ".../Scan"):
//   - "cache.get" (internal; cache.hit) for a Get;
//   - a database query, "SELECT records" or "INSERT records" (client;
//     db.system.name "other_sql", db.namespace, db.operation.name,
//     db.collection.name, db.query.text, db.response.returned_rows), for a
//     Get that missed the cache, a Put, and each page of 4 records of
//     a Scan. A failed query has status error, error.type "Unavailable" and
//     the error recorded, and the call fails with Unavailable.
//
// The database starts with the records word:0 to word:4 for each word of
// "alpha", "beta", "gamma", "delta", "example", "trace", "span", "clock",
// "cache", "query", "service" and "tracer".
func RunServiceC(ctx context.Context, lis net.Listener, cfg ServiceCConfig) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	log := logger(cfg.Logger)
	tp, err := NewProvider(ctx, "service-c", cfg.Telemetry)
	if err != nil {
		return err
	}
	draw := cfg.Rand
	if draw == nil {
		draw = rand.Float64
	}
	tracer := tp.Tracer("github.com/tracerdev/tracer/examples/demo/service-c")
	srv := grpc.NewServer(serverOptions(tp)...)
	demopb.RegisterDataServer(srv, &dataServer{
		tracer: tracer,
		cache:  newCache(cacheSize, cacheTTL),
		db:     newDatabase(tracer, cfg.ErrorRate, cfg.SlowRate, draw),
	})
	log.Info("service-c listening", "addr", lis.Addr().String(), "spans", cfg.Telemetry.destination())
	err = serve(ctx, srv, lis)
	return errors.Join(err, shutdownProvider(tp))
}

const (
	cacheSize = 1024
	cacheTTL  = 30 * time.Second
	// scanPage is how many rows one database query of a Scan fetches.
	scanPage = 4
	// scanMax bounds a Scan's records; a request's limit of 0 means
	// scanDefault.
	scanMax     = 100
	scanDefault = 10
)

// dataServer is service-c's Data service: a cache in front of a database.
type dataServer struct {
	demopb.UnimplementedDataServer
	tracer trace.Tracer
	cache  *cache
	db     *database
}

var _ demopb.DataServer = (*dataServer)(nil)

// Get reads a record through the cache. A key that is not there is not an
// error: the answer has no record.
func (s *dataServer) Get(ctx context.Context, req *demopb.GetRequest) (*demopb.GetResponse, error) {
	if req.GetKey() == "" {
		return nil, status.Error(codes.InvalidArgument, "get: empty key")
	}
	if rec, ok := s.cachedGet(ctx, req.GetKey()); ok {
		return &demopb.GetResponse{Record: rec, CacheHit: true}, nil
	}
	rec, err := s.db.get(ctx, req.GetKey())
	if err != nil {
		return nil, err
	}
	if rec != nil {
		s.cache.put(rec)
	}
	return &demopb.GetResponse{Record: rec}, nil
}

// cachedGet looks key up in the cache, in a span of its own.
func (s *dataServer) cachedGet(ctx context.Context, key string) (*demopb.Record, bool) {
	_, span := s.tracer.Start(ctx, "cache.get", trace.WithSpanKind(trace.SpanKindInternal))
	defer span.End()
	rec, ok := s.cache.get(key)
	span.SetAttributes(attribute.Bool("cache.hit", ok))
	return rec, ok
}

// Put writes a record to the database and drops it from the cache.
func (s *dataServer) Put(ctx context.Context, req *demopb.PutRequest) (*demopb.PutResponse, error) {
	rec := req.GetRecord()
	if rec.GetKey() == "" {
		return nil, status.Error(codes.InvalidArgument, "put: record without a key")
	}
	version, err := s.db.put(ctx, rec.GetKey(), rec.GetValue())
	if err != nil {
		return nil, err
	}
	s.cache.remove(rec.GetKey())
	return &demopb.PutResponse{Version: version}, nil
}

// Scan streams the records whose key starts with the prefix, in key order,
// reading them from the database a page at a time.
func (s *dataServer) Scan(req *demopb.ScanRequest, stream grpc.ServerStreamingServer[demopb.Record]) error {
	limit := int(req.GetLimit())
	switch {
	case limit < 0:
		return status.Errorf(codes.InvalidArgument, "scan: limit %d: want 0 or more", limit)
	case limit == 0:
		limit = scanDefault
	case limit > scanMax:
		limit = scanMax
	}
	ctx := stream.Context()
	after := ""
	for sent := 0; sent < limit; {
		page, err := s.db.scan(ctx, req.GetPrefix(), after, min(scanPage, limit-sent))
		if err != nil {
			return err
		}
		for _, rec := range page {
			if err := stream.Send(rec); err != nil {
				return err
			}
		}
		sent += len(page)
		if len(page) < scanPage {
			return nil
		}
		after = page[len(page)-1].GetKey()
	}
	return nil
}

// The database's latency: log-normal around a few milliseconds with a long
// tail (p99 about 4× the median), and slow queries in the hundreds.
const (
	dbMedian     = 3 * time.Millisecond
	dbSigma      = 0.6
	dbSlowMedian = 300 * time.Millisecond
	dbSlowSigma  = 0.3
)

// simulate waits as long as one query takes and says whether it failed.
func (d *database) simulate(ctx context.Context) error {
	failed := d.draw() < d.errorRate
	median, sigma := dbMedian, dbSigma
	if d.draw() < d.slowRate {
		median, sigma = dbSlowMedian, dbSlowSigma
	}
	latency := logNormal(median, sigma, d.draw())
	t := time.NewTimer(latency)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return status.FromContextError(ctx.Err()).Err()
	case <-t.C:
	}
	if failed {
		return status.Error(codes.Unavailable, "database unavailable")
	}
	return nil
}

// logNormal is the quantile u of the log-normal distribution with the given
// median and σ.
func logNormal(median time.Duration, sigma, u float64) time.Duration {
	u = min(max(u, 1e-9), 1-1e-9)
	z := math.Sqrt2 * math.Erfinv(2*u-1)
	return time.Duration(float64(median) * math.Exp(sigma*z))
}

// query runs one simulated query in a database client span with the
// database semantic conventions' attributes.
func (d *database) query(ctx context.Context, op, text string, run func() int) error {
	ctx, span := d.tracer.Start(ctx, op+" "+dbTable, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(
			semconv.DBSystemNameKey.String(dbSystem),
			semconv.DBNamespace(dbNamespace),
			semconv.DBOperationName(op),
			semconv.DBCollectionName(dbTable),
			semconv.DBQueryText(text),
		))
	defer span.End()
	if err := d.simulate(ctx); err != nil {
		span.RecordError(err)
		span.SetStatus(otelcodes.Error, err.Error())
		span.SetAttributes(semconv.ErrorTypeKey.String(status.Code(err).String()))
		return err
	}
	if rows := run(); rows >= 0 {
		span.SetAttributes(semconv.DBResponseReturnedRows(rows))
	}
	return nil
}

func serverOptions(tp trace.TracerProvider) []grpc.ServerOption {
	opts := interceptors.ServerOptions(interceptors.WithTracerProvider(tp), interceptors.WithPropagators(Propagator()))
	// Stop waits for the handlers it cancels, so that none outlives Run.
	return append(opts, grpc.WaitForHandlers(true))
}

// stopTimeout bounds each step of a service's shutdown: the graceful stop,
// the worker's drain, the spans' flush.
const stopTimeout = 5 * time.Second

// serve runs srv on lis until ctx is done or serving fails, then stops it:
// gracefully, or at once after stopTimeout.
func serve(ctx context.Context, srv *grpc.Server, lis net.Listener) error {
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	var err error
	select {
	case <-ctx.Done():
	case err = <-served:
		served <- err
	}
	stopped := make(chan struct{})
	go func() {
		srv.GracefulStop()
		close(stopped)
	}()
	t := time.NewTimer(stopTimeout)
	defer t.Stop()
	select {
	case <-stopped:
	case <-t.C:
		srv.Stop()
		<-stopped
	}
	if err = <-served; err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// shutdownProvider flushes the spans, bounded by stopTimeout.
func shutdownProvider(tp interface{ Shutdown(context.Context) error }) error {
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	if err := tp.Shutdown(ctx); err != nil {
		return fmt.Errorf("flush spans: %w", err)
	}
	return nil
}

func logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.Default()
	}
	return l
}

// destination says where the spans go, for the start-up log line.
func (t Telemetry) destination() string {
	switch {
	case t.Exporter != nil:
		return "in-process exporter"
	case t.Collector != "":
		return "otlp grpc " + t.Collector
	default:
		return "otlp grpc from OTEL_EXPORTER_OTLP_* (default localhost:4317)"
	}
}
