package storagetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/tracerdev/tracer/storage"
)

// attrLimits are the reader limits of the AttributeLimits case.
var attrLimits = storage.ReaderLimits{MaxAttributeValues: 3}

func testAttributes(t *testing.T, s storage.Store) {
	now := time.Now()
	recent, old := base(), now.Add(-72*time.Hour)
	none := storage.SpanID{}
	intAttr := func(k, v string) storage.Attribute { return storage.Attribute{Key: k, Type: storage.TypeInt, Value: v} }
	withRes := func(sp storage.Span, res ...storage.Attribute) storage.Span { sp.Resource = res; return sp }
	alphaRes := []storage.Attribute{attr("service.name", "alpha"), attr("host.name", "h1"), attr("deployment.env", "prod")}
	betaRes := []storage.Attribute{attr("service.name", "beta"), attr("host.name", "h2")}
	beta2 := mk(tid(0x70, 4), sid(1), none, "beta", "get", storage.KindServer, recent.Add(3*time.Millisecond), time.Millisecond, attr("http.method", "GET"))
	beta2.Events = []storage.Event{{Time: beta2.StartTime, Name: "e", Attributes: []storage.Attribute{attr("event.only", "x")}}}
	beta2.Links = []storage.Link{{TraceID: tid(0x70, 1), SpanID: sid(1), Attributes: []storage.Attribute{attr("link.only", "y")}}}
	spans := []storage.Span{
		withRes(mk(tid(0x70, 1), sid(1), none, "alpha", "a", storage.KindServer, recent, time.Millisecond,
			attr("http.method", "GET"), attr("http.route", "/a"), intAttr("user.id", "1")), alphaRes...),
		withRes(mk(tid(0x70, 2), sid(1), none, "alpha", "b", storage.KindServer, recent.Add(time.Millisecond), time.Millisecond,
			attr("http.method", "GET"), intAttr("user.id", "2"), attr("http.route", "/b")), alphaRes...),
		withRes(mk(tid(0x70, 3), sid(1), none, "beta", "post", storage.KindServer, recent.Add(2*time.Millisecond), time.Millisecond,
			attr("http.method", "POST"), attr("db.system", "postgres")), betaRes...),
		withRes(beta2, betaRes...),
		withRes(mk(tid(0x70, 5), sid(1), none, "alpha", "old", storage.KindServer, old, time.Millisecond,
			attr("http.method", "DELETE"), attr("old.key", "x")), attr("service.name", "alpha"), attr("host.name", "h-old")),
	}
	hostileKeys := []string{"hostile"}
	for i, h := range HostileStrings {
		spans = append(spans, mk(tid(0x71, byte(i)), sid(1), none, "hostile", "h", storage.KindServer,
			recent.Add(time.Duration(i)*time.Millisecond), time.Millisecond, attr("hostile", h), attr(h, "v")))
		hostileKeys = append(hostileKeys, h)
	}
	slices.Sort(hostileKeys)
	hostileValues := slices.Sorted(slices.Values(HostileStrings))
	write(t, s, spans[:3])
	write(t, s, spans[3:])

	recentWin := func(q storage.AttributeQuery) storage.AttributeQuery {
		q.Start, q.End = now.Add(-2*time.Hour), now
		return q
	}
	oldWin := func(q storage.AttributeQuery) storage.AttributeQuery {
		q.Start, q.End = now.Add(-96*time.Hour), now.Add(-48*time.Hour)
		return q
	}
	spanKeys := slices.Concat([]string{"db.system", "http.method", "http.route", "user.id"}, hostileKeys)
	slices.Sort(spanKeys)
	type aq = storage.AttributeQuery
	tests := []struct {
		name   string
		values bool
		q      storage.AttributeQuery
		want   []string
	}{
		{"keys", false, recentWin(aq{}), spanKeys},
		{"keys resource", false, recentWin(aq{Resource: true}), []string{"deployment.env", "host.name", "service.name"}},
		{"keys service", false, recentWin(aq{Service: "alpha"}), []string{"http.method", "http.route", "user.id"}},
		{"keys service resource", false, recentWin(aq{Service: "beta", Resource: true}), []string{"host.name", "service.name"}},
		{"keys prefix", false, recentWin(aq{Prefix: "http."}), []string{"http.method", "http.route"}},
		{"keys prefix resource", false, recentWin(aq{Prefix: "host", Resource: true}), []string{"host.name"}},
		{"keys prefix nothing", false, recentWin(aq{Prefix: "zzz"}), nil},
		{"keys limit", false, recentWin(aq{Service: "alpha", Limit: 2}), []string{"http.method", "http.route"}},
		{"keys old window", false, oldWin(aq{}), []string{"http.method", "old.key"}},
		{"keys old window resource", false, oldWin(aq{Resource: true}), []string{"host.name", "service.name"}},
		{"keys unknown service", false, recentWin(aq{Service: "nope"}), nil},
		{"keys hostile", false, recentWin(aq{Service: "hostile"}), hostileKeys},
		// More than a day from any span: empty even widened to whole days.
		{"keys empty window", false, aq{Start: now.Add(-40 * time.Hour), End: now.Add(-30 * time.Hour)}, nil},
		{"values", true, recentWin(aq{Key: "http.method"}), []string{"GET", "POST"}},
		{"values service", true, recentWin(aq{Key: "http.method", Service: "alpha"}), []string{"GET"}},
		{"values service two", true, recentWin(aq{Key: "http.method", Service: "beta"}), []string{"GET", "POST"}},
		{"values int", true, recentWin(aq{Key: "user.id"}), []string{"1", "2"}},
		{"values prefix", true, recentWin(aq{Key: "http.method", Prefix: "P"}), []string{"POST"}},
		{"values limit", true, recentWin(aq{Key: "http.method", Limit: 1}), []string{"GET"}},
		{"values resource", true, recentWin(aq{Key: "host.name", Resource: true}), []string{"h1", "h2"}},
		{"values resource service", true, recentWin(aq{Key: "deployment.env", Resource: true, Service: "alpha"}), []string{"prod"}},
		{"values resource key is no span key", true, recentWin(aq{Key: "host.name"}), nil},
		{"values span key is no resource key", true, recentWin(aq{Key: "http.method", Resource: true}), nil},
		{"values old window", true, oldWin(aq{Key: "http.method"}), []string{"DELETE"}},
		{"values old window resource", true, oldWin(aq{Key: "host.name", Resource: true}), []string{"h-old"}},
		{"values of event attributes", true, recentWin(aq{Key: "event.only"}), nil},
		{"values of link attributes", true, recentWin(aq{Key: "link.only"}), nil},
		{"values unknown key", true, recentWin(aq{Key: "nope"}), nil},
		{"values hostile", true, recentWin(aq{Key: "hostile", Service: "hostile"}), hostileValues},
		{"values of a hostile key", true, recentWin(aq{Key: HostileStrings[0]}), []string{"v"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := attributes(t, s, tt.values, tt.q)
			if !slices.Equal(got, tt.want) {
				t.Errorf("%s(%+v) = %q, want %q", attrMethod(tt.values), tt.q, got, tt.want)
			}
		})
	}
	t.Run("default window", func(t *testing.T) {
		// The recent window is at least the last hour: it holds the recent
		// spans, and maybe the old one.
		for _, tt := range []struct {
			values    bool
			q         storage.AttributeQuery
			must, may []string
		}{
			{false, aq{}, spanKeys, []string{"old.key"}},
			{true, aq{Key: "http.method"}, []string{"GET", "POST"}, []string{"DELETE"}},
			{true, aq{Key: "host.name", Resource: true}, []string{"h1", "h2"}, []string{"h-old"}},
		} {
			got := attributes(t, s, tt.values, tt.q)
			if !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
				t.Errorf("%s(%+v) = %q: not sorted and distinct", attrMethod(tt.values), tt.q, got)
			}
			for _, w := range tt.must {
				if !slices.Contains(got, w) {
					t.Errorf("%s(%+v) = %q: no %q", attrMethod(tt.values), tt.q, got, w)
				}
			}
			for _, g := range got {
				if !slices.Contains(tt.must, g) && !slices.Contains(tt.may, g) {
					t.Errorf("%s(%+v) = %q: %q was never written", attrMethod(tt.values), tt.q, got, g)
				}
			}
		}
	})
	t.Run("InvalidQuery", func(t *testing.T) {
		max := storage.DefaultMaxAttributeValues
		for _, tt := range []struct {
			name   string
			values bool
			q      storage.AttributeQuery
		}{
			{"values without key", true, recentWin(aq{})},
			{"keys limit negative", false, aq{Limit: -1}},
			{"values limit negative", true, aq{Key: "http.method", Limit: -1}},
			{"keys limit over max", false, aq{Limit: max + 1}},
			{"values limit over max", true, aq{Key: "http.method", Limit: max + 1}},
			{"keys end before start", false, aq{Start: now, End: now.Add(-time.Hour)}},
			{"values end before start", true, aq{Key: "http.method", Start: now, End: now.Add(-time.Hour)}},
		} {
			if _, err := callAttributes(t, s, tt.values, tt.q); !errors.Is(err, storage.ErrInvalidQuery) {
				t.Errorf("%s: %s(%+v): err = %v, want ErrInvalidQuery", tt.name, attrMethod(tt.values), tt.q, err)
			}
		}
		// The maximum itself is accepted.
		if got := attributes(t, s, true, recentWin(aq{Key: "http.method", Limit: max})); !slices.Equal(got, []string{"GET", "POST"}) {
			t.Errorf("AttributeValues(Limit %d) = %q", max, got)
		}
	})
}

