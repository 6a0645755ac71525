package collector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/tracerdev/tracer/exporter/send"
	"github.com/tracerdev/tracer/wal"
)

// Forwarder sends an ExportTraceServiceRequest in protobuf wire form to a
// collector: *send.Sender is the one "tracer agent" uses. Send returns the
// accepting endpoint's result, an error for which send.IsPermanent holds
// (retrying cannot help), or another error, which is retried. It does not
// keep body after it returns and is safe for concurrent use.
type Forwarder interface {
	Send(ctx context.Context, body []byte, spans int) (send.Result, error)
}

var _ Forwarder = (*send.Sender)(nil)

// ForwardConfig configures a ForwardSink. Zero fields take defaults.
type ForwardConfig struct {
	// MaxRequestBytes bounds the body of one forwarded request: records are
	// concatenated up to it (a larger record goes alone). Default 4MiB, the
	// largest message a gRPC server (the OpenTelemetry Collector's
	// included) takes by default.
	MaxRequestBytes int
	// MaxRequestSpans bounds the spans of one forwarded request (a record
	// with more goes alone); default 8192.
	MaxRequestSpans int
	// Metrics are the sink's metrics; nil: metrics on a registry of their
	// own.
	Metrics *ForwardMetrics
}

func (c ForwardConfig) withDefaults() ForwardConfig {
	if c.MaxRequestBytes <= 0 {
		c.MaxRequestBytes = 4 << 20
	}
	if c.MaxRequestSpans <= 0 {
		c.MaxRequestSpans = 8192
	}
	if c.Metrics == nil {
		// A fresh registry cannot refuse them.
		c.Metrics, _ = NewForwardMetrics(prometheus.NewRegistry())
	}
	return c
}

// ForwardMetrics are a ForwardSink's metrics ("tracer agent"'s), registered
// once on the process's registry.
type ForwardMetrics struct {
	spans    *prometheus.CounterVec // endpoint
	requests *prometheus.CounterVec // endpoint
	bytes    *prometheus.CounterVec // endpoint
	dropped  *prometheus.CounterVec // reason
	failures prometheus.Counter
}

// Reasons a forwarded span is dropped, the "reason" label of
// tracer_agent_spans_dropped_total.
const (
	dropPermanent = "permanent_error" // the collector refused the request for good
	dropRejected  = "rejected"        // the collector's partial success rejected them
	dropMalformed = "malformed"       // a WAL record that is not an OTLP request
)

// NewForwardMetrics creates a ForwardSink's metrics and registers them on
// reg.
func NewForwardMetrics(reg prometheus.Registerer) (*ForwardMetrics, error) {
	const ns = "tracer_agent_"
	m := &ForwardMetrics{
		spans: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: ns + "spans_forwarded_total",
			Help: "Spans a collector accepted, by the collector (endpoint) that accepted them; rejected spans of a partial success are not counted here.",
		}, []string{"endpoint"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: ns + "requests_forwarded_total",
			Help: "Export requests a collector accepted, by endpoint.",
		}, []string{"endpoint"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: ns + "bytes_forwarded_total",
			Help: "Bytes of the export requests a collector accepted (uncompressed), by endpoint.",
		}, []string{"endpoint"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: ns + "spans_dropped_total",
			Help: "Acknowledged spans dropped instead of forwarded, by reason (permanent_error: a collector refused their request for good; rejected: a collector's partial success rejected them; malformed: a WAL record that is not an OTLP request).",
		}, []string{"reason"}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: ns + "forward_failures_total",
			Help: "Forwarding attempts that failed with a retryable error (every collector down, say): the spans stay in the WAL and are sent again.",
		}),
	}
	for _, c := range []prometheus.Collector{m.spans, m.requests, m.bytes, m.dropped, m.failures} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register agent metrics: %w", err)
		}
	}
	for _, r := range []string{dropPermanent, dropRejected, dropMalformed} {
		m.dropped.WithLabelValues(r) // present at 0
	}
	return m, nil
}

