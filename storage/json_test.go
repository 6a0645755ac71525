package storage

import (
	"encoding/json"
	"math"
	"testing"
)

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "plain", `q"uote\back`, "tab\tnl\ncr\r\x00\x1f", "héllo wörld ✓", "bad \xff utf8 \xe2\x82", "😀"} {
		got := AppendJSONString([]byte("x"), s)
		var back string
		if err := json.Unmarshal(got[1:], &back); err != nil {
			t.Fatalf("%q gave invalid JSON %s: %v", s, got, err)
		}
		want, _ := json.Marshal(s) // encoding/json also maps bad UTF-8 to U+FFFD
		var wantBack string
		_ = json.Unmarshal(want, &wantBack)
		if back != wantBack {
			t.Errorf("%q round trip = %q, want %q", s, back, wantBack)
		}
		if b := AppendJSONString(nil, []byte(s)); string(b) != string(got[1:]) {
			t.Errorf("[]byte and string forms differ: %s vs %s", b, got[1:])
		}
	}
}

func TestAppendJSONFloat(t *testing.T) {
	for f, want := range map[float64]string{1.5: "1.5", 1e21: "1e+21", math.NaN(): `"NaN"`, math.Inf(1): `"Infinity"`, math.Inf(-1): `"-Infinity"`} {
		if got := string(AppendJSONFloat(nil, f)); got != want {
			t.Errorf("AppendJSONFloat(%v) = %s, want %s", f, got, want)
		}
	}
}
