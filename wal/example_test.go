package wal_test

import (
	"context"
	"fmt"
	"os"

	"github.com/tracerdev/tracer/wal"
)

func Example() {
	dir, _ := os.MkdirTemp("", "wal-example")
	defer os.RemoveAll(dir)
	ctx := context.Background()

	w, err := wal.Open(dir, wal.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range []string{"first", "second"} {
		if _, err := w.Append(ctx, []byte(s)); err != nil { // durable on return
			fmt.Println(err)
		}
	}
	// The sink reads from the last commit (at most 1 MiB of records at a
	// time), stores, then commits.
	const budget = 1 << 20
	recs, _ := w.Read(ctx, w.Committed(), budget)
	for _, r := range recs {
		fmt.Println(r.Offset, string(r.Data))
	}
	_ = w.Commit(recs[len(recs)-1].Offset)
	w.Close()

	// After a restart nothing committed is replayed.
	w, _ = wal.Open(dir, wal.Options{})
	defer w.Close()
	_, _ = w.Append(ctx, []byte("third"))
	recs, _ = w.Read(ctx, w.Committed(), budget)
	fmt.Println(recs[0].Offset, string(recs[0].Data))
	// Output:
	// 1 first
	// 2 second
	// 3 third
}
