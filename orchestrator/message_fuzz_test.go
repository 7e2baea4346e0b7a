package orchestrator

import (
	stdjson "encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzPayloadCodec holds the fast JSON codec to encoding/json's results:
// whatever encoding/json accepts as an object decodes to the same value,
// what it rejects is rejected, nothing panics, and an encoded payload
// decodes back to itself.
func FuzzPayloadCodec(f *testing.F) {
	for _, s := range []string{
		`{}`, `null`, `{"a":1}`, `{"a":"<b>&</b>","n":-1.5e300,"l":[1,"x",null,true,{"k":[]}]}`,
		`{"u":"\u00e9\ud83d\ude00","bad":"\xff"}`, `{"dup":1,"dup":2}`, `{"a":}`, `[1,2]`, `"s"`, ``,
		`{"deep":[[[[[[[[[[{}]]]]]]]]]]}`, `{"big":12345678901234567890}`, `{"a":1} trailing`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var want map[string]any
		stdErr := stdjson.Unmarshal(b, &want)
		got, err := decodePayload(b)
		if stdErr != nil {
			require.Error(t, err, "encoding/json rejects %q", b)
			return
		}
		require.NoError(t, err, "encoding/json accepts %q", b)
		if want == nil {
			want = map[string]any{}
		}
		require.Equal(t, want, map[string]any(got))

		enc, err := EncodePayload(got, 0)
		require.NoError(t, err)
		back, err := decodePayload(enc)
		require.NoError(t, err)
		require.Equal(t, map[string]any(got), map[string]any(back))
	})
}
