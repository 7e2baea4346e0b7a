package core

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/adapters"
	"github.com/factflow/factflow/storage"
	"github.com/factflow/factflow/storage/fs"
)

// tree builds a folder with nested folders, files to exclude, links inside
// and out of the root, and returns the root and the outside folder.
func tree(t *testing.T) (root, outside string) {
	t.Helper()
	base := t.TempDir()
	root = filepath.Join(base, "site")
	outside = filepath.Join(base, "outside")
	files := map[string]string{
		"site/index.html":                "<html><title>Home</title></html>",
		"site/README.md":                 "# Readme",
		"site/notes.txt":                 "plain notes",
		"site/logo.bin":                  "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
		"site/unknown.xyz":               "some text without a known extension",
		"site/docs/guide.md":             "# Guide\n\nText.",
		"site/docs/deep/nested/api.html": "<h1>API</h1>",
		"site/docs/drafts/wip.md":        "# WIP",
		"site/node_modules/pkg/index.md": "# vendored",
		"site/big.md":                    strings.Repeat("x", 4096),
		"site/odd\\name.meta.json":       "{}",
		"outside/secret.md":              "# Secret",
		"outside/more/other.md":          "# Other",
	}
	for name, body := range files {
		p := filepath.Join(base, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	}
	require.NoError(t, os.Symlink(filepath.Join(root, "docs", "guide.md"), filepath.Join(root, "link_inside.md")))
	require.NoError(t, os.Symlink(filepath.Join(outside, "secret.md"), filepath.Join(root, "link_escape.md")))
	require.NoError(t, os.Symlink("../outside", filepath.Join(root, "linkdir")))
	require.NoError(t, os.MkdirAll(filepath.Join(root, "empty"), 0o755))
	return root, outside
}

func newStore(t *testing.T) *fs.Store {
	t.Helper()
	s, err := fs.New(t.TempDir(), fs.WithSync(false))
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func rels(msgs []adapters.Payload) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, m["relative_path"].(string))
	}
	return out
}

var fileMeta = adapters.Meta{ExecutionID: "exec-1", Route: "ingest", Stage: "file_source", CorrelationID: "corr-1", Attempt: 1}

func TestFileSourceStoresEveryFile(t *testing.T) {
	root, _ := tree(t)
	st := newStore(t)
	a := build(t, "file_source", "{root: "+root+", max_file_bytes: 1024}", adapters.Deps{Storage: st})
	res, err := a.Process(t.Context(), &adapters.Input{Meta: fileMeta, Payload: adapters.Payload{"collection": "site", "tags": []any{"a"}}})
	require.NoError(t, err)
	require.Nil(t, res.Message)
	// Lexical order; big.md is over max_file_bytes; the escaping link and
	// the linked folder are not followed; the link inside the root is.
	require.Equal(t, []string{
		"README.md",
		"docs/deep/nested/api.html",
		"docs/drafts/wip.md",
		"docs/guide.md",
		"index.html",
		"link_inside.md",
		"logo.bin",
		"node_modules/pkg/index.md",
		"notes.txt",
		"odd\\name.meta.json",
		"unknown.xyz",
	}, rels(res.Emitted))

	types := map[string]string{}
	for _, m := range res.Emitted {
		rel := m["relative_path"].(string)
		types[rel] = m["content_type"].(string)
		require.Equal(t, "site", m["collection"], "incoming fields are carried")
		require.Equal(t, filepath.Join(root, filepath.FromSlash(rel)), m["path"])
		require.NotEmpty(t, m["modified_at"])

		key := m["storage_key"].(string)
		require.NoError(t, storage.ValidateKey(key))
		require.True(t, strings.HasPrefix(key, "executions/exec-1/ingest/file_source/"), key)
		rc, info, err := st.Get(t.Context(), key)
		require.NoError(t, err)
		body, err := io.ReadAll(rc)
		rc.Close()
		require.NoError(t, err)
		want, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
		require.NoError(t, err)
		require.Equal(t, string(want), string(body), rel)
		require.EqualValues(t, len(want), m["size"])
		require.Equal(t, m["content_type"], info.ContentType)
		require.Equal(t, rel, info.Metadata["relative_path"])
		require.True(t, strings.HasPrefix(info.Metadata[storage.MetaSourceURL].(string), "file:///"))
	}
	require.Equal(t, "text/html", types["index.html"])
	require.Equal(t, "text/markdown", types["README.md"])
	require.Equal(t, "text/plain", types["notes.txt"])
	require.Equal(t, "image/png", types["logo.bin"])
	require.Equal(t, "text/plain; charset=utf-8", types["unknown.xyz"])
	require.Equal(t, "executions/exec-1/ingest/file_source/docs/guide.md", res.Emitted[3]["storage_key"])
	require.Equal(t, "executions/exec-1/ingest/file_source/odd_name.meta.json_", res.Emitted[9]["storage_key"])

	// Carried values are copies: editing one message leaves the others.
	res.Emitted[0]["tags"].([]any)[0] = "changed"
	require.Equal(t, "a", res.Emitted[1]["tags"].([]any)[0])

	// A rerun is identical.
	again, err := a.Process(t.Context(), &adapters.Input{Meta: fileMeta, Payload: adapters.Payload{}})
	require.NoError(t, err)
	require.Equal(t, rels(res.Emitted), rels(again.Emitted))
}

