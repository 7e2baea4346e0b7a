package storetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/factflow/factflow/store"
)

// NoVectorDatabaseURL returns the URL of a fresh, migrated database on
// which the pgvector extension cannot be created.
//
// It starts a private PostgreSQL cluster from the test server's own
// binaries, relocated: PostgreSQL finds its share and library directories
// relative to its executable, so a copy of the server binary inside a tree
// that mirrors the installation, minus every vector* file, is a server
// without pgvector. The cluster is stopped and removed when the test ends.
// When that cannot be built (binaries out of reach), it falls back to a
// database on the test server owned by a role that may not create the
// extension, and logs so.
func NoVectorDatabaseURL(t testing.TB) string {
	t.Helper()
	admin := AdminURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	dbURL, err := relocatedCluster(ctx, t, admin)
	if err != nil {
		t.Logf("storetest: no relocated PostgreSQL cluster (%v); using a role that may not create pgvector", err)
		dbURL = unprivilegedDatabase(ctx, t, admin)
	}
	db, err := store.Open(ctx, dbURL, store.Options{MaxConns: 2})
	if err != nil {
		t.Fatalf("storetest: opening the database without pgvector: %v", err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("storetest: migrating the database without pgvector: %v", err)
	}
	return dbURL
}

type pgDirs struct{ bin, share, pkglib string }

func serverDirs(ctx context.Context, admin string) (pgDirs, error) {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return pgDirs{}, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var d pgDirs
	err = conn.QueryRow(ctx, `SELECT
    (SELECT setting FROM pg_config WHERE name = 'BINDIR'),
    (SELECT setting FROM pg_config WHERE name = 'SHAREDIR'),
    (SELECT setting FROM pg_config WHERE name = 'PKGLIBDIR')`).Scan(&d.bin, &d.share, &d.pkglib)
	if err != nil {
		return pgDirs{}, fmt.Errorf("reading the server's directories: %w", err)
	}
	return d, nil
}

// relocatedCluster builds the mirror tree, initdb's and starts a cluster
// in it, and returns a URL to a fresh database there.
func relocatedCluster(ctx context.Context, t testing.TB, admin string) (string, error) {
	dirs, err := serverDirs(ctx, admin)
	if err != nil {
		return "", err
	}
	for _, p := range []string{filepath.Join(dirs.bin, "postgres"), filepath.Join(dirs.bin, "initdb")} {
		if _, err := os.Stat(p); err != nil {
			return "", err
		}
	}
	var cred *syscall.Credential
	var uid, gid = -1, -1
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return "", fmt.Errorf("PostgreSQL will not run as root and there is no postgres user: %w", err)
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	root, err := os.MkdirTemp("", "factflow-novector-")
	if err != nil {
		return "", err
	}
	cleanupRoot := func() { _ = os.RemoveAll(root) }
	if err := os.Chmod(root, 0o755); err != nil {
		cleanupRoot()
		return "", err
	}
	// The mirror keeps each directory's full path under root, so the
	// relative layout PostgreSQL derives from its executable holds.
	binDir := filepath.Join(root, dirs.bin)
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		cleanupRoot()
		return "", err
	}
	// A copy, not a link: PostgreSQL resolves links to its executable.
	if err := copyFile(filepath.Join(dirs.bin, "postgres"), filepath.Join(binDir, "postgres")); err != nil {
		cleanupRoot()
		return "", err
	}
	for _, d := range []string{dirs.share, dirs.pkglib} {
		if err := mirrorWithout(d, filepath.Join(root, d), "vector"); err != nil {
			cleanupRoot()
			return "", err
		}
	}
	data := filepath.Join(root, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		cleanupRoot()
		return "", err
	}
	if uid >= 0 {
		if err := os.Chown(data, uid, gid); err != nil {
			cleanupRoot()
			return "", err
		}
	}
	initdb := exec.CommandContext(ctx, filepath.Join(dirs.bin, "initdb"), "-D", data, "-U", "postgres",
		"--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync")
	initdb.Dir = root
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		cleanupRoot()
		return "", fmt.Errorf("initdb: %w: %s", err, tail(out))
	}

	var srv *exec.Cmd
	var port int
	logPath := filepath.Join(root, "postgres.log")
	for attempt := 0; attempt < 3; attempt++ {
		if port, err = freePort(); err != nil {
			cleanupRoot()
			return "", err
		}
		logFile, err := os.Create(logPath)
		if err != nil {
			cleanupRoot()
			return "", err
		}
		srv = exec.Command(filepath.Join(binDir, "postgres"), "-D", data, "-p", strconv.Itoa(port),
			"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=", "-c", "fsync=off",
			"-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=50")
		srv.Dir = root
		srv.Stdout, srv.Stderr = logFile, logFile
		srv.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Setpgid: true}
		err = srv.Start()
		logFile.Close()
		if err != nil {
			cleanupRoot()
			return "", fmt.Errorf("starting postgres: %w", err)
		}
		if err = waitReady(ctx, port); err == nil {
			break
		}
		stopServer(srv)
		srv = nil
	}
	if srv == nil {
		logText, _ := os.ReadFile(logPath)
		cleanupRoot()
		return "", fmt.Errorf("the relocated server did not start: %s", tail(logText))
	}
	t.Cleanup(func() {
		stopServer(srv)
		cleanupRoot()
	})

	clusterAdmin := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	conn, err := pgx.Connect(ctx, clusterAdmin)
	if err != nil {
		return "", err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var avail bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector')`).Scan(&avail); err != nil {
		return "", err
	}
	if avail {
		return "", errors.New("the relocated server still offers pgvector")
	}
	name := databaseName(t.Name())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", err
	}
	u, _ := url.Parse(clusterAdmin)
	u.Path = "/" + name
	return u.String(), nil
}

