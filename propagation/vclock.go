package propagation

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"

	"github.com/tracerdev/tracer/internal/vcstate"
	"github.com/tracerdev/tracer/vclock"
)

// Header is the carrier key of the vector clock. gRPC metadata and HTTP
// headers both carry it in this lowercase form.
const Header = "tracer-vclock"

// VClock propagates the vector clock in Header. The zero value is not
// usable; create one with NewVClock. It is safe for concurrent use.
type VClock struct {
	limit    int
	rejected atomic.Uint64
	once     sync.Once
}

var _ propagation.TextMapPropagator = (*VClock)(nil)

// VClockOption configures a VClock.
type VClockOption interface{ apply(*VClock) }

type vclockOptionFunc func(*VClock)

func (f vclockOptionFunc) apply(v *VClock) { f(v) }

// WithMaxEntries lowers the largest clock accepted from a carrier (default
// and ceiling vclock.MaxLimit, the most any process may send); larger ones
// are dropped as oversized.
func WithMaxEntries(n int) VClockOption {
	return vclockOptionFunc(func(v *VClock) {
		if n > 0 {
			v.limit = n
		}
	})
}

// NewVClock returns a clock propagator.
func NewVClock(opts ...VClockOption) *VClock {
	v := &VClock{limit: vclock.MaxLimit}
	for _, o := range opts {
		o.apply(v)
	}
	return v
}

// Inject sets Header to the clock of a request made from ctx: the clock of
// ctx's span at its start (so the branches of a fan-out, each with its own
// client span, stay concurrent), else the process's clock for the trace,
// else a clock received in ctx passed on as it came. Without any it sets
// nothing.
func (v *VClock) Inject(ctx context.Context, carrier propagation.TextMapCarrier) {
	if text, ok := vcstate.RequestText(ctx); ok {
		carrier.Set(Header, text)
	}
}

// Extract returns ctx carrying the clock in carrier's Header. A missing
// header returns ctx as is; a malformed or oversized one too, and is counted
// (see Rejected) and reported once through otel.Handle.
func (v *VClock) Extract(ctx context.Context, carrier propagation.TextMapCarrier) context.Context {
	text := carrier.Get(Header)
	if text == "" {
		return ctx
	}
	if err := vclock.Validate(text, v.limit); err != nil {
		v.reject(err)
		return ctx
	}
	if c, ok := carrier.(vcstate.InboundCarrier); ok {
		if n := c.InboundContext(); n != nil {
			return n.Init(ctx, text) // memory the carrier's owner has per request
		}
	}
	return vcstate.WithInbound(ctx, text)
}

func (v *VClock) reject(err error) {
	v.rejected.Add(1)
	v.once.Do(func() {
		otel.Handle(fmt.Errorf("tracer: ignoring %s header (further ones are only counted): %w", Header, err))
	})
}

// Rejected returns how many malformed or oversized clock headers Extract
// and ExtractResponse ignored.
func (v *VClock) Rejected() uint64 { return v.rejected.Load() }

// Fields returns the header this propagator sets.
func (v *VClock) Fields() []string { return []string{Header} }

// InjectResponse sets Header in a response carrier to the process's current
// clock for the trace of ctx's span, so the client can merge everything the
// server did.
func (v *VClock) InjectResponse(ctx context.Context, carrier propagation.TextMapCarrier) {
	if text, ok := v.ResponseClock(ctx); ok {
		carrier.Set(Header, text)
	}
}

// ExtractResponse merges the clock in a response carrier into the clock of
// the caller's span in ctx, as a receive event of the caller's process. It
// reports whether a clock was merged.
func (v *VClock) ExtractResponse(ctx context.Context, carrier propagation.TextMapCarrier) bool {
	return v.MergeResponse(ctx, carrier.Get(Header))
}

// ResponseClock returns the text for Header in a response: the process's
// current clock for the trace of ctx's span. It is InjectResponse for
// callers that set the header themselves.
func (v *VClock) ResponseClock(ctx context.Context) (string, bool) {
	return vcstate.ResponseText(ctx)
}

// MergeResponse merges a clock text received in a response into the clock
// of the caller's span in ctx. It is ExtractResponse for callers that read
// the header themselves; malformed text is counted and ignored.
func (v *VClock) MergeResponse(ctx context.Context, text string) bool {
	if text == "" {
		return false
	}
	if err := vclock.Validate(text, v.limit); err != nil {
		v.reject(err)
		return false
	}
	return vcstate.Receive(ctx, text)
}
