package embedded

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// requireLocalPG fails when the machine has no PostgreSQL server binaries:
// `make test` installs them (scripts/services.sh up postgres).
func requireLocalPG(t *testing.T) {
	t.Helper()
	cands, _, err := discoverBinDirs(context.Background(), discoverOptions(Options{}))
	if err != nil || len(cands) == 0 {
		t.Fatal("no local PostgreSQL server binaries; run scripts/services.sh up postgres")
	}
}

func testOptions(t *testing.T, dataDir string) Options {
	return Options{
		DataDir:       dataDir,
		DisableDocker: true,
		Ephemeral:     true,
		Logger:        slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
}

// reachableDir is a temp dir every user may traverse (t.TempDir's parent is
// 0700, which keeps the `postgres` user out when tests run as root).
func reachableDir(t *testing.T) string {
	t.Helper()
	d := t.TempDir()
	require.NoError(t, os.Chmod(filepath.Dir(d), 0o755))
	require.NoError(t, os.Chmod(d, 0o755))
	real, err := filepath.EvalSymlinks(d)
	require.NoError(t, err)
	return real
}

func provision(t *testing.T, opts Options) *Postgres {
	t.Helper()
	p, err := ProvisionPostgres(context.Background(), opts)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = p.Stop(ctx)
		if strings.HasPrefix(p.ClusterDir, varTmp+"/") {
			_ = os.RemoveAll(p.ClusterDir)
		}
	})
	return p
}

func queryString(t *testing.T, url, sql string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var s string
	require.NoError(t, conn.QueryRow(ctx, sql).Scan(&s))
	return s
}

func execSQL(t *testing.T, url string, stmts ...string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	for _, s := range stmts {
		_, err := conn.Exec(ctx, s)
		require.NoError(t, err, s)
	}
}

func requireUnreachable(t *testing.T, url string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err == nil {
		conn.Close(ctx)
	}
	require.Error(t, err, "the server should be down")
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	require.Eventually(t, func() bool { return !pidAlive(pid) }, 10*time.Second, 20*time.Millisecond, "pid %d still running", pid)
}

func requireOwnedByClusterUser(t *testing.T, path string) {
	t.Helper()
	acct, err := clusterAccount("postgres")
	require.NoError(t, err)
	st, err := os.Stat(path)
	require.NoError(t, err)
	require.True(t, acct.owns(st), "%s should belong to %s", path, acct.name)
}

