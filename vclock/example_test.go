package vclock_test

import (
	"fmt"

	"github.com/tracerdev/tracer/vclock"
)

func Example() {
	// Process A does some work and sends a message to B.
	var a vclock.Clock
	a.Tick("A")
	sent := a.Copy()

	// B receives it: merge, then tick.
	var b vclock.Clock
	b.Tick("B") // something B did before
	b.Merge(sent)
	b.Tick("B")

	// A carries on without hearing back.
	a.Tick("A")

	fmt.Println(sent, "->", b)
	fmt.Println("send vs receive:", vclock.Compare(sent, b))
	fmt.Println("A later vs B:", vclock.Compare(a, b))
	// Output:
	// A:1 -> A:1,B:2
	// send vs receive: before
	// A later vs B: concurrent
}

func ExampleParse() {
	c, err := vclock.Parse("api:3,db:12")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.Get("db"), c.Len())
	_, err = vclock.Parse("db:12,api:3")
	fmt.Println(err)
	// Output:
	// 12 2
	// vclock: node "api" out of order or repeated
}

func ExampleFromAttributes() {
	// A stored or exported span's attributes, as text.
	attrs := map[string]string{
		vclock.AttrNode:    "api-1",
		vclock.AttrTick:    "4",
		vclock.AttrDeps:    "db-7:12",
		vclock.AttrEndTick: "6", // no end_deps: the other entries did not change
	}
	sc, err := vclock.FromAttributes(func(key string) (string, bool) {
		v, ok := attrs[key]
		return v, ok
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(sc.Start, "->", sc.End, vclock.Compare(sc.Start, sc.End))
	// Output:
	// api-1:4,db-7:12 -> api-1:6,db-7:12 before
}
