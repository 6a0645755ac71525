package clickhouse

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"github.com/ClickHouse/ch-go/proto"

	"github.com/tracerdev/tracer/storage"
	"github.com/tracerdev/tracer/storage/storagetest"
)

// encodeAll returns the native encoding of cols' Array columns and their
// other columns, in order.
func encodeAll(cols []any) ([]byte, []any) {
	var b proto.Buffer
	var plain []any
	for _, col := range cols {
		if e, ok := col.(nativeEncoder); ok {
			e.EncodeColumn(&b)
			continue
		}
		plain = append(plain, col)
	}
	return b.Buf, plain
}

// TestColumnsReuse checks that columns filled after a larger batch hold
// exactly what fresh columns hold: fill must reset every column, including
// the Array columns' offsets and values.
func TestColumnsReuse(t *testing.T) {
	g := storagetest.NewGenerator(7)
	var big []storage.Span
	for len(big) < 200 {
		big = append(big, g.Trace(time.Now(), 5)...)
	}
	big = append(big, storagetest.FullSpan(g.TraceID(), g.SpanID(), g.SpanID(), time.Now()))
	small := g.Trace(time.Now(), 3)
	small = append(small, storagetest.FullSpan(g.TraceID(), g.SpanID(), g.SpanID(), time.Now()))

	var reused columns
	reused.fill(big, hashResources(big), 1)
	reused.fill(small, hashResources(small), 2)
	var fresh columns
	fresh.fill(small, hashResources(small), 2)

	for _, tc := range []struct {
		name      string
		got, want []any
	}{
		{"spans", reused.spanColumns(), fresh.spanColumns()},
		{"search", reused.searchColumns(), fresh.searchColumns()},
		{"search attributes", reused.searchAttrColumns(), fresh.searchAttrColumns()},
		{"operations", reused.operationColumns(), fresh.operationColumns()},
		{"resources", reused.resourceColumns(), fresh.resourceColumns()},
	} {
		gotWire, gotPlain := encodeAll(tc.got)
		wantWire, wantPlain := encodeAll(tc.want)
		if !bytes.Equal(gotWire, wantWire) {
			t.Errorf("%s: Array columns of reused columns differ from fresh ones (%d vs %d bytes)", tc.name, len(gotWire), len(wantWire))
		}
		if !reflect.DeepEqual(gotPlain, wantPlain) {
			t.Errorf("%s: plain columns of reused columns differ from fresh ones", tc.name)
		}
	}
	if reused.rows != len(small) {
		t.Errorf("rows = %d, want %d", reused.rows, len(small))
	}
}

// TestEncodeRows checks that a range of rows of filled columns, as send
// puts them in one block, encodes exactly as columns filled with only the
// spans of that range.
func TestEncodeRows(t *testing.T) {
	g := storagetest.NewGenerator(11)
	var spans []storage.Span
	for len(spans) < 300 {
		spans = append(spans, g.Trace(time.Now(), 5)...)
		spans = append(spans, storagetest.FullSpan(g.TraceID(), g.SpanID(), g.SpanID(), time.Now()))
	}
	var all columns
	all.fill(spans, hashResources(spans), 3)
	for _, r := range [][2]int{{0, 1}, {0, 100}, {1, 2}, {37, 37}, {100, 251}, {251, len(spans)}, {0, len(spans)}} {
		lo, hi := r[0], r[1]
		var part columns
		part.fill(spans[lo:hi], hashResources(spans[lo:hi]), 3)
		for _, tc := range []struct {
			name      string
			got, want []any
		}{
			{"spans", all.spanColumns(), part.spanColumns()},
			{"search", all.searchColumns(), part.searchColumns()},
		} {
			var gotWire proto.Buffer
			var gotPlain []any
			for _, col := range tc.got {
				if e, ok := col.(nativeEncoder); ok {
					e.encodeRows(&gotWire, lo, hi)
					continue
				}
				v, err := rowRange(col, lo, hi)
				if err != nil {
					t.Fatal(err)
				}
				gotPlain = append(gotPlain, v)
			}
			wantWire, wantPlain := encodeAll(tc.want)
			if !bytes.Equal(gotWire.Buf, wantWire) {
				t.Errorf("%s rows %d-%d: Array columns encode %d bytes, want %d (as filled alone)", tc.name, lo, hi, len(gotWire.Buf), len(wantWire))
			}
			for i := range gotPlain {
				if reflect.ValueOf(gotPlain[i]).Len() == 0 && reflect.ValueOf(wantPlain[i]).Len() == 0 {
					continue
				}
				if !reflect.DeepEqual(gotPlain[i], wantPlain[i]) {
					t.Errorf("%s rows %d-%d: plain column %d differs from the spans filled alone", tc.name, lo, hi, i)
				}
			}
		}
	}
}
