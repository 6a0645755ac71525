package send_test

import (
	"context"
	"fmt"
	"time"

	"github.com/tracerdev/tracer/exporter/send"
)

// A Sender with a primary collector and a fallback: requests go to the
// first while its breaker is closed, to the second otherwise, and back to
// the first once a probe finds it answering again.
func Example() {
	s, err := send.New(send.Config{
		Endpoints: []send.Endpoint{
			{Address: "collector-a:4317", Protocol: send.GRPC, Insecure: true},
			{Address: "http://collector-b:4318", Protocol: send.HTTPProtobuf, Compression: "gzip"},
		},
		Timeout: 5 * time.Second,
		Retry:   send.RetryConfig{MaxElapsed: time.Minute},
		Breaker: send.BreakerConfig{Failures: 3, OpenFor: 10 * time.Second},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()

	var body []byte // an ExportTraceServiceRequest in protobuf wire form
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	res, err := s.Send(ctx, body, 0)
	switch {
	case send.IsPermanent(err):
		fmt.Println("lost for good:", err) // count it; retrying cannot help
	case err != nil:
		fmt.Println("not sent yet; keep it for later")
	default:
		fmt.Println("accepted by", res.Endpoint, "rejected:", res.Rejected)
	}
	// Output: not sent yet; keep it for later
}
