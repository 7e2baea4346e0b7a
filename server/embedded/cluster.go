package embedded

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/factflow/factflow/adapters"
)

// varTmp holds clusters whose data dir the cluster user cannot reach.
const varTmp = "/var/tmp"

const (
	stateFileName = "factflow-state.json"
	lockFileName  = "factflow.lock"
	confFileName  = "factflow.conf"
	logFileName   = "postgres.log"
)

// clusterState is what must survive between runs besides the cluster itself.
type clusterState struct {
	Port     int    `json:"port"`
	Password string `json:"password"`
}

// cluster is a private PostgreSQL cluster run with local binaries.
type cluster struct {
	log       *slog.Logger
	acct      *account
	binDir    string
	major     string
	base      string // owned by acct: data/, postgres.log, state, lock
	data      string
	ephemeral bool
	startTO   time.Duration

	state clusterState
	lock  *os.File
	pid   int
	port  int
}

func startLocal(ctx context.Context, opts Options) (*Postgres, error) {
	cands, looked, err := discoverBinDirs(ctx, discoverOptions(opts))
	if err != nil {
		return nil, err
	}
	if len(cands) == 0 {
		return nil, notFoundError(looked)
	}
	acct, err := clusterAccount(opts.RunAsUser)
	if err != nil {
		return nil, err
	}
	base, moved, err := clusterBase(opts.DataDir, acct)
	if err != nil {
		return nil, err
	}
	if moved {
		opts.Logger.Warn("the PostgreSQL user cannot reach the data dir; the private cluster lives elsewhere",
			"user", acct.name, "data_dir", opts.DataDir, "cluster_dir", base)
	}
	c := &cluster{log: opts.Logger, acct: acct, base: base, data: filepath.Join(base, "data"),
		ephemeral: opts.Ephemeral, startTO: opts.StartTimeout}
	if err := c.prepareBase(moved); err != nil {
		return nil, err
	}
	p, err := c.run(ctx, cands, opts.Database)
	if err != nil {
		c.unlock()
		return nil, err
	}
	return p, nil
}

// run brings the cluster up with the lock held and returns the database.
func (c *cluster) run(ctx context.Context, cands []pgCandidate, database string) (*Postgres, error) {
	existing := ""
	if v, err := os.ReadFile(filepath.Join(c.data, "PG_VERSION")); err == nil {
		existing = strings.TrimSpace(string(v))
	} else if entries, err := os.ReadDir(c.data); err == nil && len(entries) > 0 {
		return nil, adapters.Coded(CodePGDataDir, "move it away so a fresh cluster can be created there",
			fmt.Errorf("%s is not empty but holds no PostgreSQL cluster (no PG_VERSION)", c.data))
	}
	if err := c.pickBinaries(ctx, cands, existing); err != nil {
		return nil, err
	}

	if existing == "" {
		if err := c.initdb(ctx); err != nil {
			return nil, err
		}
	} else if err := c.loadState(); err != nil {
		return nil, err
	}

	adopted, err := c.adoptOrClearStale(ctx)
	if err != nil {
		return nil, err
	}
	if !adopted {
		if err := c.start(ctx); err != nil {
			return nil, err
		}
	}

	stop := func() { _ = c.stop(context.WithoutCancel(ctx)) }
	if err := ensureDatabase(ctx, c.url("postgres"), database); err != nil {
		stop()
		return nil, adapters.Coded(CodePGConnectFailed, "see the server log in "+filepath.Join(c.base, logFileName), err)
	}
	appURL := c.url(database)
	vector, err := vectorAvailable(ctx, appURL)
	if err != nil {
		stop()
		return nil, adapters.Coded(CodePGConnectFailed, "see the server log in "+filepath.Join(c.base, logFileName), err)
	}
	return &Postgres{
		URL: appURL, Source: SourceLocal, VectorAvailable: vector,
		ClusterDir: c.base, BinDir: c.binDir, Version: c.major, Port: c.port,
		stopFn: c.stop, cluster: c,
	}, nil
}

// clusterBase decides where the cluster lives; moved reports the /var/tmp
// fallback for a data dir the cluster user cannot reach.
func clusterBase(dataDir string, acct *account) (base string, moved bool, err error) {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return "", false, adapters.Coded(CodePGDataDir, "pass a valid --data-dir", fmt.Errorf("resolving data dir %s: %w", dataDir, err))
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return "", false, adapters.Coded(CodePGDataDir, "pass a writable --data-dir", fmt.Errorf("creating data dir: %w", err))
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	if acct.canTraverse(abs) {
		return filepath.Join(abs, "postgres"), false, nil
	}
	sum := sha256.Sum256([]byte(abs))
	return filepath.Join(varTmp, "factflow-pg-"+hex.EncodeToString(sum[:6])), true, nil
}

