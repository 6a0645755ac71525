package query

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tracerdev/tracer/storage"
)

// The parameters of Jaeger's v3 HTTP API, as Jaeger v2.20 parses them
// (cmd/jaeger/internal/extension/jaegerquery/internal/apiv3/query_parser.go
// and http_gateway.go): each has its proto3 JSON (camelCase) name and the
// snake_case name Jaeger keeps as a deprecated alias; the camelCase one wins
// when both are sent.
type v3Param struct{ name, alias string }

var (
	v3StartTime     = v3Param{"startTime", "start_time"}
	v3EndTime       = v3Param{"endTime", "end_time"}
	v3RawTraces     = v3Param{"rawTraces", "raw_traces"}
	v3SpanKind      = v3Param{"spanKind", "span_kind"}
	v3Service       = v3Param{"query.serviceName", "query.service_name"}
	v3OperationName = v3Param{"query.operationName", "query.operation_name"}
	v3TimeMin       = v3Param{"query.startTimeMin", "query.start_time_min"}
	v3TimeMax       = v3Param{"query.startTimeMax", "query.start_time_max"}
	v3SearchDepth   = v3Param{"query.searchDepth", "query.search_depth"}
	v3DurationMin   = v3Param{"query.durationMin", "query.duration_min"}
	v3DurationMax   = v3Param{"query.durationMax", "query.duration_max"}
	v3QueryRaw      = v3Param{"query.rawTraces", "query.raw_traces"}
	v3NumTraces     = "query.num_traces" // Jaeger's older alias of query.searchDepth
	v3AttributesArg = "query.attributes"
)

// v3DefaultSearchDepth is the number of traces a search returns without
// query.searchDepth (Jaeger's defaultSearchDepth).
const v3DefaultSearchDepth = 100

// get returns the parameter's value and the name it was sent under.
func (p v3Param) get(q url.Values) (value, name string) {
	if v := q.Get(p.name); v != "" {
		return v, p.name
	}
	return q.Get(p.alias), p.alias
}

// parseV3Time parses an RFC 3339 time, fractional seconds allowed. A space
// where the zone offset's "+" belongs is read as "+": Grafana's Jaeger data
// source (pkg/tsdb/jaeger/grpc_client.go) appends the times to the query
// unescaped, and a query string's "+" decodes to a space.
func parseV3Time(name, v string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil && strings.Count(v, " ") == 1 {
		t, err = time.Parse(time.RFC3339Nano, strings.Replace(v, " ", "+", 1))
	}
	if err != nil {
		return time.Time{}, badParam(name, v, "an RFC 3339 time such as 2006-01-02T15:04:05.999Z")
	}
	return t.UTC(), nil
}

// parseV3Bool parses a boolean as Jaeger does (strconv.ParseBool).
func parseV3Bool(name, v string) (bool, error) {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, badParam(name, v, "true or false")
	}
	return b, nil
}

// parseV3TraceID parses a trace id as Jaeger's TraceIDFromString does: hex
// (1 to 32 digits, shorter ids left-padded) or, failing that, the id's 16
// (or 8) bytes in standard or URL-safe base64, padded or not.
func parseV3TraceID(s string) (storage.TraceID, error) {
	const want = "a trace id: 1 to 32 hex digits, or its 16 bytes in base64"
	if id, err := storage.ParseTraceID(s); err == nil {
		return id, nil
	}
	if len(s) > 0 && len(s) <= 24 {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
			b, err := enc.DecodeString(s)
			if err != nil || (len(b) != 16 && len(b) != 8) {
				continue
			}
			var id storage.TraceID
			copy(id[16-len(b):], b)
			if id.IsZero() {
				break
			}
			return id, nil
		}
	}
	return storage.TraceID{}, badParam("trace_id", s, want)
}

// parseV3Kind parses a span kind name (any case); "" is any kind.
func parseV3Kind(name, v string) (storage.SpanKind, error) {
	k, err := storage.ParseSpanKind(strings.ToLower(v))
	if err != nil {
		return 0, badParam(name, v, "one of internal, server, client, producer, consumer, unspecified")
	}
	return k, nil
}

// v3Search is a parsed search: the storage query.
type v3Search struct {
	q storage.Query
}

