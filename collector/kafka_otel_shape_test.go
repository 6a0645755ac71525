package collector

import (
	"encoding/hex"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// OTelExporterMessages is otelExporterMessages for the external tests.
var OTelExporterMessages = otelExporterMessages

// otelExporterMessages is what the OpenTelemetry Collector's kafka
// exporter produces for td with encoding otlp_proto and
// partition_traces_by_id (exporter/kafkaexporter/kafka_exporter.go
// partitionData; pkg/batchpersignal/batchpersignal.go SplitTraces; the
// key traceutil.TraceIDToHexOrEmptyString; the value
// ptrace.ProtoMarshaler's, internal/marshaler/pdata_marshaler.go).
func otelExporterMessages(t testing.TB, td ptrace.Traces) (keys []string, values [][]byte) {
	t.Helper()
	for i := 0; i < td.ResourceSpans().Len(); i++ {
		rs := td.ResourceSpans().At(i)
		for j := 0; j < rs.ScopeSpans().Len(); j++ {
			ss := rs.ScopeSpans().At(j)
			batches := map[pcommon.TraceID]ptrace.ResourceSpans{}
			var order []ptrace.Traces
			for k := 0; k < ss.Spans().Len(); k++ {
				sp := ss.Spans().At(k)
				nrs, ok := batches[sp.TraceID()]
				if !ok {
					part := ptrace.NewTraces()
					nrs = part.ResourceSpans().AppendEmpty()
					rs.Resource().CopyTo(nrs.Resource())
					nrs.SetSchemaUrl(rs.SchemaUrl())
					nss := nrs.ScopeSpans().AppendEmpty()
					ss.Scope().CopyTo(nss.Scope())
					nss.SetSchemaUrl(ss.SchemaUrl())
					batches[sp.TraceID()] = nrs
					order = append(order, part)
				}
				sp.CopyTo(nrs.ScopeSpans().At(0).Spans().AppendEmpty())
			}
			for _, part := range order {
				v, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(part)
				if err != nil {
					t.Fatal(err)
				}
				id := part.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).TraceID()
				keys = append(keys, hex.EncodeToString(id[:]))
				values = append(values, v)
			}
		}
	}
	return keys, values
}