// ForwardSink is the Sink of "tracer agent": instead of storing spans it
// forwards the WAL's records (ExportTraceServiceRequests in protobuf wire
// form, as receivers stored them) to collectors through a Forwarder, as
// they are. Records are concatenated into requests of at most
// MaxRequestBytes and MaxRequestSpans: a concatenation of serialized
// ExportTraceServiceRequests is itself one, its resource_spans the
// concatenation of theirs (a repeated field).
//
// Only what retrying cannot change is dropped, and counted: the spans of a
// request a collector refuses for good (send.IsPermanent) and those its
// partial success rejects. A request of several records that is refused
// for good is sent again record by record, so that one bad record loses
// only its own spans. Any other error is returned, so the pipeline retries
// the flush and the WAL keeps the spans; the requests of the flush that
// were already accepted are not sent again.
//
// A ForwardSink is a Component: Shutdown closes the Forwarder when it has
// a Close method (as *send.Sender has), after the pipeline has drained.
type ForwardSink struct {
	f   Forwarder
	cfg ForwardConfig
	log *slog.Logger
	m   *ForwardMetrics

	recs  []fwdRecord
	spans int    // of recs
	done  int    // records of recs accepted (or dropped) by earlier requests of this flush
	alone int    // records before this index go one per request (after a permanent error)
	buf   []byte // the request being sent

	logMu   sync.Mutex
	lastLog time.Time // of the last drop logged: drops are logged at most every dropLogEvery
	unlog   int64     // spans dropped since then, not logged
}

// fwdRecord is a record of the pending batch. data is the WAL's, never
// modified (the pipeline keeps it until Flush succeeds).
type fwdRecord struct {
	data   []byte
	spans  int
	offset wal.Offset
}

// dropLogEvery spaces the logs of dropped spans: a collector that rejects
// every request does not flood the log (the metric counts each).
const dropLogEvery = 10 * time.Second

var (
	_ Sink      = (*ForwardSink)(nil)
	_ Component = (*ForwardSink)(nil)
)

// NewForwardSink returns a sink forwarding through f, which it owns: its
// Shutdown closes f when f has a Close method.
func NewForwardSink(f Forwarder, cfg ForwardConfig, set Settings) *ForwardSink {
	set = set.withDefaults()
	cfg = cfg.withDefaults()
	return &ForwardSink{f: f, cfg: cfg, log: set.Logger, m: cfg.Metrics}
}

// Add appends r to the batch. A record whose spans cannot be counted (not
// an OTLP request: the receivers' Scan accepted it, so damage that passed
// the WAL's checksum, or a bug) is dropped, logged and counted.
func (s *ForwardSink) Add(r wal.Record) int {
	n, err := countSpans(r.Data)
	if err != nil {
		s.log.Error("wal record is not an otlp request, dropping it", "offset", r.Offset, "bytes", len(r.Data), "err", err)
		s.m.dropped.WithLabelValues(dropMalformed).Inc()
		return s.spans
	}
	s.recs = append(s.recs, fwdRecord{data: r.Data, spans: n, offset: r.Offset})
	s.spans += n
	return s.spans
}

// Flush forwards the batch, in requests of consecutive records.
func (s *ForwardSink) Flush(ctx context.Context) error {
	for s.done < len(s.recs) {
		end := s.next()
		body, spans := s.request(s.done, end)
		res, err := s.f.Send(ctx, body, spans)
		switch {
		case err == nil:
			accepted := max(int64(spans)-max(res.Rejected, 0), 0)
			s.m.spans.WithLabelValues(res.Endpoint).Add(float64(accepted))
			s.m.requests.WithLabelValues(res.Endpoint).Inc()
			s.m.bytes.WithLabelValues(res.Endpoint).Add(float64(len(body)))
			if res.Rejected > 0 {
				s.drop(dropRejected, int64(spans)-accepted, "a collector's partial success rejected spans, dropped them (retrying cannot help)",
					"endpoint", res.Endpoint, "message", res.Message)
			}
		case send.IsPermanent(err) && end-s.done > 1:
			// Find the records it is about: one request each.
			s.alone = end
			continue
		case send.IsPermanent(err):
			s.drop(dropPermanent, int64(spans), "a collector refused a request for good, dropped its spans (retrying cannot help)",
				"offset", s.recs[s.done].offset, "bytes", len(body), "err", err)
		default:
			s.m.failures.Inc()
			if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
				err = fmt.Errorf("%w (%w)", ctx.Err(), err)
			}
			return fmt.Errorf("forward %d spans: %w", spans, err)
		}
		s.done = end
	}
	clear(s.recs) // let the WAL's buffers go
	s.recs, s.spans, s.done, s.alone = s.recs[:0], 0, 0, 0
	if cap(s.buf) > 2*s.cfg.MaxRequestBytes {
		s.buf = nil // a single large record made it grow: do not keep it
	}
	return nil
}