// TestProvisionPostgresPrivateCluster walks one cluster through the life it
// has on a developer machine: first start, restart, a killed postmaster, a
// taken port, a crashed owner process and an impatient stop.
func TestProvisionPostgresPrivateCluster(t *testing.T) {
	requireLocalPG(t)
	// Docker probing stays on: with nothing listening it must fall through.
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "docker.sock"))
	ctx := context.Background()
	dataDir := reachableDir(t)
	opts := testOptions(t, dataDir)
	opts.DisableDocker = false

	p1 := provision(t, opts)
	require.Equal(t, SourceLocal, p1.Source)
	require.Equal(t, filepath.Join(dataDir, "postgres"), p1.ClusterDir)
	require.NotEmpty(t, p1.Version)
	require.Positive(t, p1.Port)
	require.Contains(t, p1.URL, "@127.0.0.1:"+strconv.Itoa(p1.Port)+"/factflow")
	requireOwnedByClusterUser(t, filepath.Join(p1.ClusterDir, "data"))
	require.Equal(t, "factflow", queryString(t, p1.URL, "SELECT current_database()"))
	execSQL(t, p1.URL, "CREATE TABLE marker (note text)", "INSERT INTO marker VALUES ('first run')")

	// pgvector is reported as the server's extension directory has it.
	shareDir := queryString(t, p1.URL, "SELECT setting FROM pg_config WHERE name = 'SHAREDIR'")
	_, statErr := os.Stat(filepath.Join(shareDir, "extension", "vector.control"))
	require.Equal(t, statErr == nil, p1.VectorAvailable)
	if p1.VectorAvailable {
		execSQL(t, p1.URL, "CREATE EXTENSION IF NOT EXISTS vector")
		require.Equal(t, "1", queryString(t, p1.URL, "SELECT ('[1,2,3]'::vector <-> '[1,2,4]'::vector)::text"))
	}

	// The same URL given explicitly is used as is, with pgvector checked.
	explicit, err := ProvisionPostgres(ctx, Options{DatabaseURL: p1.URL, PGBin: "/nonexistent"})
	require.NoError(t, err)
	require.Equal(t, SourceExplicit, explicit.Source)
	require.Equal(t, p1.VectorAvailable, explicit.VectorAvailable)

	// A second owner of the same data dir is refused while the first runs.
	_, err = ProvisionPostgres(ctx, opts)
	requireCode(t, err, CodePGInUse)

	require.NoError(t, p1.Stop(ctx))
	require.NoError(t, p1.Stop(ctx), "Stop is idempotent")
	requireUnreachable(t, p1.URL)

	// Restart: the cluster, its port and its data are kept (no new initdb).
	p2 := provision(t, opts)
	require.Equal(t, p1.Port, p2.Port)
	require.Equal(t, p1.URL, p2.URL)
	require.Equal(t, "first run", queryString(t, p2.URL, "SELECT note FROM marker"))

	// kill -9 of the postmaster, and its owner dies too (releasing the lock):
	// the stale postmaster.pid must not block the next start.
	killed := p2.cluster.pid
	require.NoError(t, syscall.Kill(killed, syscall.SIGKILL))
	p2.cluster.unlock()
	waitGone(t, killed)
	_, err = os.Stat(filepath.Join(p2.ClusterDir, "data", "postmaster.pid"))
	require.NoError(t, err, "a killed postmaster leaves its postmaster.pid behind")
	p3 := provision(t, opts)
	require.NotEqual(t, killed, p3.cluster.pid)
	require.Equal(t, "first run", queryString(t, p3.URL, "SELECT note FROM marker"))
	require.NoError(t, p3.Stop(ctx))

	// The remembered port is taken by someone else: another one is used.
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p3.Port)))
	require.NoError(t, err)
	p4 := provision(t, opts)
	require.NoError(t, l.Close())
	require.NotEqual(t, p3.Port, p4.Port)
	require.Equal(t, "first run", queryString(t, p4.URL, "SELECT note FROM marker"))

	// The owning process dies but the server keeps running: the next run
	// reuses that server instead of starting a second one.
	p4.cluster.unlock()
	p5 := provision(t, opts)
	require.Equal(t, p4.cluster.pid, p5.cluster.pid)
	require.Equal(t, p4.Port, p5.Port)

	// Stop honours its context: an expired one escalates to an immediate
	// shutdown and says so; the cluster recovers on the next start.
	expired, cancel := context.WithCancel(ctx)
	cancel()
	requireCode(t, p5.Stop(expired), CodePGStopFailed)
	waitGone(t, p5.cluster.pid)
	p6 := provision(t, opts)
	require.Equal(t, "first run", queryString(t, p6.URL, "SELECT note FROM marker"))
}

func TestProvisionPostgresFallsBackToVarTmpWhenUnreachable(t *testing.T) {
	requireLocalPG(t)
	if !runningAsRoot() {
		t.Skip("the /var/tmp fallback applies when running as root")
	}
	t.Parallel()
	dataDir := t.TempDir() // under a 0700 directory: the postgres user cannot enter
	acct, err := clusterAccount("postgres")
	require.NoError(t, err)
	require.False(t, acct.canTraverse(dataDir), "test precondition: %s must be unreachable for %s", dataDir, acct.name)

	p := provision(t, testOptions(t, dataDir))
	require.True(t, strings.HasPrefix(p.ClusterDir, varTmp+"/factflow-pg-"), "cluster in %s", p.ClusterDir)
	requireOwnedByClusterUser(t, p.ClusterDir)
	execSQL(t, p.URL, "CREATE TABLE t (n int)", "INSERT INTO t VALUES (42)")
	require.NoError(t, p.Stop(context.Background()))

	// The location derives from the data dir, so the next run finds it again.
	again := provision(t, testOptions(t, dataDir))
	require.Equal(t, p.ClusterDir, again.ClusterDir)
	require.Equal(t, "42", queryString(t, again.URL, "SELECT n::text FROM t"))
	_, err = os.Stat(filepath.Join(dataDir, "postgres"))
	require.ErrorIs(t, err, os.ErrNotExist, "nothing is created in the unreachable data dir")
}

