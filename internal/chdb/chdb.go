package chdb

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

// ErrUnavailable means node or the chdb npm package is missing.
var ErrUnavailable = errors.New("chdb unavailable: need node and `npm ci` in internal/chdb (run `make deps`)")

// Statement is one SQL text to run.
type Statement struct {
	Name string `json:"name"`
	SQL  string `json:"sql"`
}

// Result is the outcome of one Statement: Error is empty on success and
// Output holds the rows in JSONEachRow format.
type Result struct {
	Name   string `json:"name"`
	Error  string `json:"error"`
	Output string `json:"output"`
}

// Rows splits Output into one JSON object per row.
func (r Result) Rows() []string {
	var out []string
	for _, l := range strings.Split(r.Output, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

// Dir returns this package's source directory, where package.json and
// node_modules are.
func Dir() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("chdb: cannot locate source directory")
	}
	return filepath.Dir(file), nil
}

// Available reports whether node and the chdb package are installed.
func Available() error {
	if _, err := exec.LookPath("node"); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	dir, err := Dir()
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "chdb", "package.json")); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return nil
}

// Run runs stmts in order in one chdb session and returns the ClickHouse
// version and a Result per statement. A failing statement is reported in
// its Result; err is for failures of the run itself.
func Run(ctx context.Context, stmts []Statement) (version string, results []Result, err error) {
	if err := Available(); err != nil {
		return "", nil, err
	}
	dir, err := Dir()
	if err != nil {
		return "", nil, err
	}
	in, err := json.Marshal(stmts)
	if err != nil {
		return "", nil, fmt.Errorf("chdb: encode: %w", err)
	}
	cmd := exec.CommandContext(ctx, "node", filepath.Join(dir, "check.js"))
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", nil, fmt.Errorf("chdb: node check.js: %w: %s", err, tail(stderr.String()))
	}
	var out struct {
		Version string   `json:"version"`
		Results []Result `json:"results"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		return "", nil, fmt.Errorf("chdb: decode output: %w: %s", err, tail(stderr.String()))
	}
	if len(out.Results) != len(stmts) {
		return "", nil, fmt.Errorf("chdb: %d results for %d statements", len(out.Results), len(stmts))
	}
	return out.Version, out.Results, nil
}

func tail(s string) string {
	if len(s) > 2000 {
		return s[len(s)-2000:]
	}
	return s
}

// Bind replaces each ? placeholder in query, in order, with args as SQL
// literals: strings quoted and escaped, integers in decimal, string slices
// as arrays. It is for
// test query texts, whose ? never appear inside quotes.
func Bind(query string, args ...any) (string, error) {
	var b strings.Builder
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] != '?' {
			b.WriteByte(query[i])
			continue
		}
		if n >= len(args) {
			return "", fmt.Errorf("bind: more placeholders than %d arguments", len(args))
		}
		lit, err := literal(args[n])
		if err != nil {
			return "", fmt.Errorf("bind: argument %d: %w", n, err)
		}
		b.WriteString(lit)
		n++
	}
	if n != len(args) {
		return "", fmt.Errorf("bind: %d placeholders for %d arguments", n, len(args))
	}
	return b.String(), nil
}

var quoter = strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\x00", `\0`)

func literal(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return "'" + quoter.Replace(v) + "'", nil
	case int:
		return strconv.Itoa(v), nil
	case int8:
		return strconv.FormatInt(int64(v), 10), nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case uint32:
		return strconv.FormatUint(uint64(v), 10), nil
	case uint64:
		return strconv.FormatUint(v, 10), nil
	case []string:
		parts := make([]string, len(v))
		for i, s := range v {
			parts[i] = "'" + quoter.Replace(s) + "'"
		}
		return "[" + strings.Join(parts, ", ") + "]", nil
	}
	return "", fmt.Errorf("unsupported type %T", v)
}
