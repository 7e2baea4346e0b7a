package nats

import (
	"net/textproto"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestHeaderCodec(t *testing.T) {
	tests := []struct {
		name     string
		key, val string
		plainKey bool
		plainVal bool
	}{
		{"engine header", "factflow-attempt", "2", true, true},
		{"timestamp", "factflow-first-failed-at", "2026-11-23T17:51:00.123456789Z", true, true},
		{"unicode value travels as is", "x-note", "héllo ✓ 日本語", true, true},
		{"empty value", "x-empty", "", true, true},
		{"inner spaces", "x-spaced", "a  b", true, true},
		{"leading space", "x-pad", " padded", true, false},
		{"trailing space", "x-pad", "padded ", true, false},
		{"newline", "x-lines", "one\ntwo", true, false},
		{"tab", "x-tab", "\tx", true, false},
		{"value looking encoded", "x-marker", encodedValuePrefix + "abc", true, false},
		{"key with colon", "a:b", "v", false, true},
		{"key with space", "a b", "v", false, true},
		{"unicode key", "ключ", "v", false, true},
		{"server header", "Nats-Msg-Id", "v", false, true},
		{"server header any case", "nats-ttl", "v", false, true},
		{"key looking encoded", encodedKeyPrefix + "x", "v", false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wk, wv := wireKey(tc.key), wireValue(tc.val)
			require.Equal(t, tc.plainKey, wk == tc.key, "key %q sent as %q", tc.key, wk)
			require.Equal(t, tc.plainVal, wv == tc.val, "value %q sent as %q", tc.val, wv)
			require.Equal(t, tc.key, plainKey(wk))
			require.Equal(t, tc.val, plainValue(wv))
		})
	}
}

func TestEncodeHeadersSetsID(t *testing.T) {
	h := encodeHeaders(map[string]string{"factflow-message-id": "stale", "x": "y"}, "factflow-message-id", "fresh")
	got := decodeHeaders(h)
	require.Equal(t, map[string]string{"factflow-message-id": "fresh", "x": "y"}, got)
}

// FuzzHeaderCodec: whatever the headers, what goes on the wire survives
// NATS's header format unchanged and decodes to the original.
func FuzzHeaderCodec(f *testing.F) {
	f.Add("factflow-attempt", "1")
	f.Add("a:b c", " x\r\ny ")
	f.Add("Nats-Msg-Id", "=?b64?")
	f.Add("ключ", "")
	f.Fuzz(func(t *testing.T, k, v string) {
		if k == "" {
			return // not a header
		}
		wk, wv := wireKey(k), wireValue(v)
		require.True(t, plainKeyOK(wk) || strings.HasPrefix(wk, encodedKeyPrefix), "wire key %q", wk)
		require.True(t, len(wk) < 5 || !strings.EqualFold(wk[:5], "nats-"), "wire key %q steers the server", wk)
		for i := 0; i < len(wk); i++ {
			require.True(t, wk[i] > ' ' && wk[i] < 0x7f && !strings.ContainsRune(`"()/,:;<=>?@[\]{}`, rune(wk[i])), "wire key %q", wk)
		}
		require.Equal(t, textproto.TrimString(wv), wv, "wire value %q would be trimmed", wv)
		require.NotContains(t, wv, "\r")
		require.NotContains(t, wv, "\n")
		require.Equal(t, k, plainKey(wk))
		require.Equal(t, v, plainValue(wv))
	})
}
