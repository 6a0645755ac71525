// Command kafka is bench/kafka.sh's helper: the parts of the Kafka path that
// the tracer binary does not run as processes of their own yet.
//
//	kafka -broker -partitions 4 -topic otlp_spans
//
// runs a Kafka broker: franz-go's kfake (the Kafka wire protocol, in
// memory) on a free 127.0.0.1 port, printing "addr ADDR pid PID" once it
// listens, until SIGINT or SIGTERM. It is no real Kafka: one process,
// records in memory, no disk, no replication; figures through it say what
// Tracer's collector and ingester cost, not what a Kafka cluster costs.
//
//	kafka -collector -brokers ADDR -grpc ADDR -telemetry ADDR -wal DIR
//
// runs Tracer's collector with the Kafka sink (collector.New with
// collector.WithSink and collector.NewKafkaSink, the collector's defaults
// otherwise), serving /metrics on -telemetry, until SIGINT or SIGTERM (it
// then drains its WAL into Kafka).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/tracerdev/tracer/collector"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "kafka:", err)
		os.Exit(1)
	}
}

func run() error {
	broker := flag.Bool("broker", false, "run a kfake broker")
	partitions := flag.Int("partitions", 4, "partitions of -topic (with -broker)")
	topic := flag.String("topic", "otlp_spans", "topic")
	col := flag.Bool("collector", false, "run Tracer's collector with the Kafka sink")
	brokers := flag.String("brokers", "", "seed broker (with -collector)")
	grpc := flag.String("grpc", "127.0.0.1:4317", "OTLP/gRPC listen address (with -collector)")
	tel := flag.String("telemetry", "127.0.0.1:8888", "/metrics listen address (with -collector)")
	walDir := flag.String("wal", "", "WAL directory (with -collector)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	switch {
	case *broker:
		c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(int32(*partitions), *topic))
		if err != nil {
			return err
		}
		defer c.Close()
		fmt.Printf("addr %s pid %d\n", c.ListenAddrs()[0], os.Getpid())
		<-ctx.Done()
		return nil
	case *col:
		return runCollector(ctx, *brokers, *topic, *grpc, *tel, *walDir)
	}
	return errors.New("give -broker or -collector")
}

func runCollector(ctx context.Context, brokers, topic, grpc, tel, walDir string) error {
	cfg := collector.NewDefaultConfig()
	cfg.Receivers.GRPC.Endpoint = grpc
	cfg.Receivers.HTTP.Endpoint = ""
	cfg.WAL.Dir = walDir
	cfg.Sink = collector.SinkKafka
	cfg.Kafka.Brokers = []string{brokers}
	cfg.Kafka.Topic = topic
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	c, err := collector.New(cfg, nil, log, collector.WithRegisterer(reg),
		collector.WithSink(collector.SinkKafka, func(set collector.Settings) (collector.Sink, error) {
			return collector.NewKafkaSink(cfg.Kafka, set)
		}))
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("GET /health", c.Health().LiveHandler())
	srv := &http.Server{Addr: tel, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.ListenAndServe() }()
	defer srv.Close()
	if err := c.Start(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return c.Shutdown(sctx)
}
