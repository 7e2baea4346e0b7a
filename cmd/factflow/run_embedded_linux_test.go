//go:build linux

package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/server/embedded"
)

// TestRunProvisionsPostgres runs the binary with no database given at all:
// it provisions a private PostgreSQL cluster for the data dir, runs the
// pipeline, and stops the cluster on exit. A second run on the same data
// dir reuses the cluster and its data.
func TestRunProvisionsPostgres(t *testing.T) {
	t.Parallel()
	bin := factflowBinary(t)
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		"a.md":     "# Alpha\n\n" + prose("alpha", 1, 4) + "\n",
		"sub/b.md": "# Beta\n\n" + prose("beta", 2, 4) + "\n",
	})
	// A t.TempDir is private (0700): when the tests run as root, the
	// postgres user cannot reach it and the cluster moves under /var/tmp.
	dataDir := t.TempDir()
	// No DATABASE_URL; a Docker endpoint that does not answer, so that the
	// local binaries are used whatever this machine has.
	env := childEnv("DOCKER_HOST=unix://" + filepath.Join(t.TempDir(), "no-docker.sock"))
	args := []string{"run", folderIngestYAML, "--payload", fmt.Sprintf(`{"root": %q}`, root),
		"--data-dir", dataDir, "--log-level", "info"}

	first := runBinary(t, bin, env, args...)
	clusterDir := clusterDirOf(t, dataDir, first.stderr)
	t.Cleanup(func() { removeCluster(t, dataDir, clusterDir) })
	require.Equal(t, exitOK, first.code, first)
	require.Contains(t, first.stderr, "creating the private PostgreSQL cluster", first)
	require.Equal(t, "completed", totals(t, first.stdout).status)
	requireClusterStopped(t, clusterDir)

	second := runBinary(t, bin, env, args...)
	require.Equal(t, exitOK, second.code, second)
	require.Equal(t, clusterDir, clusterDirOf(t, dataDir, second.stderr), "the same cluster")
	require.NotContains(t, second.stderr, "creating the private PostgreSQL cluster", "the cluster is reused")
	requireClusterStopped(t, clusterDir)

	// Both executions are in the one database.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pg, err := embedded.ProvisionPostgres(ctx, embedded.Options{DataDir: dataDir, DisableDocker: true,
		Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	require.Equal(t, embedded.SourceLocal, pg.Source)
	require.Equal(t, clusterDir, pg.ClusterDir)
	conn, err := pgx.Connect(ctx, pg.URL)
	require.NoError(t, err)
	rows, err := conn.Query(ctx, `SELECT id::text || ' ' || status FROM executions ORDER BY id`)
	require.NoError(t, err)
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.NoError(t, conn.Close(ctx))
	require.NoError(t, pg.Stop(ctx))
	require.Equal(t, []string{
		executionID(t, first.stdout) + " completed",
		executionID(t, second.stdout) + " completed",
	}, got)
	requireClusterStopped(t, clusterDir)
}

var clusterDirRe = regexp.MustCompile(`cluster_dir=("[^"]+"|\S+)`)

// clusterDirOf finds where the private cluster lives: the run says so when
// it is not <data-dir>/postgres.
func clusterDirOf(t *testing.T, dataDir, stderr string) string {
	t.Helper()
	if m := clusterDirRe.FindStringSubmatch(stderr); m != nil {
		dir := m[1]
		if s, err := strconv.Unquote(dir); err == nil {
			dir = s
		}
		return dir
	}
	if os.Geteuid() == 0 {
		t.Fatalf("running as root with a private data dir, the run should say where the cluster lives:\n%s", stderr)
	}
	real, err := filepath.EvalSymlinks(dataDir)
	require.NoError(t, err)
	return filepath.Join(real, "postgres")
}

// requireClusterStopped checks that no postmaster runs for the cluster:
// no lock file, and no process serving its data directory.
func requireClusterStopped(t *testing.T, clusterDir string) {
	t.Helper()
	data := filepath.Join(clusterDir, "data")
	require.FileExists(t, filepath.Join(data, "PG_VERSION"), "the cluster is kept between runs")
	require.NoFileExists(t, filepath.Join(data, "postmaster.pid"), "the postmaster is stopped when the run ends")
	// The postmaster removes its lock file on the way out, a moment before
	// the process is gone.
	var left []string
	deadline := time.Now().Add(10 * time.Second)
	for left = processesUsing(t, data); len(left) > 0 && time.Now().Before(deadline); left = processesUsing(t, data) {
		time.Sleep(20 * time.Millisecond)
	}
	require.Empty(t, left, "processes still serving %s", data)
}

// processesUsing lists processes whose command line names dir.
func processesUsing(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	require.NoError(t, err)
	var out []string
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue // gone meanwhile
		}
		if strings.Contains(string(cmdline), dir) {
			out = append(out, e.Name()+": "+strings.ReplaceAll(string(cmdline), "\x00", " "))
		}
	}
	return out
}

// removeCluster deletes a private cluster the test made. Should a failed
// test leave its postmaster running, that process (named by the cluster's
// own lock file) is stopped first.
func removeCluster(t *testing.T, dataDir, clusterDir string) {
	data := filepath.Join(clusterDir, "data")
	if b, err := os.ReadFile(filepath.Join(data, "postmaster.pid")); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		if pid, err := strconv.Atoi(strings.TrimSpace(line)); err == nil && pid > 0 {
			_ = syscall.Kill(pid, syscall.SIGQUIT) // immediate shutdown
			for range 100 {
				if syscall.Kill(pid, 0) != nil {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
	}
	// Only what provisioning makes for this data dir: inside it, or its
	// per-project folder under /var/tmp.
	if strings.HasPrefix(clusterDir, "/var/tmp/factflow-pg-") || strings.HasPrefix(clusterDir, dataDir) {
		if err := os.RemoveAll(clusterDir); err != nil {
			t.Errorf("removing the test cluster: %v", err)
		}
	}
}