func TestFileSourceFilters(t *testing.T) {
	root, _ := tree(t)
	tests := []struct {
		name string
		cfg  string
		want []string
	}{
		{"include and exclude", `{include: ["*.md"], exclude: ["**/drafts/**", node_modules, big.md]}`,
			[]string{"README.md", "docs/guide.md", "link_inside.md"}},
		{"path pattern", `{include: ["docs/**/*.html"]}`, []string{"docs/deep/nested/api.html"}},
		{"not recursive", `{recursive: false, include: ["*.md", "*.html"]}`,
			[]string{"README.md", "big.md", "index.html", "link_inside.md"}},
		{"max files", `{max_files: 2}`, []string{"README.md", "big.md"}},
		{"excluded folder", `{exclude: [docs, node_modules, "*.bin", "*.xyz", "*.json", "*.txt"]}`,
			[]string{"README.md", "big.md", "index.html", "link_inside.md"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := strings.TrimSuffix(tt.cfg, "}") + ", root: " + root + ", mode: path}"
			a := build(t, "file_source", cfg, adapters.Deps{})
			res, err := a.Process(t.Context(), &adapters.Input{Meta: fileMeta, Payload: adapters.Payload{}})
			require.NoError(t, err)
			require.Equal(t, tt.want, rels(res.Emitted))
			for _, m := range res.Emitted {
				require.NotContains(t, m, "storage_key", "path mode stores nothing")
			}
		})
	}
}

func TestFileSourceRoots(t *testing.T) {
	root, outside := tree(t)
	st := newStore(t)
	deps := adapters.Deps{Storage: st}
	withRoot := build(t, "file_source", "{root: "+root+", include: ['*.md', '*.html']}", deps)
	noRoot := build(t, "file_source", "{}", deps)
	run := func(a adapters.Adapter, p adapters.Payload) (*adapters.Result, error) {
		return a.Process(t.Context(), &adapters.Input{Meta: fileMeta, Payload: p})
	}

	res, err := run(withRoot, adapters.Payload{"path": "docs"})
	require.NoError(t, err)
	require.Equal(t, []string{"deep/nested/api.html", "drafts/wip.md", "guide.md"}, rels(res.Emitted))
	require.Equal(t, filepath.Join(root, "docs", "guide.md"), res.Emitted[2]["path"], "path names the file, replacing the request")

	res, err = run(withRoot, adapters.Payload{"root": filepath.Join(root, "README.md")})
	require.NoError(t, err)
	require.Equal(t, []string{"README.md"}, rels(res.Emitted), "a file root yields that file")
	require.Equal(t, "text/markdown", res.Emitted[0]["content_type"])

	res, err = run(noRoot, adapters.Payload{"root": outside})
	require.NoError(t, err)
	require.Equal(t, []string{"more/other.md", "secret.md"}, rels(res.Emitted))

	for _, p := range []string{"../outside", outside, "linkdir", "link_escape.md"} {
		_, err = run(withRoot, adapters.Payload{"path": p})
		requireCode(t, err, "FILE_SOURCE_OUTSIDE_ROOT", adapters.ClassPermanent)
	}
	_, err = run(noRoot, adapters.Payload{"path": "relative/dir"})
	requireCode(t, err, "FILE_SOURCE_OUTSIDE_ROOT", adapters.ClassPermanent)

	_, err = run(noRoot, adapters.Payload{})
	requireCode(t, err, "FILE_SOURCE_NO_ROOT", adapters.ClassPermanent)

	_, err = run(withRoot, adapters.Payload{"path": "no/such/folder"})
	requireCode(t, err, "FILE_SOURCE_NOT_FOUND", adapters.ClassPermanent)
	missing := build(t, "file_source", "{root: "+filepath.Join(root, "gone")+"}", deps)
	_, err = run(missing, adapters.Payload{})
	requireCode(t, err, "FILE_SOURCE_NOT_FOUND", adapters.ClassPermanent)

	_, err = run(withRoot, adapters.Payload{"path": "empty"})
	require.Equal(t, adapters.ClassSkip, adapters.Classify(err), "an empty folder is skipped: %v", err)
}

func TestFileSourceConfigErrors(t *testing.T) {
	_, fs := decode(t, "file_source", `{include: ["docs/**.md"]}`)
	require.Contains(t, findingCodes(fs), "E305")
	_, fs = decode(t, "file_source", `{mode: copy}`)
	require.Contains(t, findingCodes(fs), "E304")
	_, err := fileSourceSpec().New(FileSourceConfig{Mode: FileModeStore, Recursive: true}, adapters.Deps{})
	require.ErrorContains(t, err, "storage provider")
}

func TestFileKeyIsAlwaysValid(t *testing.T) {
	for _, rel := range []string{
		"a/b.md", "odd\\name.md", "ctl\x01.md", "bad\xffutf8.md", "x.meta.json", "dir.meta.json/y.md",
		strings.Repeat("long/", 300) + "f.md",
	} {
		key := fileKey(fileMeta, rel)
		require.NoError(t, storage.ValidateKey(key), rel)
		require.Equal(t, key, fileKey(fileMeta, rel), "keys are stable")
	}
	require.Equal(t, "executions/_/_/_/a.md", fileKey(adapters.Meta{}, "a.md"))
	require.True(t, strings.HasSuffix(fileKey(fileMeta, strings.Repeat("long/", 300)+"f.md"), ".md"))
}
