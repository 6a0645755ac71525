// Command tracer is Tracer's one binary. Run "tracer help" for its commands.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	// The first SIGINT or SIGTERM cancels ctx (graceful shutdown), the
	// second closes abort (stop at once, the rest stays in the WAL), a
	// third gets Go's default behaviour.
	ctx, cancel := context.WithCancel(context.Background())
	abort := make(chan struct{})
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sigs
		cancel()
		<-sigs
		close(abort)
		signal.Stop(sigs)
	}()
	m := NewMain()
	m.Abort = abort
	err := m.Run(ctx, os.Args[1:])
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "tracer:", err)
		os.Exit(1)
	}
}
