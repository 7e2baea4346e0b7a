package markdown

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/adapters"
)

func TestCheckFieldPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		path    string
		wantErr string
	}{
		{"markdown", ""},
		{"segment.text", ""},
		{"", "source_field: a field path is required"},
		{"a..b", `source_field: "a..b" has an empty segment`},
		{"a.", `source_field: "a." has an empty segment`},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			t.Parallel()
			err := checkFieldPath("source_field", tt.path)
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.EqualError(t, err, tt.wantErr)
		})
	}
}

// TestTargetPathConflict checks that an adapter writing through a payload
// value that is not an object fails instead of replacing the value.
func TestTargetPathConflict(t *testing.T) {
	st := newStore(t)
	ctx := t.Context()
	_, err := st.Put(ctx, "page.html", strings.NewReader("<p>x</p>"), nil)
	require.NoError(t, err)
	deps := adapters.Deps{Storage: st}
	tests := []struct {
		name    string
		typ     string
		cfg     string
		payload adapters.Payload
		field   string
	}{
		{"html_to_markdown", "html_to_markdown", "{target_field: doc.markdown}",
			adapters.Payload{"content": "<p>x</p>", "doc": "a string"}, "doc"},
		{"markdown_storage_writer", "markdown_storage_writer", "{key_field: keys.markdown}",
			adapters.Payload{"markdown": "# x", "keys": []any{"k"}}, "keys"},
		{"storage_retriever", "storage_retriever", "{target_field: doc.body.text}",
			adapters.Payload{"storage_key": "page.html", "doc": map[string]any{"body": 7}}, "doc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := build(t, tt.typ, tt.cfg, deps)
			want := tt.payload[tt.field]
			_, err := a.Process(ctx, &adapters.Input{Meta: testMeta(tt.typ), Payload: tt.payload})
			requireCode(t, err, "PAYLOAD_PATH_CONFLICT", adapters.ClassPermanent)
			require.ErrorContains(t, err, "not an object")
			require.Equal(t, want, tt.payload[tt.field], "the value in the way was replaced")
		})
	}
}
