package chdb_test

import (
	"context"
	"testing"
	"time"

	"github.com/tracerdev/tracer/internal/chdb"
)

func TestBind(t *testing.T) {
	for _, tt := range []struct {
		name  string
		query string
		args  []any
		want  string
		err   bool
	}{
		{"string escaped", "a = ?", []any{`x'\` + "\x00"}, `a = 'x\'\\\0'`, false},
		{"ints", "? ? ? ?", []any{1, int8(-2), int64(3), uint64(4)}, "1 -2 3 4", false},
		{"too few args", "? ?", []any{1}, "", true},
		{"too many args", "?", []any{1, 2}, "", true},
		{"string array", "has(?, x)", []any{[]string{"a", "b'"}}, `has(['a', 'b\''], x)`, false},
		{"unsupported", "?", []any{1.5}, "", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := chdb.Bind(tt.query, tt.args...)
			if (err != nil) != tt.err {
				t.Fatalf("Bind err = %v, want error %v", err, tt.err)
			}
			if got != tt.want {
				t.Errorf("Bind = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRunReportsFailures(t *testing.T) {
	chdb.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, res, err := chdb.Run(ctx, []chdb.Statement{{Name: "bad", SQL: "SELEC 1"}, {Name: "good", SQL: "SELECT 1 AS x"}})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Error == "" {
		t.Error("a syntax error was not reported")
	}
	if res[1].Error != "" || res[1].Output != "{\"x\":1}\n" {
		t.Errorf("good statement after a bad one = %+v", res[1])
	}
}