// mirrorWithout recreates dir at dst as links to its entries, descending
// into directories that hold an entry whose name starts with skip, and
// leaving those entries out.
func mirrorWithout(dir, dst, skip string) error {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		src := filepath.Join(dir, e.Name())
		if strings.HasPrefix(e.Name(), skip) {
			continue
		}
		if e.IsDir() && holds(src, skip) {
			if err := mirrorWithout(src, filepath.Join(dst, e.Name()), skip); err != nil {
				return err
			}
			continue
		}
		if err := os.Symlink(src, filepath.Join(dst, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// holds reports whether dir, or a directory below it, has an entry whose
// name starts with prefix.
func holds(dir, prefix string) bool {
	found := false
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || found {
			return filepath.SkipDir
		}
		if p != dir && strings.HasPrefix(d.Name(), prefix) {
			found = true
			return filepath.SkipAll
		}
		return nil
	})
	return found
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func waitReady(ctx context.Context, port int) error {
	u := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable&connect_timeout=2", port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := pgx.Connect(ctx, u)
		if err == nil {
			conn.Close(ctx)
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stopServer asks for a fast shutdown and waits; an immediate one after
// a grace period.
func stopServer(cmd *exec.Cmd) {
	_ = cmd.Process.Signal(syscall.SIGINT)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}
}

func tail(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return strings.Join(lines, "\n")
}

// unprivilegedDatabase makes a database on the test server owned by a
// fresh login role without superuser: pgvector is not a trusted extension,
// so that role cannot create it.
func unprivilegedDatabase(ctx context.Context, t testing.TB, admin string) string {
	t.Helper()
	base, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("storetest: parsing %s: %v", EnvURL, err)
	}
	name := databaseName(t.Name())
	role := name + "_r"
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("storetest: connecting as admin: %v", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for _, q := range []string{
		"CREATE ROLE " + pgx.Identifier{role}.Sanitize() + " LOGIN",
		"CREATE DATABASE " + pgx.Identifier{name}.Sanitize() + " OWNER " + pgx.Identifier{role}.Sanitize(),
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("storetest: %s: %v", q, err)
		}
	}
	t.Cleanup(func() {
		dropDatabase(t, admin, name)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Errorf("storetest: dropping role %s: %v", role, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP ROLE IF EXISTS "+pgx.Identifier{role}.Sanitize()); err != nil {
			t.Errorf("storetest: dropping role %s: %v", role, err)
		}
	})
	u := *base
	u.User = url.User(role)
	u.Path = "/" + name
	return u.String()
}