func TestProvisionPostgresRefusesForeignVarTmpEntry(t *testing.T) {
	requireLocalPG(t)
	if !runningAsRoot() {
		t.Skip("the /var/tmp fallback applies when running as root")
	}
	t.Parallel()
	dataDir := t.TempDir()
	acct, err := clusterAccount("postgres")
	require.NoError(t, err)
	base, moved, err := clusterBase(dataDir, acct)
	require.NoError(t, err)
	require.True(t, moved)
	// Someone else (here: root) made the directory first; /var/tmp is
	// world-writable, so it must not be trusted.
	require.NoError(t, os.Mkdir(base, 0o700))
	t.Cleanup(func() { os.RemoveAll(base) })

	_, err = ProvisionPostgres(context.Background(), testOptions(t, dataDir))
	requireCode(t, err, CodePGDataDir)
}

func TestProvisionPostgresStartFailureCarriesServerLog(t *testing.T) {
	requireLocalPG(t)
	t.Parallel()
	ctx := context.Background()
	dataDir := reachableDir(t)
	opts := testOptions(t, dataDir)
	p := provision(t, opts)
	require.NoError(t, p.Stop(ctx))

	confPath := filepath.Join(p.ClusterDir, "data", "postgresql.conf")
	orig, err := os.ReadFile(confPath)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(confPath, append(append([]byte{}, orig...), "\nshared_buffers = 'plenty'\n"...), 0o600))

	_, err = ProvisionPostgres(ctx, opts)
	ce := requireCode(t, err, CodePGStartFailed)
	require.Contains(t, ce.Error(), "shared_buffers", "the error shows the server's complaint")

	// The failed attempt left nothing running and nothing locked.
	require.NoError(t, os.WriteFile(confPath, orig, 0o600))
	again := provision(t, opts)
	require.Equal(t, "1", queryString(t, again.URL, "SELECT 1::text"))
}

func TestProvisionPostgresRejectsUnusableClusterDirs(t *testing.T) {
	requireLocalPG(t)
	t.Parallel()
	tests := []struct {
		name  string
		files map[string]string
		code  string
	}{
		{name: "cluster of another major version", files: map[string]string{"PG_VERSION": "9.4\n"}, code: CodePGVersionMismatch},
		{name: "non-empty directory that is no cluster", files: map[string]string{"notes.txt": "mine"}, code: CodePGDataDir},
		{name: "cluster whose saved state is gone", files: map[string]string{"PG_VERSION": "CURRENT"}, code: CodePGStateLost},
	}
	cands, _, err := discoverBinDirs(context.Background(), discoverOptions(Options{}))
	require.NoError(t, err)
	current, err := binMajor(context.Background(), cands[0].dir)
	require.NoError(t, err)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dataDir := reachableDir(t)
			pgData := filepath.Join(dataDir, "postgres", "data")
			require.NoError(t, os.MkdirAll(pgData, 0o700))
			for name, content := range tt.files {
				content = strings.ReplaceAll(content, "CURRENT", current)
				require.NoError(t, os.WriteFile(filepath.Join(pgData, name), []byte(content), 0o600))
			}
			_, err := ProvisionPostgres(context.Background(), testOptions(t, dataDir))
			requireCode(t, err, tt.code)
		})
	}
}

func TestProvisionPostgresExplicitURLBypassesEverything(t *testing.T) {
	t.Parallel()
	dataDir := filepath.Join(t.TempDir(), "never-created")
	// Nothing listens on port 1 and the bin dir does not exist: either would
	// fail provisioning if it were attempted.
	url := "postgres://app:secret@127.0.0.1:1/app?sslmode=disable"
	opts := testOptions(t, dataDir)
	opts.DatabaseURL = url
	opts.PGBin = "/nonexistent"
	opts.DisableDocker = false

	p, err := ProvisionPostgres(context.Background(), opts)
	require.NoError(t, err)
	require.Equal(t, url, p.URL)
	require.Equal(t, SourceExplicit, p.Source)
	require.False(t, p.VectorAvailable)
	require.Empty(t, p.ClusterDir)
	require.NoError(t, p.Stop(context.Background()))
	_, err = os.Stat(dataDir)
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestProvisionPostgresNotFound(t *testing.T) {
	empty := t.TempDir()
	opts := testOptions(t, t.TempDir())

	opts.PGBin = empty
	_, err := ProvisionPostgres(context.Background(), opts)
	ce := requireCode(t, err, CodePGNotFound)
	require.Contains(t, ce.Error(), empty)

	opts.PGBin = ""
	t.Setenv(pgBinEnv, empty)
	_, err = ProvisionPostgres(context.Background(), opts)
	ce = requireCode(t, err, CodePGNotFound)
	require.Contains(t, ce.Error(), pgBinEnv)
}
