package core

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestGlob(t *testing.T) {
	tests := []struct {
		pattern string
		path    string
		want    bool
	}{
		{"*.md", "README.md", true},
		{"*.md", "docs/deep/guide.md", true},
		{"*.md", "docs/guide.mdx", false},
		{"docs/*.md", "docs/guide.md", true},
		{"docs/*.md", "docs/deep/guide.md", false},
		{"docs/**/*.md", "docs/guide.md", true},
		{"docs/**/*.md", "docs/a/b/c/guide.md", true},
		{"docs/**", "docs/a/b", true},
		{"docs/**", "other/a", false},
		{"**/drafts/**", "a/drafts/x.md", true},
		{"**/drafts/**", "drafts/x.md", true},
		{"node_modules", "web/node_modules", true},
		{"guide-[0-9].md", "guide-7.md", true},
		{"./docs/*.html", "docs/a.html", true},
		{"docs/", "docs", true},
	}
	for _, tt := range tests {
		g, err := compileGlob(tt.pattern)
		require.NoError(t, err, tt.pattern)
		require.Equal(t, tt.want, g.match(tt.path), "%s ~ %s", tt.pattern, tt.path)
	}
	for _, bad := range []string{"", "/abs/*.md", "docs/**.md", "[", "a/[b"} {
		_, err := compileGlob(bad)
		require.Error(t, err, bad)
	}
}
