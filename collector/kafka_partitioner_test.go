package collector_test

import (
	"encoding/hex"
	"hash/fnv"
	"strings"
	"testing"

	"github.com/tracerdev/tracer/collector"
	"github.com/tracerdev/tracer/wal"
)

// saramaPartition is the partition Sarama's default hash partitioner (and
// so the OpenTelemetry Collector's kafka exporter, whose default
// record_partitioner is sticky_key with hasher sarama_compat: exporter/
// kafkaexporter v0.165.1 factory.go, partitioner.go) gives key among n
// partitions: FNV-1a of the key as an int32, modulo n, made positive
// (Sarama's partitioner.go hashPartitioner.Partition).
func saramaPartition(key []byte, n int32) int32 {
	h := fnv.New32a()
	h.Write(key)
	p := int32(h.Sum32()) % n
	if p < 0 {
		p = -p
	}
	return p
}

// TestKafkaSinkPartitioner: by default a trace goes to the partition the
// OpenTelemetry Collector's kafka exporter would put it on, so that a topic
// both write keeps each trace on one partition; murmur2 (the Java client's
// hash) puts some elsewhere.
func TestKafkaSinkPartitioner(t *testing.T) {
	const partitions, traces = 7, 40
	var data [][]byte
	for i := range traces {
		data = append(data, request(t, "svc", validSpan(i)))
	}
	run := func(partitioner string) (sarama, other int) {
		c := newSinkCluster(t, partitions, 0)
		k := sinkKafkaConfig(c.ListenAddrs())
		if partitioner != "" {
			k.Producer.Partitioner = partitioner
		}
		s := startKafkaSink(t, k, collector.Settings{})
		for i, d := range data {
			s.Add(wal.Record{Offset: wal.Offset(i + 1), Data: d})
		}
		flushSink(t, s)
		for _, r := range readTopic(t, c.ListenAddrs(), traces) {
			if _, err := hex.DecodeString(string(r.Key)); err != nil || len(r.Key) != 32 {
				t.Errorf("key %q is not a trace id in hex", r.Key)
			}
			if r.Partition == saramaPartition(r.Key, partitions) {
				sarama++
			} else {
				other++
			}
		}
		return sarama, other
	}
	if sarama, other := run(""); other != 0 {
		t.Errorf("default partitioner: %d of %d traces not on Sarama's (the OpenTelemetry Collector's) partition", other, sarama+other)
	}
	if sarama, other := run(collector.PartitionerSaramaCompat); other != 0 {
		t.Errorf("sarama_compat: %d of %d traces not on Sarama's partition", other, sarama+other)
	}
	// murmur2 and FNV-1a agree on about one key in seven here: most differ.
	if sarama, other := run(collector.PartitionerMurmur2); other < traces/2 {
		t.Errorf("murmur2: %d of %d traces on Sarama's partition: is it still murmur2?", sarama, sarama+other)
	}

	cfg := collector.NewDefaultConfig()
	cfg.Sink = collector.SinkKafka
	cfg.Kafka.Brokers = []string{"127.0.0.1:9092"}
	cfg.Kafka.Producer.Partitioner = "round_robin"
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "kafka.producer.partitioner") {
		t.Errorf("unknown partitioner: %v", err)
	}
}