// parseV3Search parses the parameters of /api/v3/traces and
// /api/v3/trace-summaries (Jaeger's parseFindTracesQuery). maxLookback caps
// the time range.
func parseV3Search(q url.Values, maxLookback time.Duration) (v3Search, error) {
	var s v3Search
	s.q.Service, _ = v3Service.get(q)
	s.q.Operation, _ = v3OperationName.get(q)

	if v := q.Get(v3AttributesArg); v != "" {
		attrs, err := parseV3Attributes(v)
		if err != nil {
			return s, err
		}
		if err := applyTags(&s.q, v3AttributesArg, attrs); err != nil {
			return s, err
		}
	}

	minStr, minName := v3TimeMin.get(q)
	maxStr, maxName := v3TimeMax.get(q)
	if minStr == "" {
		return s, badParam(v3TimeMin.name, "", "an RFC 3339 time (it is required, as is "+v3TimeMax.name+")")
	}
	if maxStr == "" {
		return s, badParam(v3TimeMax.name, "", "an RFC 3339 time (it is required, as is "+v3TimeMin.name+")")
	}
	tmin, err := parseV3Time(minName, minStr)
	if err != nil {
		return s, err
	}
	tmax, err := parseV3Time(maxName, maxStr)
	if err != nil {
		return s, err
	}
	if !tmin.Before(tmax) {
		return s, badParam(maxName, maxStr, "a time after "+minName+"="+minStr)
	}
	if span := tmax.Sub(tmin); span > maxLookback {
		return s, badParam(minName, minStr, fmt.Sprintf("a time range of at most %s (the server's max lookback); this one is %s", maxLookback, span))
	}
	s.q.StartMin, s.q.StartMax = tmin, tmax

	n, nName := v3SearchDepth.get(q)
	if n == "" {
		n, nName = q.Get(v3NumTraces), v3NumTraces
	}
	s.q.Limit = v3DefaultSearchDepth
	if n != "" {
		depth, err := strconv.Atoi(n)
		if err != nil || depth < 0 {
			return s, badParam(nName, n, "a non-negative integer")
		}
		if depth > 0 {
			s.q.Limit = depth
		}
	}

	for _, d := range []struct {
		p   v3Param
		dst *time.Duration
	}{{v3DurationMin, &s.q.DurationMin}, {v3DurationMax, &s.q.DurationMax}} {
		v, name := d.p.get(q)
		if v == "" {
			continue
		}
		dur, err := parseDuration(name, v)
		if err != nil {
			return s, err
		}
		*d.dst = dur
	}
	if s.q.DurationMax > 0 && s.q.DurationMin > s.q.DurationMax {
		v, name := v3DurationMax.get(q)
		return s, badParam(name, v, "a duration no shorter than "+v3DurationMin.name)
	}
	if v, name := v3QueryRaw.get(q); v != "" {
		if _, err := parseV3Bool(name, v); err != nil {
			return s, err
		}
	}
	return s, nil
}

// parseV3Attributes parses query.attributes: a JSON object of attribute
// values. Jaeger accepts only strings; numbers and booleans are taken too,
// in the canonical string form storage compares (see storage.Attribute).
func parseV3Attributes(v string) (map[string]string, error) {
	const want = `a JSON object of attribute values, such as {"http.method":"GET"}`
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(v), &raw); err != nil || raw == nil {
		return nil, badParam(v3AttributesArg, v, want)
	}
	attrs := make(map[string]string, len(raw))
	for k, rv := range raw {
		switch {
		case len(rv) > 0 && rv[0] == '"':
			var s string
			if err := json.Unmarshal(rv, &s); err != nil {
				return nil, badParam(v3AttributesArg, v, want)
			}
			attrs[k] = s
		case bytes.Equal(rv, []byte("true")), bytes.Equal(rv, []byte("false")):
			attrs[k] = string(rv)
		case len(rv) > 0 && (rv[0] == '-' || rv[0] >= '0' && rv[0] <= '9'):
			if n, err := strconv.ParseInt(string(rv), 10, 64); err == nil {
				attrs[k] = strconv.FormatInt(n, 10)
			} else if f, err := strconv.ParseFloat(string(rv), 64); err == nil {
				attrs[k] = strconv.FormatFloat(f, 'g', -1, 64)
			} else {
				return nil, badParam(v3AttributesArg, v, want)
			}
		default:
			return nil, badParam(v3AttributesArg, v+" (key "+k+")", "string, number or boolean values")
		}
	}
	return attrs, nil
}
