package wal

import (
	"context"
	"testing"
)

func benchAppend(b *testing.B, size, parallelism int) {
	w, err := Open(b.TempDir(), Options{Logger: quiet, MaxBytes: 64 << 30, CacheBytes: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	data := make([]byte, size)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	if parallelism <= 1 {
		for i := 0; i < b.N; i++ {
			if _, err := w.Append(context.Background(), data); err != nil {
				b.Fatal(err)
			}
		}
	} else {
		b.SetParallelism(parallelism)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := w.Append(context.Background(), data); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	b.StopTimer()
	st := w.Stats()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "appends/s")
	b.ReportMetric(float64(st.Syncs)/float64(st.Records), "fsyncs/append")
}

// BenchmarkAppend measures Append with SyncBatch (fsync before return).
// The concurrent cases run GOMAXPROCS*p goroutines; with GOMAXPROCS=2 and
// p=4 that is 8 appenders.
func BenchmarkAppend(b *testing.B) {
	b.Run("1KiB", func(b *testing.B) { benchAppend(b, 1<<10, 1) })
	b.Run("64KiB", func(b *testing.B) { benchAppend(b, 64<<10, 1) })
	b.Run("1KiB-concurrent", func(b *testing.B) { benchAppend(b, 1<<10, 4) })
	b.Run("64KiB-concurrent", func(b *testing.B) { benchAppend(b, 64<<10, 4) })
}
