package interceptors

import (
	otelprop "go.opentelemetry.io/otel/propagation"
	"google.golang.org/grpc/metadata"
)

// mdCarrier adapts gRPC metadata to a TextMapCarrier. Keys are lowercase in
// gRPC metadata, as the propagators write them.
type mdCarrier metadata.MD

var _ otelprop.TextMapCarrier = mdCarrier(nil)

func (c mdCarrier) Get(key string) string {
	if v := metadata.MD(c).Get(key); len(v) > 0 {
		return v[0]
	}
	return ""
}

func (c mdCarrier) Set(key, value string) { metadata.MD(c).Set(key, value) }

func (c mdCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}

// single is a carrier holding one header value.
type single struct{ key, value string }

func (s *single) Get(key string) string {
	if key == s.key {
		return s.value
	}
	return ""
}
func (s *single) Set(key, value string) { s.key, s.value = key, value }
func (s *single) Keys() []string        { return []string{s.key} }
