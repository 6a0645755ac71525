package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRun(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	defer ok.Close()
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }))
	defer failing.Close()
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()

	short := []string{"--rate=50", "--duration=200ms", "--progress=50ms", "--concurrency=2"}
	tests := []struct {
		name    string
		args    []string
		wantErr string // "" for nil
		wantOut string
	}{
		{name: "help", args: []string{"-h"}, wantOut: "go run ./examples/traffic --rate=20 --duration=5m"},
		{name: "unknown flag", args: []string{"--nope"}, wantErr: "flag provided but not defined: -nope"},
		{name: "extra argument", args: []string{"extra"}, wantErr: `unexpected arguments ["extra"]`},
		{name: "bad rate", args: []string{"--rate=0"}, wantErr: "traffic: rate 0"},
		{name: "answered", args: append([]string{"--target=" + ok.URL}, short...), wantOut: "done: "},
		{name: "progress", args: []string{"--target=" + ok.URL, "--rate=20", "--duration=500ms", "--progress=20ms"}, wantOut: "answered ("},
		{name: "no service-a", args: append([]string{"--target=" + gone.URL}, short...), wantErr: "is service-a running? Start it with", wantOut: "not answered"},
		{name: "every answer a 5xx", args: append([]string{"--target=" + failing.URL}, short...), wantErr: "are service-b and service-c running?"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(context.Background(), tt.args, &out, &out)
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
