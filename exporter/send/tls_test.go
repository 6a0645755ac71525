package send

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// selfSigned is a server certificate for 127.0.0.1 and the client
// configuration that trusts it (and only it).
func selfSigned(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "tracer test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}
	client = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return server, client
}

func TestTLS(t *testing.T) {
	serverTLS, clientTLS := selfSigned(t)
	body := request(t, 5)

	t.Run("grpc", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		gs := &grpcServer{answer: ok()}
		srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(serverTLS)))
		coltracepb.RegisterTraceServiceServer(srv, gs)
		go func() { _ = srv.Serve(ln) }()
		defer srv.Stop()
		ep := Endpoint{Address: ln.Addr().String(), Protocol: GRPC, TLS: clientTLS}
		s := newTestSender(t, Config{Endpoints: []Endpoint{ep}}, newFakeClock())
		if _, err := s.Send(context.Background(), body, 5); err != nil {
			t.Fatalf("Send over TLS: %v", err)
		}
		// Without the server's CA the handshake fails; that is not an
		// answer, so it is retryable (the CA may be fixed by a restart).
		ep.TLS = nil
		s2 := newTestSender(t, Config{Endpoints: []Endpoint{ep}, Retry: RetryConfig{MaxElapsed: time.Nanosecond}}, newFakeClock())
		if _, err := s2.Send(context.Background(), body, 5); err == nil {
			t.Error("Send trusting the system roots accepted a self-signed server")
		}
	})
	t.Run("https", func(t *testing.T) {
		hs := &httpServer{answer: httpOK()}
		hs.start(t, "127.0.0.1:0", serverTLS)
		defer hs.stop()
		ep := Endpoint{Address: "https://" + hs.addr + "/v1/traces", Protocol: HTTPProtobuf, TLS: clientTLS}
		s := newTestSender(t, Config{Endpoints: []Endpoint{ep}}, newFakeClock())
		if _, err := s.Send(context.Background(), body, 5); err != nil {
			t.Fatalf("Send over HTTPS: %v", err)
		}
		if got, _, _ := hs.request(0); string(got) != string(body) {
			t.Error("body differs over HTTPS")
		}
	})
}