// prepareBase creates the cluster directory for the account and takes the
// ownership lock.
func (c *cluster) prepareBase(moved bool) error {
	hint := "make " + c.base + " writable, or pass another --data-dir"
	st, err := os.Lstat(c.base)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.Mkdir(c.base, 0o700); err != nil {
			return adapters.Coded(CodePGDataDir, hint, fmt.Errorf("creating cluster dir: %w", err))
		}
		if err := c.acct.chown(c.base); err != nil {
			return adapters.Coded(CodePGDataDir, hint, fmt.Errorf("handing %s to %s: %w", c.base, c.acct.name, err))
		}
	case err != nil:
		return adapters.Coded(CodePGDataDir, hint, fmt.Errorf("inspecting cluster dir: %w", err))
	case !st.IsDir():
		return adapters.Coded(CodePGDataDir, "remove "+c.base, fmt.Errorf("%s exists and is not a directory", c.base))
	case moved && !c.acct.owns(st):
		// /var/tmp is world-writable: never use an entry someone else made.
		return adapters.Coded(CodePGDataDir, "remove "+c.base+" or pass a --data-dir that user "+c.acct.name+" can reach",
			fmt.Errorf("%s is not owned by %s", c.base, c.acct.name))
	case !c.acct.owns(st):
		if err := c.acct.chown(c.base); err != nil {
			return adapters.Coded(CodePGDataDir, hint, fmt.Errorf("handing %s to %s: %w", c.base, c.acct.name, err))
		}
	}
	if real, err := filepath.EvalSymlinks(c.base); err == nil {
		c.base = real
		c.data = filepath.Join(real, "data")
	}
	lock, err := lockFile(filepath.Join(c.base, lockFileName))
	if errors.Is(err, errLocked) {
		return adapters.Coded(CodePGInUse, "stop the other factflow process using this data dir, or pass another --data-dir",
			fmt.Errorf("the PostgreSQL cluster in %s is in use by another process", c.base))
	}
	if err != nil {
		return adapters.Coded(CodePGDataDir, hint, fmt.Errorf("locking cluster dir: %w", err))
	}
	c.lock = lock
	return nil
}

func (c *cluster) unlock() {
	if c.lock != nil {
		_ = c.lock.Close()
		c.lock = nil
	}
}

// pickBinaries takes the first candidate, or for an existing cluster the
// first whose major version matches it.
func (c *cluster) pickBinaries(ctx context.Context, cands []pgCandidate, want string) error {
	var seen []string
	for _, cand := range cands {
		major, err := binMajor(ctx, cand.dir)
		if err != nil {
			seen = append(seen, cand.dir+" (unusable: "+err.Error()+")")
			continue
		}
		if want == "" || major == want {
			c.binDir, c.major = cand.dir, major
			return nil
		}
		seen = append(seen, fmt.Sprintf("%s (PostgreSQL %s)", cand.dir, major))
	}
	if want == "" {
		return adapters.Coded(CodePGNotFound, "reinstall PostgreSQL or set "+pgBinEnv,
			fmt.Errorf("no working PostgreSQL binaries: %s", strings.Join(seen, ", ")))
	}
	return adapters.Coded(CodePGVersionMismatch,
		fmt.Sprintf("install PostgreSQL %s and/or set %s to its bin directory, or upgrade the cluster with pg_upgrade", want, pgBinEnv),
		fmt.Errorf("the cluster in %s was created by PostgreSQL %s; binaries found: %s", c.data, want, strings.Join(seen, ", ")))
}

func (c *cluster) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(c.binDir, exeName(name)), args...)
	// A working directory the cluster user can enter: PostgreSQL tools
	// resolve their own path relative to it.
	cmd.Dir = c.base
	cmd.SysProcAttr = c.acct.sysProcAttr()
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

