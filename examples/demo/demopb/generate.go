// Package demopb is the generated gRPC API of the example services
// (demo.proto).
package demopb

//go:generate protoc --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative demo.proto
