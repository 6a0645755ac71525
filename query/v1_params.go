package query

import (
	"encoding/json"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tracerdev/tracer/storage"
)

// Parameters of the v1 routes, as Jaeger v2.20 reads them
// (cmd/jaeger/internal/extension/jaegerquery/internal/query_parser.go and
// default_params.go): start and end in unix microseconds, minDuration and
// maxDuration as Go durations, endTs and lookback of /api/dependencies in
// milliseconds. Bad values are a *ParamError that names the parameter and
// what it takes, never a parser's text.

// Jaeger's defaults (default_params.go, query_parser.go).
const (
	v1DefaultSearchLookback     = 48 * time.Hour
	v1DefaultDependencyLookback = 24 * time.Hour
	v1DefaultLimit              = 100
)

// v1Search is a parsed GET /api/traces.
type v1Search struct {
	query storage.Query
	ids   []storage.TraceID // the traceID parameters: fetch these instead
	raw   bool
}

func (a *API) parseV1Search(q url.Values) (v1Search, error) {
	var s v1Search
	s.query.Service = q.Get("service")
	s.query.Operation = q.Get("operation")

	end, err := parseMicros(q, "end", a.now())
	if err != nil {
		return s, err
	}
	startName, startValue := "start", q.Get("start")
	start, err := parseMicros(q, "start", time.Time{})
	if err != nil {
		return s, err
	}
	if startValue == "" {
		// Jaeger ignores lookback and searches the last two days; Tracer
		// honours a lookback given without a start (the Jaeger UI and
		// Grafana send start with lookback=custom or a label).
		lookback, err := parseLookback(q.Get("lookback"))
		if err != nil {
			return s, err
		}
		if lb := q.Get("lookback"); lb == "" || lb == "custom" {
			lookback = min(lookback, a.cfg.MaxLookback)
		}
		start = end.Add(-lookback)
		startName, startValue = "lookback", q.Get("lookback")
	}
	if err := a.checkRange(startName, startValue, start, end); err != nil {
		return s, err
	}
	s.query.StartMin, s.query.StartMax = start, end

	s.query.Limit = v1DefaultLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return s, badParam("limit", v, "a positive integer")
		}
		s.query.Limit = n
	}
	if s.query.DurationMin, err = durationParam(q, "minDuration", 0); err != nil {
		return s, err
	}
	if s.query.DurationMax, err = durationParam(q, "maxDuration", 0); err != nil {
		return s, err
	}
	if s.query.DurationMin > 0 && s.query.DurationMax > 0 && s.query.DurationMax < s.query.DurationMin {
		return s, badParam("maxDuration", q.Get("maxDuration"), "a duration not below minDuration ("+q.Get("minDuration")+")")
	}

	tags, err := parseV1Tags(q["tag"], q["tags"])
	if err != nil {
		return s, err
	}
	if err := applyTags(&s.query, "tag", tags); err != nil {
		return s, err
	}

	seen := make(map[storage.TraceID]bool)
	for _, v := range q["traceID"] {
		id, err := parseTraceIDParam("traceID", v)
		if err != nil {
			return s, err
		}
		if !seen[id] {
			seen[id] = true
			s.ids = append(s.ids, id)
		}
	}
	if len(s.ids) > a.cfg.MaxTraceIDs {
		return s, badParam("traceID", strconv.Itoa(len(s.ids))+" ids", "at most "+strconv.Itoa(a.cfg.MaxTraceIDs)+" trace ids (the server's max_trace_ids)")
	}
	if s.raw, err = parseBool(q, "raw"); err != nil {
		return s, err
	}
	if len(s.ids) == 0 && s.query.Service == "" {
		return s, badParam("service", "", "a service name (it is required unless traceID is given)")
	}
	return s, nil
}

// parseMicros reads a time in unix microseconds, or def when absent.
func parseMicros(q url.Values, name string, def time.Time) (time.Time, error) {
	return parseEpoch(q, name, time.Microsecond, "a time in unix microseconds", def)
}

// parseMillis reads a time in unix milliseconds, or def when absent.
func parseMillis(q url.Values, name string, def time.Time) (time.Time, error) {
	return parseEpoch(q, name, time.Millisecond, "a time in unix milliseconds", def)
}

func parseEpoch(q url.Values, name string, unit time.Duration, want string, def time.Time) (time.Time, error) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/int64(unit) {
		return time.Time{}, badParam(name, v, want)
	}
	return time.Unix(0, n*int64(unit)), nil
}

// parseLookback reads the lookback of a search given without start: a Go
// duration, or whole days or weeks ("2d", "1w") as the Jaeger UI labels
// them; absent or "custom" means Jaeger's two days.
func parseLookback(v string) (time.Duration, error) {
	if v == "" || v == "custom" {
		return v1DefaultSearchLookback, nil
	}
	want := `a duration such as "1h", "2d" or "1w"`
	if n, unit := strings.TrimRight(v, "dw"), strings.TrimLeft(v, "0123456789"); unit == "d" || unit == "w" {
		days, err := strconv.Atoi(n)
		if err != nil || days <= 0 || days > 366 {
			return 0, badParam("lookback", v, want)
		}
		if unit == "w" {
			days *= 7
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, badParam("lookback", v, want)
	}
	return d, nil
}

// parseBool reads true or false (as strconv.ParseBool takes them); false
// when absent.
func parseBool(q url.Values, name string) (bool, error) {
	v := q.Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, badParam(name, v, "true or false")
	}
	return b, nil
}

// parseV1Tags reads the repeated tag=key:value parameters (the value is
// everything after the first colon) and the tags= JSON objects, later
// ones winning, as Jaeger's parseTags does. JSON values may be strings,
// numbers or booleans (Jaeger takes only strings).
func parseV1Tags(simple, jsonTags []string) (map[string]string, error) {
	tags := make(map[string]string)
	for _, t := range simple {
		k, v, ok := strings.Cut(t, ":")
		if !ok || k == "" {
			return nil, badParam("tag", t, "key:value")
		}
		tags[k] = v
	}
	for _, t := range jsonTags {
		var m map[string]any
		if err := json.Unmarshal([]byte(t), &m); err != nil {
			return nil, badParam("tags", t, `a JSON object of tags, such as {"http.status_code":"500"}`)
		}
		for k, v := range m {
			switch v := v.(type) {
			case string:
				tags[k] = v
			case bool:
				tags[k] = strconv.FormatBool(v)
			case float64:
				tags[k] = strconv.FormatFloat(v, 'g', -1, 64)
			default:
				return nil, badParam("tags", t, "a JSON object whose values are strings, numbers or booleans")
			}
		}
	}
	return tags, nil
}

// v1Dependencies is a parsed GET /api/dependencies.
type v1Dependencies struct {
	end      time.Time
	lookback time.Duration
	service  string
}

func (a *API) parseV1Dependencies(q url.Values) (v1Dependencies, error) {
	var d v1Dependencies
	var err error
	if d.end, err = parseMillis(q, "endTs", a.now()); err != nil {
		return d, err
	}
	d.lookback = min(v1DefaultDependencyLookback, a.cfg.MaxLookback)
	if v := q.Get("lookback"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 || n > math.MaxInt64/int64(time.Millisecond) {
			return d, badParam("lookback", v, "a positive duration in milliseconds")
		}
		d.lookback = time.Duration(n) * time.Millisecond
	}
	if err := a.checkRange("lookback", q.Get("lookback"), d.end.Add(-d.lookback), d.end); err != nil {
		return d, err
	}
	d.service = q.Get("service")
	return d, nil
}
