package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRun(t *testing.T) {
	stopped, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		args    []string
		wantErr string // "" for nil
		wantOut string
	}{
		{name: "help", args: []string{"-h"}, wantOut: "go run ./examples/service-a --service-b=localhost:8001"},
		{name: "help lists the flags", args: []string{"-h"}, wantOut: "-collector address"},
		{name: "unknown flag", args: []string{"--nope"}, wantErr: "flag provided but not defined: -nope"},
		{name: "extra argument", args: []string{"extra"}, wantErr: `unexpected arguments ["extra"]`},
		{name: "bad listen address", args: []string{"--listen=127.0.0.1:99999"}, wantErr: "invalid port"},
		{name: "negative timeout", args: []string{"--listen=127.0.0.1:0", "--timeout=-1s"}, wantErr: "timeout -1s"},
		{name: "starts and stops", args: []string{"--listen=127.0.0.1:0", "--service-b=127.0.0.1:1", "--collector=127.0.0.1:1", "--skew=2s", "--instance-id=a-1"}, wantOut: "service-a listening"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(stopped, tt.args, &out)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("run: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("run: %v, want an error containing %q", err, tt.wantErr)
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("output %q, want it to contain %q", out.String(), tt.wantOut)
			}
		})
	}
}
