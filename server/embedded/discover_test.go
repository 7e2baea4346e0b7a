package embedded

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/adapters"
)

// fakeBinDir creates a directory with the given executables (never run).
func fakeBinDir(t *testing.T, dir string, names ...string) string {
	t.Helper()
	require.NoError(t, os.MkdirAll(dir, 0o755))
	for _, n := range names {
		require.NoError(t, os.WriteFile(filepath.Join(dir, n), []byte("#!/bin/sh\nexit 1\n"), 0o755))
	}
	return dir
}

func requireCode(t *testing.T, err error, code string) *adapters.CodedError {
	t.Helper()
	require.Error(t, err)
	var ce *adapters.CodedError
	require.True(t, errors.As(err, &ce), "want a coded error %s, got %T: %v", code, err, err)
	require.Equal(t, code, ce.Code, "error: %v", err)
	require.NotEmpty(t, ce.Hint, "coded errors carry a hint")
	return ce
}

func TestDiscoverBinDirs(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	all := []string{"initdb", "pg_ctl", "postgres"}
	v13 := fakeBinDir(t, filepath.Join(root, "lib/postgresql/13/bin"), all...)
	v15 := fakeBinDir(t, filepath.Join(root, "lib/postgresql/15/bin"), all...)
	v96 := fakeBinDir(t, filepath.Join(root, "lib/postgresql/9.6/bin"), all...)
	fakeBinDir(t, filepath.Join(root, "lib/postgresql/16/bin"), "initdb", "pg_ctl") // no postgres
	noExec := filepath.Join(root, "lib/postgresql/17/bin")
	fakeBinDir(t, noExec, all...)
	require.NoError(t, os.Chmod(filepath.Join(noExec, "postgres"), 0o644))
	brew := fakeBinDir(t, filepath.Join(root, "opt/postgresql@14/bin"), all...)

	// A PATH entry with symlinks, as /usr/local/bin often has: it resolves to
	// the 13 directory, which must then not be listed twice.
	pathDir := filepath.Join(root, "pathbin")
	require.NoError(t, os.MkdirAll(pathDir, 0o755))
	require.NoError(t, os.Symlink(filepath.Join(v13, "pg_ctl"), filepath.Join(pathDir, "pg_ctl")))
	globs := []string{filepath.Join(root, "lib/postgresql/*/bin"), filepath.Join(root, "opt/postgresql*/bin")}
	emptyDir := t.TempDir()

	tests := []struct {
		name    string
		cfg     discoverConfig
		want    []string
		wantErr string
	}{
		{name: "known dirs newest first, incomplete ones skipped",
			cfg:  discoverConfig{globs: globs},
			want: []string{v15, v13, v96, brew}},
		{name: "PATH before known dirs, without duplicates",
			cfg:  discoverConfig{path: pathDir, globs: globs},
			want: []string{v13, v15, v96, brew}},
		{name: "explicit dir wins and is the only candidate",
			cfg:  discoverConfig{explicit: brew, explicitN: pgBinEnv, path: pathDir, globs: globs},
			want: []string{brew}},
		{name: "explicit dir that is unusable is an error, not a fallback",
			cfg:     discoverConfig{explicit: emptyDir, explicitN: pgBinEnv, globs: globs},
			wantErr: CodePGNotFound},
		{name: "nothing anywhere",
			cfg:  discoverConfig{path: emptyDir, globs: []string{filepath.Join(emptyDir, "*/bin")}},
			want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, looked, err := discoverBinDirs(context.Background(), tt.cfg)
			if tt.wantErr != "" {
				ce := requireCode(t, err, tt.wantErr)
				require.Contains(t, ce.Error(), tt.cfg.explicit)
				return
			}
			require.NoError(t, err)
			var dirs []string
			for _, c := range got {
				dirs = append(dirs, c.dir)
			}
			require.Equal(t, tt.want, dirs)
			if tt.cfg.explicit != "" {
				require.Equal(t, []string{tt.cfg.explicit}, looked)
			} else {
				require.Contains(t, looked, "PATH")
			}
		})
	}
}

func TestNotFoundErrorSaysWhereItLooked(t *testing.T) {
	t.Parallel()
	ce := requireCode(t, notFoundError([]string{"PATH", "/somewhere/*/bin"}), CodePGNotFound)
	require.Contains(t, ce.Error(), "/somewhere/*/bin")
	require.Contains(t, ce.Hint, "apt-get install postgresql")
	require.Contains(t, ce.Hint, pgBinEnv)
}

func TestSortByVersionDesc(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want []string
	}{
		{in: []string{"/usr/lib/postgresql/9.6/bin", "/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/13/bin"},
			want: []string{"/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/13/bin", "/usr/lib/postgresql/9.6/bin"}},
		{in: []string{"/opt/homebrew/opt/postgresql/bin", "/opt/homebrew/opt/postgresql@14/bin", "/opt/homebrew/opt/postgresql@17/bin"},
			want: []string{"/opt/homebrew/opt/postgresql@17/bin", "/opt/homebrew/opt/postgresql@14/bin", "/opt/homebrew/opt/postgresql/bin"}},
		{in: nil, want: nil},
	}
	for _, tt := range tests {
		sortByVersionDesc(tt.in)
		require.Equal(t, tt.want, tt.in)
	}
}
