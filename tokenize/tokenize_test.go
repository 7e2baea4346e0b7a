package tokenize

import (
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// TestMain makes any attempt to reach the network fail, so that a loader
// falling back to a download would fail the tests instead of passing
// silently on a machine with network access.
func TestMain(m *testing.M) {
	for _, k := range []string{"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"} {
		os.Setenv(k, "http://127.0.0.1:1")
	}
	os.Setenv("NO_PROXY", "")
	os.Setenv("no_proxy", "")
	// The default loader caches downloads here; an empty folder rules out a
	// warm cache standing in for the embedded vocabulary.
	dir, err := os.MkdirTemp("", "tiktoken-cache")
	if err != nil {
		panic(err)
	}
	os.Setenv("TIKTOKEN_CACHE_DIR", dir)
	http.DefaultTransport.(*http.Transport).Proxy = http.ProxyFromEnvironment
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func TestCountKnownValues(t *testing.T) {
	// Reference counts of the cl100k_base vocabulary.
	tests := []struct {
		text string
		want int
	}{
		{"", 0},
		{"hello world", 2},
		{"Hello, world!", 4},
		{"tiktoken is great!", 6},
		{"<|endoftext|>", 7},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			require.NoError(t, Init())
			require.Equal(t, tt.want, Count(tt.text))
		})
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	for _, text := range []string{
		"plain ASCII text",
		"Grüße aus Köln — naïve café",
		"日本語のテキストとemoji 🎉🎉",
		"```go\nfunc main() {\n\tprintln(\"hi\")\n}\n```",
	} {
		toks := Encode(text)
		require.Len(t, toks, Count(text))
		require.Equal(t, text, Decode(toks))
	}
	require.Nil(t, Encode(""))
	require.Equal(t, "", Decode(nil))
}

func TestTruncate(t *testing.T) {
	text := strings.Repeat("Grüße 🎉 aus Köln, 日本語. ", 40)
	total := Count(text)
	for _, max := range []int{0, 1, 2, 3, 7, 50, total - 1, total, total + 5} {
		head := Truncate(text, max)
		tail := TruncateStart(text, max)
		for _, s := range []string{head, tail} {
			require.True(t, utf8.ValidString(s))
			require.LessOrEqual(t, Count(s), max)
		}
		require.True(t, strings.HasPrefix(text, head))
		require.True(t, strings.HasSuffix(text, tail))
		if max >= total {
			require.Equal(t, text, head)
			require.Equal(t, text, tail)
		}
		if max >= 3 && max < total {
			// A cut keeps close to the budget: it loses at most the tokens
			// of the one character it had to step over.
			require.GreaterOrEqual(t, Count(head), max-3)
			require.GreaterOrEqual(t, Count(tail), max-3)
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	texts := []string{"one two three", "Grüße aus Köln", "func main() {}", strings.Repeat("x ", 100)}
	want := make([]int, len(texts))
	for i, s := range texts {
		want[i] = Count(s)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				k := (g + i) % len(texts)
				if got := Count(texts[k]); got != want[k] {
					t.Errorf("Count(%q) = %d, want %d", texts[k], got, want[k])
				}
				if got := Decode(Encode(texts[k])); got != texts[k] {
					t.Errorf("round trip of %q gave %q", texts[k], got)
				}
			}
		})
	}
	wg.Wait()
}

// TestNetworkIsBlocked proves the guard of TestMain works: were it not in
// force, TestCountKnownValues could pass by downloading the vocabulary.
func TestNetworkIsBlocked(t *testing.T) {
	resp, err := http.Get("https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken")
	if err == nil {
		resp.Body.Close()
	}
	require.Error(t, err)
}

func BenchmarkCount(b *testing.B) {
	text := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 200)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		Count(text)
	}
}
