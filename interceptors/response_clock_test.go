package interceptors_test

import (
	"context"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"

	"github.com/tracerdev/tracer/propagation"
)

// Where the server's clock comes back on a unary call, as a client that is
// not instrumented reads it: in the response header after a success, in
// the trailer after an error or when the handler sent the header itself.
func TestUnaryResponseClockPlace(t *testing.T) {
	for _, m := range []mode{statsMode, interceptorMode} {
		t.Run(string(m), func(t *testing.T) {
			srv := newService(t, "srv", m)
			srv.serve(t, &testServer{})
			conn, err := grpc.NewClient("passthrough:///"+srv.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = conn.Close() })
			client := testpb.NewTestServiceClient(conn)
			for _, tc := range []struct {
				body      string
				wantError bool
				inHeader  bool
			}{
				{body: "ok", inHeader: true},
				{body: "not-found", wantError: true},
				{body: "send-header"},
			} {
				t.Run(tc.body, func(t *testing.T) {
					var header, trailer metadata.MD
					_, err := client.UnaryCall(context.Background(), &testpb.SimpleRequest{Payload: payload(tc.body)},
						grpc.Header(&header), grpc.Trailer(&trailer))
					if (err != nil) != tc.wantError {
						t.Fatalf("call: %v, want error %v", err, tc.wantError)
					}
					h, tr := header.Get(propagation.Header), trailer.Get(propagation.Header)
					got, empty := h, tr
					where, other := "header", "trailer"
					if !tc.inHeader {
						got, empty = tr, h
						where, other = "trailer", "header"
					}
					if len(got) != 1 || got[0] == "" {
						t.Errorf("%s clock %q, want one clock there", where, got)
					}
					if len(empty) != 0 {
						t.Errorf("%s clock %q, want none there", other, empty)
					}
				})
			}
		})
	}
}