func (c *cluster) initdb(ctx context.Context) error {
	password, err := randomHex(16)
	if err != nil {
		return err
	}
	pwFile := filepath.Join(c.base, ".initdb-pw")
	if err := os.WriteFile(pwFile, []byte(password+"\n"), 0o600); err != nil {
		return adapters.Coded(CodePGDataDir, "", fmt.Errorf("writing initdb password file: %w", err))
	}
	defer os.Remove(pwFile)
	if err := c.acct.chown(pwFile); err != nil {
		return adapters.Coded(CodePGDataDir, "", fmt.Errorf("handing the password file to %s: %w", c.acct.name, err))
	}

	args := []string{"-D", c.data, "-U", "postgres", "-A", "scram-sha-256", "--pwfile", pwFile, "-E", "UTF8", "--no-locale"}
	if c.ephemeral {
		args = append(args, "--no-sync")
	}
	c.log.Info("creating the private PostgreSQL cluster", "dir", c.data, "version", c.major)
	out, err := c.command(ctx, "initdb", args...).CombinedOutput()
	if err != nil {
		_ = os.RemoveAll(c.data) // a half-made cluster would block the next try
		return adapters.Coded(CodePGInitFailed, "fix the cause above and start again",
			fmt.Errorf("initdb %s: %w\n%s", c.data, err, tailLines(out, 15)))
	}
	conf, err := os.OpenFile(filepath.Join(c.data, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err == nil {
		_, err = fmt.Fprintf(conf, "\n# Connection settings managed by factflow on every start.\ninclude_if_exists = '%s'\n", confFileName)
		if cerr := conf.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return adapters.Coded(CodePGInitFailed, "", fmt.Errorf("extending postgresql.conf: %w", err))
	}
	c.state = clusterState{Password: password}
	return c.saveState()
}

func (c *cluster) statePath() string { return filepath.Join(c.base, stateFileName) }

func (c *cluster) loadState() error {
	b, err := os.ReadFile(c.statePath())
	if err == nil {
		err = json.Unmarshal(b, &c.state)
	}
	if err == nil && c.state.Password == "" {
		err = errors.New("no password recorded")
	}
	if err != nil {
		return adapters.Coded(CodePGStateLost,
			"restore "+c.statePath()+", or move "+c.base+" away to start a fresh cluster (its data stays in the moved directory)",
			fmt.Errorf("reading the cluster state %s: %w", c.statePath(), err))
	}
	return nil
}

func (c *cluster) saveState() error {
	b, err := json.Marshal(c.state)
	if err != nil {
		return err
	}
	tmp := c.statePath() + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return adapters.Coded(CodePGDataDir, "", fmt.Errorf("writing cluster state: %w", err))
	}
	if err := os.Rename(tmp, c.statePath()); err != nil {
		return adapters.Coded(CodePGDataDir, "", fmt.Errorf("writing cluster state: %w", err))
	}
	return nil
}

// readPostmasterPid returns the pid and port recorded by a running (or
// killed) postmaster.
func readPostmasterPid(path string) (pid, port int, ok bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, false
	}
	lines := strings.Split(string(b), "\n")
	pid, err = strconv.Atoi(strings.TrimSpace(lines[0]))
	if err != nil {
		return 0, 0, false
	}
	if len(lines) > 3 {
		port, _ = strconv.Atoi(strings.TrimSpace(lines[3]))
	}
	return pid, port, true
}

// adoptOrClearStale handles a postmaster.pid left by an earlier run: a server
// still running in this data dir is reused; the lock file of a dead one is
// removed once its last backend is gone.
func (c *cluster) adoptOrClearStale(ctx context.Context) (bool, error) {
	pidPath := filepath.Join(c.data, "postmaster.pid")
	pid, port, ok := readPostmasterPid(pidPath)
	if !ok {
		return false, nil
	}
	if pidAlive(pid) {
		cwd, known := processCwd(pid)
		if (!known || cwd == c.data) && port > 0 {
			c.pid, c.port = pid, port
			c.log.Info("reusing the PostgreSQL server left running by an earlier run", "pid", pid, "port", port)
			return true, nil
		}
	}
	// Backends of a killed postmaster notice its death within a moment.
	deadline := time.Now().Add(10 * time.Second)
	for {
		left := processesIn(c.data)
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			return false, adapters.Coded(CodePGStartFailed, "stop those processes, then start again",
				fmt.Errorf("processes %v of an earlier PostgreSQL server still run in %s", left, c.data))
		}
		select {
		case <-ctx.Done():
			return false, adapters.Coded(CodePGStartFailed, "", fmt.Errorf("waiting for an earlier server's processes to exit: %w", ctx.Err()))
		case <-time.After(100 * time.Millisecond):
		}
	}
	if err := os.Remove(pidPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, adapters.Coded(CodePGStartFailed, "remove "+pidPath+" by hand", fmt.Errorf("removing stale postmaster.pid: %w", err))
	}
	c.log.Info("removed the lock file of a PostgreSQL server that is no longer running", "pid", pid, "dir", c.data)
	return false, nil
}

