package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseBytes(t *testing.T) {
	tests := []struct {
		in   string
		want int64
	}{
		{"0", 0},
		{"1048576", 1 << 20},
		{"1B", 1},
		{"64MiB", 64 << 20},
		{"64mib", 64 << 20},
		{"64 MiB", 64 << 20},
		{"64Mi", 64 << 20},
		{"1GiB", 1 << 30},
		{"1gib", 1 << 30},
		{"2TiB", 2 << 40},
		{"1PiB", 1 << 50},
		{"7EiB", 7 << 60},
		{"512KB", 512_000},
		{"512kB", 512_000},
		{"512KiB", 512 << 10},
		{"3MB", 3_000_000},
		{"1GB", 1_000_000_000},
		{"1TB", 1e12},
		{"9EB", 9e18},
		{"1.5GiB", 3 << 29},
		{"1.5KB", 1500},
		{"0.5KiB", 512},
		{"9223372036854775807", math.MaxInt64},
		{"9223372036854775807B", math.MaxInt64},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseBytes(tt.in)
			if err != nil {
				t.Fatalf("parseBytes(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("parseBytes(%q) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseBytesErrors(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", "empty"},
		{"lots", "not a size"},
		{"-1", "negative"},
		{"-1MiB", "negative"},
		{"+1", "not a size"},
		{"1.", "not a size"},
		{".5KiB", "not a size"},
		{"1.2.3", "not a size"},
		{"64M", "write MB (powers of 1000) or MiB (powers of 1024)"},
		{"1g", "write GB"},
		{"1Mbit", "unknown unit"},
		{"64MiB ", "unknown unit"},
		{"0.3KiB", "not a whole number of bytes"},
		{"1.0000001B", "not a whole number of bytes"},
		{"8EiB", "larger than"},
		{"9223372036854775808", "larger than"},
		{"10EB", "larger than"},
		{strings.Repeat("9", 100), "too long"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseBytes(tt.in)
			if err == nil {
				t.Fatalf("parseBytes(%q) = %d, want an error", tt.in, got)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("parseBytes(%q): %v, want it to say %q", tt.in, err, tt.want)
			}
		})
	}
}

func TestFormatBytes(t *testing.T) {
	tests := []struct {
		in   int64
		want string
	}{
		{0, "0"},
		{1, "1B"},
		{1500, "1500B"},
		{1000, "1kB"},
		{4096, "4KiB"},
		{64 << 20, "64MiB"},
		{8 << 20, "8MiB"},
		{1 << 30, "1GiB"},
		{3 << 29, "1536MiB"},
		{5_000_000, "5MB"},
		{math.MaxInt64, "9223372036854775807B"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := formatBytes(tt.in); got != tt.want {
				t.Errorf("formatBytes(%d) = %q, want %q", tt.in, got, tt.want)
			}
			if back, err := parseBytes(formatBytes(tt.in)); err != nil || back != tt.in {
				t.Errorf("parseBytes(formatBytes(%d)) = %d, %v", tt.in, back, err)
			}
		})
	}
}

// FuzzParseBytes: parseBytes never panics, refuses negatives, and what it
// accepts formats back to the same size.
func FuzzParseBytes(f *testing.F) {
	for _, s := range []string{"0", "64MiB", "512KB", "1.5GiB", "1048576", "-1", "64M", "8EiB", "0.3KiB", "1 gb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseBytes(s)
		if err != nil {
			return
		}
		if n < 0 {
			t.Fatalf("parseBytes(%q) = %d, negative", s, n)
		}
		text := formatBytes(n)
		back, err := parseBytes(text)
		if err != nil || back != n {
			t.Fatalf("parseBytes(%q) = %d, formatted %q, read back as %d, %v", s, n, text, back, err)
		}
	})
}

func TestFormatDuration(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{0, "0s"},
		{200 * time.Millisecond, "200ms"},
		{30 * time.Second, "30s"},
		{10 * time.Minute, "10m"},
		{90 * time.Minute, "1h30m"},
		{72 * time.Hour, "72h"},
		{time.Hour + time.Second, "1h0m1s"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			got := formatDuration(tt.in)
			if got != tt.want {
				t.Errorf("formatDuration(%v) = %q, want %q", tt.in, got, tt.want)
			}
			if back, err := time.ParseDuration(got); err != nil || back != tt.in {
				t.Errorf("ParseDuration(%q) = %v, %v", got, back, err)
			}
		})
	}
}

