// Package storagetest is the conformance suite that every storage backend
// passes, and helpers that backends' own tests and benchmarks use.
//
// A backend's test calls Run with a function that returns a fresh, empty
// store whose readers apply the given limits:
//
//	func TestConformance(t *testing.T) {
//		storagetest.Run(t, func(t *testing.T, limits storage.ReaderLimits) storage.Store {
//			s := memory.New(memory.WithReaderLimits(limits))
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// Where the contract lets backends differ, an Option passed to Run says
// what the backend does (REDCountsEachWrite); without options the suite
// expects the strictest reading.
//
// The suite is backend-neutral: it uses recent times (minutes before now) so
// that backends that keep data by day behave, never relies on the order of
// equal timestamps, never sleeps, and compares spans field by field with nil
// and empty slices treated alike. The span it expects every backend to
// reject is one with a zero trace id or a zero span id, which W3C calls
// invalid.
package storagetest
