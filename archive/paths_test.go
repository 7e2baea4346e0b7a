package archive

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io"
	"iter"
	"log/slog"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/storage"
	"github.com/factflow/factflow/store"
)

func TestEntryName(t *testing.T) {
	t.Parallel()
	for key, want := range map[string]string{
		"executions/e1/fetch/scrape/m1.html": "e1/fetch/scrape/m1.html",
		"docs/a.md":                          "docs/a.md",
		"executions/..leading-dots/x":        "..leading-dots/x",
		"executions/%2e%2e/x":                "%2e%2e/x", // stays a literal name: nothing decodes it
		"executions/e1/colon:name":           "e1/colon:name",
	} {
		got, err := entryName(key)
		require.NoError(t, err, key)
		require.Equal(t, want, got)
	}
	for _, key := range []string{
		"../x",
		"a/../../x",
		"executions/../x",
		"executions/e1/../../../x",
		"/etc/passwd",
		"executions//etc/passwd",
		`a\..\x`,
		`executions/..\..\x`,
		"nul\x00byte",
		"executions/",
		"C:/windows/x",
		"executions/c:/x",
	} {
		_, err := entryName(key)
		require.ErrorIs(t, err, storage.ErrInvalidKey, "%q", key)
	}
}

// TestArchiveEntriesStayRelative builds archives from a store that lists
// whatever keys it holds, hostile ones included, as a misbehaving provider
// could: a hostile key fails the archive, and every entry of an archive
// that is built is a relative path without ".." that stays inside the
// folder it is extracted to.
func TestArchiveEntriesStayRelative(t *testing.T) {
	t.Parallel()
	safe := []string{
		"executions/e1/fetch/scrape/page.html",
		"executions/e1/..dots/x..",
		"executions/e1/%2e%2e/%2f/x",
		"notes/readme.md",
	}
	b, err := buildZip(t, safe, true)
	require.NoError(t, err)
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	require.NoError(t, err)
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
		requireLocal(t, f.Name)
	}
	require.Len(t, names, 2*len(safe), "each object and its metadata: %v", names)
	require.Contains(t, names, "e1/fetch/scrape/page.html")
	require.Contains(t, names, "e1/%2e%2e/%2f/x"+storage.MetaSuffix)

	for _, bad := range []string{"executions/../x", "../../etc/cron.d/x", "/etc/passwd", `executions/e1/..\..\x`, "executions/C:/x", "a/./b"} {
		_, err := buildZip(t, []string{safe[0], bad}, false)
		require.ErrorIs(t, err, storage.ErrInvalidKey, "%q", bad)
	}
}

func requireLocal(t *testing.T, name string) {
	t.Helper()
	require.NotEmpty(t, name)
	require.False(t, path.IsAbs(name), "%q is absolute", name)
	require.NotContains(t, name, `\`, "%q holds a backslash", name)
	require.Equal(t, path.Clean(name), name, "%q is not clean", name)
	for _, seg := range strings.Split(name, "/") {
		require.NotEqual(t, "..", seg, "%q climbs out", name)
	}
	first, _, _ := strings.Cut(name, "/")
	require.False(t, len(first) == 2 && first[1] == ':', "%q starts with a drive", name)
}

// buildZip writes the archive of every key in keys.
func buildZip(t *testing.T, keys []string, withMeta bool) ([]byte, error) {
	t.Helper()
	// ProgressEvery is out of reach so no progress is recorded: the
	// service has no database here.
	s := &Service{storage: rawStore(keys), log: slog.New(slog.DiscardHandler), ProgressEvery: time.Duration(1<<63 - 1)}
	var buf bytes.Buffer
	var done int
	var n int64
	err := s.write(t.Context(), &buf, &store.ArchiveJob{ID: "job"}, Selection{IncludeMetadata: withMeta}, &done, &n)
	return buf.Bytes(), err
}

// rawStore lists and serves its keys without validating them.
type rawStore []string

func (r rawStore) List(_ context.Context, prefix string, _ storage.ListOptions) iter.Seq2[storage.ObjectInfo, error] {
	keys := slices.Sorted(slices.Values(r))
	return func(yield func(storage.ObjectInfo, error) bool) {
		for _, k := range keys {
			if strings.HasPrefix(k, prefix) && !yield(storage.ObjectInfo{Key: k, Size: int64(len(k))}, nil) {
				return
			}
		}
	}
}

func (r rawStore) Get(_ context.Context, key string) (io.ReadCloser, storage.ObjectInfo, error) {
	return io.NopCloser(strings.NewReader(key)), storage.ObjectInfo{Key: key, Size: int64(len(key)),
		ModTime: time.Unix(0, 0), Metadata: storage.Metadata{"k": key}}, nil
}

func (r rawStore) Put(context.Context, string, io.Reader, storage.Metadata) (storage.ObjectInfo, error) {
	return storage.ObjectInfo{}, errReadOnly
}

func (r rawStore) Stat(context.Context, string) (storage.ObjectInfo, error) {
	return storage.ObjectInfo{}, errReadOnly
}

func (r rawStore) Delete(context.Context, string) error { return errReadOnly }

var errReadOnly = errors.New("raw store is read-only")

func (r rawStore) URI() string { return "raw://" }
