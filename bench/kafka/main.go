// Command kafka is bench/kafka.sh's broker:
//
//	kafka -partitions 4 -topic otlp_spans
//
// runs franz-go's kfake (the Kafka wire protocol, in memory) on a free
// 127.0.0.1 port as a process of its own, printing "addr ADDR pid PID" once
// it listens, until SIGINT or SIGTERM. It is no real Kafka: one process,
// records in memory, no disk, no replication; figures through it say what
// Tracer's collector and ingester cost, not what a Kafka cluster costs.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/twmb/franz-go/pkg/kfake"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "kafka:", err)
		os.Exit(1)
	}
}

func run() error {
	partitions := flag.Int("partitions", 4, "partitions of -topic")
	topic := flag.String("topic", "otlp_spans", "topic to create")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(int32(*partitions), *topic))
	if err != nil {
		return err
	}
	defer c.Close()
	fmt.Printf("addr %s pid %d\n", c.ListenAddrs()[0], os.Getpid())
	<-ctx.Done()
	return nil
}