// choosePort reuses the remembered port while it is free.
func (c *cluster) choosePort(avoid int) (int, error) {
	if p := c.state.Port; p > 0 && p != avoid && portFree(p) {
		return p, nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free loopback port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func portFree(port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	_ = l.Close()
	return true
}

func (c *cluster) writeConf(port int) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Rewritten by factflow on every start.\n")
	fmt.Fprintf(&b, "listen_addresses = '127.0.0.1'\nport = %d\n", port)
	// TCP only: no socket path length limit and no socket lock files.
	fmt.Fprintf(&b, "unix_socket_directories = ''\n")
	if c.ephemeral {
		fmt.Fprintf(&b, "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n")
	}
	path := filepath.Join(c.data, confFileName)
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return c.acct.chown(path)
}

// start runs pg_ctl start and waits until the server accepts connections.
// A port taken between choosing and binding is retried with another one.
func (c *cluster) start(ctx context.Context) error {
	logPath := filepath.Join(c.base, logFileName)
	avoid := 0
	for attempt := 1; ; attempt++ {
		port, err := c.choosePort(avoid)
		if err != nil {
			return adapters.Coded(CodePGStartFailed, "", err)
		}
		if err := c.writeConf(port); err != nil {
			return adapters.Coded(CodePGStartFailed, "", err)
		}
		logStart := fileSize(logPath)
		timeout := c.startTO
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < timeout {
			timeout = time.Until(dl)
		}
		secs := max(int(timeout.Round(time.Second)/time.Second), 1)
		out, err := c.command(ctx, "pg_ctl", "start", "-D", c.data, "-l", logPath, "-w", "-t", strconv.Itoa(secs), "-s").CombinedOutput()
		if err == nil {
			pid, _, ok := readPostmasterPid(filepath.Join(c.data, "postmaster.pid"))
			if !ok {
				return adapters.Coded(CodePGStartFailed, "", errors.New("the server started but wrote no postmaster.pid"))
			}
			c.pid, c.port = pid, port
			c.state.Port = port
			if err := c.saveState(); err != nil {
				return err
			}
			c.log.Debug("started the private PostgreSQL cluster", "pid", pid, "port", port, "dir", c.data)
			return nil
		}
		c.killLateStarter()
		serverLog := readFrom(logPath, logStart)
		if attempt < 3 && strings.Contains(serverLog, "could not bind") {
			avoid = port
			continue
		}
		return adapters.Coded(CodePGStartFailed, "the server log is "+logPath,
			fmt.Errorf("pg_ctl start: %w: %s\nserver log:\n%s", err, strings.TrimSpace(string(out)), tailLines([]byte(serverLog), 20)))
	}
}

// killLateStarter stops a postmaster that came up after pg_ctl gave up, so
// a failed start leaves nothing behind.
func (c *cluster) killLateStarter() {
	if pid, _, ok := readPostmasterPid(filepath.Join(c.data, "postmaster.pid")); ok && pidAlive(pid) {
		_ = signalPid(pid, sigImmediateShutdown)
	}
}

// stop performs a fast shutdown (open transactions are rolled back) and
// escalates to an immediate one when ctx ends first.
func (c *cluster) stop(ctx context.Context) error {
	defer c.unlock()
	if c.pid == 0 || !pidAlive(c.pid) {
		return nil
	}
	if err := signalPid(c.pid, sigFastShutdown); err != nil && pidAlive(c.pid) {
		return adapters.Coded(CodePGStopFailed, "", fmt.Errorf("signalling postmaster %d: %w", c.pid, err))
	}
	if c.waitExit(ctx) {
		return nil
	}
	_ = signalPid(c.pid, sigImmediateShutdown)
	grace, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
	defer cancel()
	c.waitExit(grace)
	return adapters.Coded(CodePGStopFailed, "the server was told to shut down immediately; it recovers on the next start",
		fmt.Errorf("stopping PostgreSQL (pid %d): %w", c.pid, ctx.Err()))
}

// waitExit waits for the postmaster to finish; its postmaster.pid goes
// last, and a zombie counts as finished.
func (c *cluster) waitExit(ctx context.Context) bool {
	pidPath := filepath.Join(c.data, "postmaster.pid")
	for {
		if !pidAlive(c.pid) {
			return true
		}
		if _, err := os.Stat(pidPath); errors.Is(err, fs.ErrNotExist) {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (c *cluster) url(database string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword("postgres", c.state.Password),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)),
		Path:     "/" + database,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generating a password: %w", err)
	}
	return hex.EncodeToString(b), nil
}

func fileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}

// readFrom returns a file's content from offset on (what one start wrote).
func readFrom(path string, offset int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if _, err := f.Seek(offset, 0); err != nil {
		return ""
	}
	var b bytes.Buffer
	_, _ = b.ReadFrom(f)
	return b.String()
}

func tailLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
