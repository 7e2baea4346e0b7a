package fs_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/storage/fs"
)

func TestPathFromURI(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		uri, want, err string
	}{
		{uri: "file:///var/lib/factflow/storage", want: "/var/lib/factflow/storage"},
		{uri: "FILE:///upper/scheme", want: "/upper/scheme"},
		{uri: "file://localhost/srv/data", want: "/srv/data"},
		{uri: "file://./output/storage", want: "./output/storage"},
		{uri: "file://../sibling", want: "../sibling"},
		{uri: "file://output/storage", want: "output/storage"},
		{uri: "file:///with%20space/%23hash", want: "/with space/#hash"},
		{uri: "file://", err: "names no directory"},
		{uri: "file:///x?y=1", err: "query or fragment"},
		{uri: "file:///x#frag", err: "query or fragment"},
		{uri: "file:///bad%zzescape", err: "invalid URL escape"},
		{uri: "s3://bucket", err: "not a file:// URI"},
		{uri: "/plain/path", err: "not a file:// URI"},
		{uri: "", err: "not a file:// URI"},
	} {
		t.Run(tc.uri, func(t *testing.T) {
			got, err := fs.PathFromURI(tc.uri)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, filepath.FromSlash(tc.want), got)
		})
	}
}

func TestNewCreatesRoot(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "deep", "er", "storage")
	s, err := fs.New(dir)
	require.NoError(t, err)
	defer s.Close()
	fi, err := os.Stat(dir)
	require.NoError(t, err)
	require.True(t, fi.IsDir())
	require.Equal(t, dir, s.Dir())

	_, err = fs.New("")
	require.Error(t, err)
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	_, err = fs.New(file)
	require.Error(t, err, "a file cannot be a root")
}

func TestOpenRelativeURI(t *testing.T) {
	t.Chdir(t.TempDir())
	s, err := fs.Open("file://./output/storage")
	require.NoError(t, err)
	defer s.Close()
	wd, err := os.Getwd()
	require.NoError(t, err)
	require.Equal(t, filepath.Join(wd, "output", "storage"), s.Dir())
	require.True(t, strings.HasPrefix(s.URI(), "file:///"), s.URI())
}

func TestURIRoundTrips(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "odd name #1 %20 ?x")
	s, err := fs.New(dir)
	require.NoError(t, err)
	defer s.Close()
	require.NotContains(t, s.URI(), " ")
	again, err := fs.Open(s.URI())
	require.NoError(t, err)
	defer again.Close()
	require.Equal(t, dir, again.Dir())
	require.Equal(t, s.URI(), again.URI())
}