// testAttributeLimits runs on a store given attrLimits: Limit 0 gives the
// smaller of DefaultAttributeLimit and MaxAttributeValues, a larger Limit is
// refused.
func testAttributeLimits(t *testing.T, s storage.Store) {
	max := attrLimits.MaxAttributeValues
	b := base()
	var attrs []storage.Attribute
	var keys []string
	for _, k := range []string{"e", "d", "c", "b", "a"} {
		attrs = append(attrs, attr(k, "v"+k))
		keys = append([]string{k}, keys...)
	}
	write(t, s, []storage.Span{mk(tid(0x72), sid(1), storage.SpanID{}, "svc", "op", storage.KindServer, b, time.Millisecond, attrs...)})
	for _, limit := range []int{0, max} {
		if got := attributes(t, s, false, storage.AttributeQuery{Service: "svc", Limit: limit}); !slices.Equal(got, keys[:max]) {
			t.Errorf("AttributeKeys(Limit %d) with MaxAttributeValues %d = %q, want %q", limit, max, got, keys[:max])
		}
	}
	for _, values := range []bool{false, true} {
		q := storage.AttributeQuery{Key: "a", Limit: max + 1}
		if _, err := callAttributes(t, s, values, q); !errors.Is(err, storage.ErrInvalidQuery) {
			t.Errorf("%s(Limit %d) with MaxAttributeValues %d: err = %v, want ErrInvalidQuery", attrMethod(values), q.Limit, max, err)
		}
	}
}

func attrMethod(values bool) string {
	if values {
		return "AttributeValues"
	}
	return "AttributeKeys"
}

func callAttributes(t *testing.T, s storage.Store, values bool, q storage.AttributeQuery) ([]string, error) {
	if values {
		return s.AttributeValues(ctxFor(t), q)
	}
	return s.AttributeKeys(ctxFor(t), q)
}

func attributes(t *testing.T, s storage.Store, values bool, q storage.AttributeQuery) []string {
	t.Helper()
	got, err := callAttributes(t, s, values, q)
	if err != nil {
		t.Fatalf("%s(%+v): %v", attrMethod(values), q, err)
	}
	return got
}
