package web

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/adapters"
)

// roundTrip passes a payload through JSON, as a broker hop does.
func roundTrip(t *testing.T, p adapters.Payload) adapters.Payload {
	t.Helper()
	b, err := json.Marshal(p)
	require.NoError(t, err)
	var out adapters.Payload
	require.NoError(t, json.Unmarshal(b, &out))
	return out
}

func TestURLExpander(t *testing.T) {
	t.Parallel()
	sitemapOut := adapters.Payload{
		"sitemap_url": "https://docs.example/sitemap.xml",
		"tenant":      "acme",
		"lang":        "en",
		"urls": []any{
			map[string]any{"url": "https://docs.example/a", "lastmod": "2024-01-01"},
			map[string]any{"url": "https://docs.example/b"},
			map[string]any{"lastmod": "2024-01-03"}, // no url: skipped
			42,                                      // not an entry: skipped
			"https://docs.example/c",
		},
	}
	tests := []struct {
		name    string
		cfg     URLExpanderConfig
		payload adapters.Payload
		want    []adapters.Payload
	}{
		{
			name:    "sitemap output",
			cfg:     URLExpanderConfig{},
			payload: sitemapOut,
			want: []adapters.Payload{
				{"url": "https://docs.example/a", "lastmod": "2024-01-01", "source_url": "https://docs.example/sitemap.xml"},
				{"url": "https://docs.example/b", "source_url": "https://docs.example/sitemap.xml"},
				{"url": "https://docs.example/c", "source_url": "https://docs.example/sitemap.xml"},
			},
		},
		{
			name:    "after a broker hop, with carry and max",
			cfg:     URLExpanderConfig{Field: "urls", Max: 2, Carry: []string{"tenant", "missing"}},
			payload: roundTrip(t, sitemapOut),
			want: []adapters.Payload{
				{"url": "https://docs.example/a", "lastmod": "2024-01-01", "source_url": "https://docs.example/sitemap.xml", "tenant": "acme"},
				{"url": "https://docs.example/b", "source_url": "https://docs.example/sitemap.xml", "tenant": "acme"},
			},
		},
		{
			name:    "custom field of strings, source from url",
			cfg:     URLExpanderConfig{Field: "links", Carry: []string{"url"}},
			payload: adapters.Payload{"url": "https://docs.example/index", "links": []string{"https://docs.example/x"}},
			want: []adapters.Payload{
				// The entry's url wins over the carried parent url.
				{"url": "https://docs.example/x", "source_url": "https://docs.example/index"},
			},
		},
		{
			name:    "entry source wins",
			cfg:     URLExpanderConfig{},
			payload: adapters.Payload{"sitemap_url": "s", "urls": []map[string]any{{"url": "u", "source_url": "own"}}},
			want:    []adapters.Payload{{"url": "u", "source_url": "own"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			x := build(t, TypeURLExpander, tt.cfg, adapters.Deps{})
			res, err := process(t, x, tt.payload)
			require.NoError(t, err)
			require.NotNil(t, res)
			require.Nil(t, res.Message)
			require.Equal(t, tt.want, res.Emitted)
		})
	}
}

func TestURLExpanderEdgeCases(t *testing.T) {
	t.Parallel()
	x := build(t, TypeURLExpander, URLExpanderConfig{}, adapters.Deps{})

	res, err := process(t, x, adapters.Payload{"urls": []any{}})
	require.NoError(t, err)
	require.Nil(t, res, "an empty list publishes nothing")

	_, err = process(t, x, adapters.Payload{"url": "https://docs.example/"})
	requireCode(t, err, adapters.ClassPermanent, CodeFieldMissing)

	_, err = process(t, x, adapters.Payload{"urls": "https://docs.example/"})
	requireCode(t, err, adapters.ClassPermanent, CodeFieldType)

	_, err = buildErr(TypeURLExpander, URLExpanderConfig{Max: -1}, adapters.Deps{})
	require.Error(t, err)
}

// TestURLExpanderEmitsIndependentMessages checks that emitted messages do
// not share maps with each other or with the parent.
func TestURLExpanderEmitsIndependentMessages(t *testing.T) {
	t.Parallel()
	x := build(t, TypeURLExpander, URLExpanderConfig{}, adapters.Deps{})
	entry := map[string]any{"url": "https://docs.example/a"}
	parent := adapters.Payload{"urls": []any{entry, entry}}
	res, err := process(t, x, parent)
	require.NoError(t, err)
	require.Len(t, res.Emitted, 2)
	res.Emitted[0]["url"] = "changed"
	require.Equal(t, "https://docs.example/a", res.Emitted[1]["url"])
	require.Equal(t, "https://docs.example/a", entry["url"])
}
