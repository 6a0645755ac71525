package send

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/gzip" // Compression: "gzip"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// exportMethod is OTLP's TraceService/Export.
const exportMethod = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"

// rawBody is a request already in wire form.
type rawBody []byte

// rawReply receives the response's wire bytes.
type rawReply struct{ b []byte }

// rawCodec is the client's pass-through codec: rawBody goes out as it is and
// the reply's bytes land in rawReply, decoded by parseResponse. Other
// messages (none today) go to the proto codec. It is forced per call, so it
// takes over nothing else in the process.
type rawCodec struct{ proto encoding.CodecV2 }

var _ encoding.CodecV2 = rawCodec{}

func (rawCodec) Name() string { return "proto" }

func (c rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	if b, ok := v.(rawBody); ok {
		return mem.BufferSlice{mem.SliceBuffer(b)}, nil
	}
	return c.proto.Marshal(v)
}

func (c rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if r, ok := v.(*rawReply); ok {
		r.b = data.Materialize()
		return nil
	}
	return c.proto.Unmarshal(data, v)
}

type grpcTransport struct {
	addr string
	conn *grpc.ClientConn
	md   metadata.MD
	opts []grpc.CallOption
}

func newGRPCTransport(ep Endpoint, cfg Config) (*grpcTransport, error) {
	creds := insecure.NewCredentials()
	if !ep.Insecure {
		creds = credentials.NewTLS(ep.TLS)
	}
	bo := backoff.DefaultConfig
	bo.BaseDelay = 100 * time.Millisecond
	// Reconnect at least as often as the breaker probes, so that a probe
	// finds a fresh connection attempt.
	bo.MaxDelay = min(max(cfg.Breaker.OpenFor, bo.BaseDelay), 5*time.Second)
	conn, err := grpc.NewClient(ep.Address,
		grpc.WithTransportCredentials(creds),
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: bo, MinConnectTimeout: cfg.Timeout}),
		grpc.WithUserAgent(userAgent),
	)
	if err != nil {
		return nil, fmt.Errorf("grpc client for %s: %w", ep.Address, err)
	}
	t := &grpcTransport{addr: ep.Address, conn: conn}
	t.opts = []grpc.CallOption{grpc.ForceCodecV2(rawCodec{proto: encoding.GetCodecV2("proto")})}
	if ep.Compression == "gzip" {
		t.opts = append(t.opts, grpc.UseCompressor("gzip"))
	}
	if len(ep.Headers) > 0 {
		t.md = metadata.New(ep.Headers)
	}
	return t, nil
}

func (t *grpcTransport) export(ctx context.Context, body []byte, probe bool) (int64, string, error) {
	if probe && t.conn.GetState() == connectivity.TransientFailure {
		// gRPC keeps reconnecting in the background (with a backoff no
		// longer than the breaker's OpenFor); a probe restarts that
		// backoff so that the next probe finds a fresh attempt. It does
		// not wait for it: a dead endpoint must not hold a Send.
		t.conn.ResetConnectBackoff()
	}
	if t.md != nil {
		if out, ok := metadata.FromOutgoingContext(ctx); ok {
			ctx = metadata.NewOutgoingContext(ctx, metadata.Join(t.md, out))
		} else {
			ctx = metadata.NewOutgoingContext(ctx, t.md)
		}
	}
	var reply rawReply
	err := t.conn.Invoke(ctx, exportMethod, rawBody(body), &reply, t.opts...)
	if err != nil {
		return 0, "", grpcError(err)
	}
	rejected, msg, err := parseResponse(reply.b)
	if err != nil {
		// The request was accepted; only its partial success is lost.
		return 0, "", nil
	}
	return rejected, msg, nil
}

// grpcError classifies an RPC's error as
// go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc/client.go
// (retryableGRPCStatus, throttleDelay) does: Canceled, DeadlineExceeded,
// Aborted, OutOfRange, Unavailable and DataLoss are retryable, with
// RetryInfo's delay if the status has one; ResourceExhausted only when the
// server attached a RetryInfo; anything else is permanent.
func grpcError(err error) error {
	s := status.Convert(err)
	delay, hasInfo := retryInfo(s)
	e := fmt.Errorf("grpc %s: %s", s.Code(), s.Message())
	switch s.Code() {
	case codes.Canceled, codes.DeadlineExceeded, codes.Aborted, codes.OutOfRange, codes.Unavailable, codes.DataLoss:
		return &retryableError{err: e, delay: delay}
	case codes.ResourceExhausted:
		if hasInfo {
			return &retryableError{err: e, delay: delay}
		}
	}
	return e
}

func retryInfo(s *status.Status) (time.Duration, bool) {
	for _, d := range s.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			return max(ri.GetRetryDelay().AsDuration(), 0), true
		}
	}
	return 0, false
}

func (t *grpcTransport) close() error {
	if err := t.conn.Close(); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}
