package analysis_test

import (
	"fmt"

	"github.com/tracerdev/tracer/analysis"
	"github.com/tracerdev/tracer/storage"
)

func ExampleTrace_CriticalPath() {
	span := func(id, parent byte, name string, start, end int64) storage.Span {
		s := storage.Span{SpanID: storage.SpanID{7: id}, Name: name, Service: "shop", StartTime: start, EndTime: end}
		if parent != 0 {
			s.ParentSpanID = storage.SpanID{7: parent}
		}
		return s
	}
	// A checkout that asks for prices and stock in parallel, then charges.
	tr := analysis.NewTrace([]storage.Span{
		span(1, 0, "checkout", 0, 100),
		span(2, 1, "prices", 10, 30),
		span(3, 1, "stock", 10, 50),
		span(4, 1, "charge", 55, 95),
	})
	p := tr.CriticalPath()
	for _, s := range p.Segments {
		fmt.Printf("%-8s %3d-%3d\n", tr.Spans[s.Span].Name, s.Start, s.End)
	}
	// Output:
	// checkout   0- 10
	// stock     10- 50
	// checkout  50- 55
	// charge    55- 95
	// checkout  95-100
}
