package query

import (
	"bytes"
	"math"
	"slices"
	"time"

	"github.com/tracerdev/tracer/storage"
)

var spmNaN = math.NaN()

// spmFamilyJSON is Jaeger's MetricFamily (internal/proto/metrics/
// openmetrics.proto) of GAUGE double points, as the SPM routes answer it.
type spmFamilyJSON struct {
	name    string
	help    string
	times   []time.Time // of every series' points
	metrics []spmSeriesJSON
}

// spmSeriesJSON is one Metric: its labels and the values at the family's
// times (none for a series without points).
type spmSeriesJSON struct {
	service   string
	operation string
	byOp      bool
	values    []float64
}

// appendJSON appends f as gogo's jsonpb.Marshaler (Jaeger's
// newProtoJSONMarshaler) writes it: camelCase names, the enum by name,
// empty fields left out except a oneof's value (so a doubleValue of 0 is
// written), "metrics": [] for no series (the Prometheus reader's slice is
// never nil), NaN as the string "NaN".
func (f *spmFamilyJSON) appendJSON(b []byte) []byte {
	// Every series has the family's times: format them once.
	stamps := make([]string, len(f.times))
	var sb []byte
	for i, t := range f.times {
		sb = appendProtoTimestamp(sb[:0], t)
		stamps[i] = string(sb)
	}
	b = slices.Grow(b, 128+len(f.metrics)*(128+len(f.times)*60))
	b = append(b, `{"name":`...)
	b = storage.AppendJSONString(b, f.name)
	b = append(b, `,"type":"GAUGE","help":`...)
	b = storage.AppendJSONString(b, f.help)
	b = append(b, `,"metrics":[`...)
	for i, m := range f.metrics {
		if i > 0 {
			b = append(b, ',')
		}
		// service_name first: the Jaeger UI reads labels[0] as the service.
		b = append(b, `{"labels":[{"name":"service_name","value":`...)
		b = storage.AppendJSONString(b, m.service)
		b = append(b, '}')
		if m.byOp {
			b = append(b, `,{"name":"operation","value":`...)
			b = storage.AppendJSONString(b, m.operation)
			b = append(b, '}')
		}
		b = append(b, ']')
		if len(m.values) > 0 {
			b = append(b, `,"metricPoints":[`...)
			for j, v := range m.values {
				if j > 0 {
					b = append(b, ',')
				}
				b = append(b, `{"gaugeValue":{"doubleValue":`...)
				b = storage.AppendJSONFloat(b, v)
				b = append(b, `},"timestamp":"`...)
				b = append(b, stamps[j]...)
				b = append(b, `"}`...)
			}
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	return append(b, "]}\n"...)
}

// appendProtoTimestamp appends t as jsonpb writes a google.protobuf.Timestamp:
// RFC 3339 in UTC with 0, 3, 6 or 9 fractional digits.
func appendProtoTimestamp(b []byte, t time.Time) []byte {
	b = t.UTC().AppendFormat(b, "2006-01-02T15:04:05.000000000")
	for _, zeros := range [...]string{"000", "000", ".000"} {
		if bytes.HasSuffix(b, []byte(zeros)) {
			b = b[:len(b)-len(zeros)]
		}
	}
	return append(b, 'Z')
}