// TestValues: each flag type parses what its usage text promises and
// refuses the rest with a message that says why.
func TestValues(t *testing.T) {
	var (
		i32 uint32
		i   int
		b   bool
		d   time.Duration
		sz  int
		l   []string
	)
	tests := []struct {
		name    string
		v       value
		in      string
		want    string // String() after Set
		wantErr string
	}{
		{"int", intValue[int]{&i}, "42", "42", ""},
		{"int negative", intValue[int]{&i}, "-3", "-3", ""},
		{"int hex refused", intValue[int]{&i}, "0x10", "", "not an integer"},
		{"int empty", intValue[int]{&i}, "", "", "empty"},
		{"int out of range", intValue[int]{&i}, "99999999999999999999", "", "out of range"},
		{"uint32 negative", intValue[uint32]{&i32}, "-1", "", "out of range"},
		{"uint32 too large", intValue[uint32]{&i32}, "4294967296", "", "out of range"},
		{"bool true", boolValue{&b}, "true", "true", ""},
		{"bool 0", boolValue{&b}, "0", "false", ""},
		{"bool empty", boolValue{&b}, "", "", "empty"},
		{"bool maybe", boolValue{&b}, "maybe", "", "not true or false"},
		{"duration", durationValue{&d}, "72h", "72h", ""},
		{"duration ms", durationValue{&d}, "1500ms", "1.5s", ""},
		{"duration unitless", durationValue{&d}, "30", "", "not a duration"},
		{"duration empty", durationValue{&d}, "", "", "empty"},
		{"size", bytesValue[int]{&sz}, "512KiB", "512KiB", ""},
		{"size SI", bytesValue[int]{&sz}, "2MB", "2MB", ""},
		{"size bad", bytesValue[int]{&sz}, "big", "", "not a size"},
		{"list", listValue{&l}, " a:1, ,b:2 ", "a:1,b:2", ""},
		{"list empty", listValue{&l}, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.v.Set(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Set(%q): got %v, want an error saying %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Set(%q): %v", tt.in, err)
			}
			if got := tt.v.String(); got != tt.want {
				t.Errorf("after Set(%q): String() = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestSettingKeys: each setting's YAML key, as the usage text and Validate's
// messages name it, is the key of the same field in the file.
func TestSettingKeys(t *testing.T) {
	for _, sec := range collectorSettings {
		for _, s := range sec.settings {
			t.Run(s.key, func(t *testing.T) {
				if s.key == "" {
					t.Fatalf("%s has no YAML key", s.env)
				}
				var scratch config
				var text, want string
				switch s.field(&scratch).(type) {
				case stringValue:
					text, want = `"127.0.0.1:1"`, "127.0.0.1:1"
				case listValue:
					text, want = `["127.0.0.1:1"]`, "127.0.0.1:1"
				case boolValue:
					text, want = "true", "true"
				case durationValue:
					text, want = "7s", "7s"
				case bytesValue[int], bytesValue[int64]:
					text, want = "4096", "4KiB"
				default:
					text, want = "3", "3"
				}
				var doc strings.Builder
				parts := strings.Split(s.key, ".")
				for i, p := range parts {
					doc.WriteString(strings.Repeat("  ", i) + p + ":")
					if i < len(parts)-1 {
						doc.WriteString("\n")
					}
				}
				doc.WriteString(" " + text + "\n")
				path := filepath.Join(t.TempDir(), "c.yaml")
				if err := os.WriteFile(path, []byte(doc.String()), 0o600); err != nil {
					t.Fatal(err)
				}
				var cfg config
				if err := cfg.LoadFile(path); err != nil {
					t.Fatalf("%s: %v", s.key, err)
				}
				if got := s.field(&cfg).String(); got != want {
					t.Errorf("after %q in the file, --%s is %q, want %q", doc.String(), s.flag, got, want)
				}
			})
		}
	}
}

// TestValidateSources: a problem Validate finds names the flag or variable
// that set the value.
func TestValidateSources(t *testing.T) {
	m, _, _ := testMain(map[string]string{"TRACER_WAL_MAX_BYTES": "1MiB", "TRACER_LOG_LEVEL": "loud", "TRACER_BATCH_SIZE": "5"})
	_, err := m.loadCollectorConfig([]string{"--batch-size", "0", "--storage", "clickhouse", "--clickhouse-addr", "nocolon"})
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{
		"wal.max_bytes (1048576) must be at least wal.segment_size (67108864) (set by $TRACER_WAL_MAX_BYTES)",
		"batch.size must be positive, got 0 (set by --batch-size)",
		`storage.clickhouse.addr "nocolon": want host:port: address nocolon: missing port in address (set by --clickhouse-addr)`,
		`telemetry.log_level must be debug, info, warn or error; got "loud" (set by $TRACER_LOG_LEVEL)`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}
