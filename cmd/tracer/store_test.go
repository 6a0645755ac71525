package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tracerdev/tracer/collector"
)

// writeCA writes a self-signed CA certificate in PEM to a temporary file.
func writeCA(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestClickHouseConfig(t *testing.T) {
	ca := writeCA(t)
	in := collector.ClickHouseStorageConfig{
		Addr: []string{"ch-1:9440", "ch-2:9440"}, Database: "traces", Username: "tracer", Password: "secret",
		TLS:       collector.ClickHouseTLSConfig{Enabled: true, CAFile: ca, ServerName: "ch.internal"},
		BatchSize: 50000, MaxConcurrentBatches: 3, Cluster: "prod", Distributed: true,
	}
	c, err := clickhouseConfig(in)
	if err != nil {
		t.Fatal(err)
	}
	if !c.TLS.Enabled || c.TLS.ServerName != "ch.internal" || c.TLS.CAFile != ca || c.TLS.InsecureSkipVerify {
		t.Errorf("TLS config = %+v", c.TLS)
	}
	if c.BatchSize != 50000 || c.MaxConcurrentBatches != 3 {
		t.Errorf("batch size %d, concurrency %d; want 50000, 3", c.BatchSize, c.MaxConcurrentBatches)
	}
	if c.Cluster.Name != "prod" || !c.Cluster.Distributed || c.Cluster.Replicated {
		t.Errorf("cluster = %+v", c.Cluster)
	}
	if strings.Join(c.Addr, ",") != "ch-1:9440,ch-2:9440" || c.Database != "traces" || c.Password != "secret" {
		t.Errorf("connection = %v %s %s", c.Addr, c.Database, c.Password)
	}

	// Without TLS and sizes, the backend's defaults stay.
	plain, err := clickhouseConfig(collector.ClickHouseStorageConfig{Addr: []string{"127.0.0.1:9000"}, Database: "tracer"})
	if err != nil {
		t.Fatal(err)
	}
	if plain.TLS.Enabled || plain.BatchSize <= 0 || plain.MaxConcurrentBatches <= 0 {
		t.Errorf("defaults lost: TLS %v, batch %d, concurrency %d", plain.TLS, plain.BatchSize, plain.MaxConcurrentBatches)
	}

	// A CA file without a certificate is an error that says so.
	junk := filepath.Join(t.TempDir(), "junk.pem")
	if err := os.WriteFile(junk, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	in.TLS.CAFile = junk
	if _, err := clickhouseConfig(in); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("junk CA file: err = %v", err)
	}
}

func TestClickHouseConfigValidate(t *testing.T) {
	cfg := defaultCollectorConfig()
	cfg.Storage.Type = collector.StorageClickHouse
	cfg.Storage.ClickHouse.Replicated = true                  // needs a cluster
	cfg.Storage.ClickHouse.TLS.CAFile = "/nonexistent/ca.pem" // and TLS on, and a file
	cfg.Storage.ClickHouse.BatchSize = -1
	err := cfg.Validate()
	if err == nil {
		t.Fatal("Validate accepted a bad ClickHouse configuration")
	}
	for _, want := range []string{"need storage.clickhouse.cluster", "tls.enabled is false", "ca_file", "must not be negative"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestClickHouseFlags(t *testing.T) {
	m, _, _ := testMain(map[string]string{"TRACER_CLICKHOUSE_TLS": "true"})
	cfg, err := m.loadCollectorConfig([]string{"--storage", "clickhouse", "--clickhouse-batch-size", "1234", "--clickhouse-cluster", "c1"})
	if err != nil {
		t.Fatal(err)
	}
	ch := cfg.Storage.ClickHouse
	if !ch.TLS.Enabled || ch.BatchSize != 1234 || ch.Cluster != "c1" {
		t.Errorf("from flags and environment: %+v", ch)
	}
	if _, err := m.loadCollectorConfig([]string{"--clickhouse-tls", "maybe"}); err == nil {
		t.Error("--clickhouse-tls accepted a value that is not a boolean")
	}
}