// next returns the end of the request that starts at s.done: as many
// records as MaxRequestBytes and MaxRequestSpans allow, at least one.
func (s *ForwardSink) next() int {
	end := s.done + 1
	if end <= s.alone {
		return end
	}
	bytes, spans := len(s.recs[s.done].data), s.recs[s.done].spans
	for ; end < len(s.recs); end++ {
		r := s.recs[end]
		if bytes+len(r.data) > s.cfg.MaxRequestBytes || spans+r.spans > s.cfg.MaxRequestSpans {
			break
		}
		bytes += len(r.data)
		spans += r.spans
	}
	return end
}

// request returns the body of records [from, end) and its spans: the
// record itself when it is alone (no copy), else their concatenation.
func (s *ForwardSink) request(from, end int) ([]byte, int) {
	if end-from == 1 {
		return s.recs[from].data, s.recs[from].spans
	}
	s.buf = s.buf[:0]
	spans := 0
	for _, r := range s.recs[from:end] {
		s.buf = append(s.buf, r.data...)
		spans += r.spans
	}
	return s.buf, spans
}

// drop counts n spans dropped for reason and logs it, at most every
// dropLogEvery (with the spans dropped meanwhile).
func (s *ForwardSink) drop(reason string, n int64, msg string, attrs ...any) {
	if n <= 0 {
		return
	}
	s.m.dropped.WithLabelValues(reason).Add(float64(n))
	s.logMu.Lock()
	defer s.logMu.Unlock()
	s.unlog += n
	if time.Since(s.lastLog) < dropLogEvery {
		return
	}
	s.log.Error(msg, append(attrs, "spans", s.unlog)...)
	s.lastLog, s.unlog = time.Now(), 0
}

// Start does nothing: the Forwarder connects on first use.
func (s *ForwardSink) Start(context.Context) error { return nil }

// Shutdown closes the Forwarder when it has a Close method. The pipeline
// has drained (or given up) by then.
func (s *ForwardSink) Shutdown(context.Context) error {
	if c, ok := s.f.(interface{ Close() error }); ok {
		if err := c.Close(); err != nil {
			return fmt.Errorf("close forwarder: %w", err)
		}
	}
	return nil
}

// OTLP field numbers of the messages countSpans walks
// (opentelemetry/proto/collector/trace/v1/trace_service.proto,
// opentelemetry/proto/trace/v1/trace.proto).
const (
	fwdResourceSpans = 1 // ExportTraceServiceRequest.resource_spans
	fwdScopeSpans    = 2 // ResourceSpans.scope_spans
	fwdSpans         = 2 // ScopeSpans.spans
)

// countSpans counts the spans of an ExportTraceServiceRequest in protobuf
// wire form without looking into them: the receivers validated the record
// before the WAL took it.
func countSpans(req []byte) (int, error) {
	n := 0
	err := eachField(req, fwdResourceSpans, func(rs []byte) error {
		return eachField(rs, fwdScopeSpans, func(ss []byte) error {
			return eachField(ss, fwdSpans, func([]byte) error {
				if n == math.MaxInt {
					return errors.New("too many spans")
				}
				n++
				return nil
			})
		})
	})
	return n, err
}

// eachField calls fn with the contents of each length-delimited field num
// of the message b, skipping the other fields; it fails on bad wire format
// or a field num that is not length-delimited.
func eachField(b []byte, num protowire.Number, fn func([]byte) error) error {
	for len(b) > 0 {
		n, t, l := protowire.ConsumeTag(b)
		if l < 0 {
			return protowire.ParseError(l)
		}
		b = b[l:]
		if n == num {
			if t != protowire.BytesType {
				return fmt.Errorf("field %d has wire type %d, want length-delimited", n, t)
			}
			v, l := protowire.ConsumeBytes(b)
			if l < 0 {
				return protowire.ParseError(l)
			}
			if err := fn(v); err != nil {
				return err
			}
			b = b[l:]
			continue
		}
		l = protowire.ConsumeFieldValue(n, t, b)
		if l < 0 {
			return protowire.ParseError(l)
		}
		b = b[l:]
	}
	return nil
}
