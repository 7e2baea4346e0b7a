package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/factflow/factflow/bench/internal/hostload"
	"github.com/factflow/factflow/bench/internal/scratchdb"
	"github.com/factflow/factflow/bench/internal/serveproc"
)

// startResult is one start of the server, as written to the CSV.
type startResult struct {
	Round int // 0 = the discarded start
	Mode  string
	// Serving and Healthy run from exec to the serving line and to the
	// first 200 "healthy" answer.
	Serving, Healthy time.Duration
	// Server is the factflow process after Idle; PG the PostgreSQL
	// processes: the private cluster, or the backends of an external one.
	Server, PG memory
	Stop       stopResult
	// StrayPostmaster: the cluster was still running after the server had
	// exited (and was stopped by the harness).
	StrayPostmaster bool
	Busy, Steal     float64 // machine, from exec to healthy
	Load1           float64
	DBLine          string
}

// loadResult is one request run of one variant, as written to the CSV.
type loadResult struct {
	Round    int // 0 = warm-up
	Variant  string
	Requests int64
	Errors   int64
	FirstErr string
	Elapsed  time.Duration
	Rate     float64
	P50, P99 time.Duration
	Max      time.Duration
	Bytes    int64
	// CPU during the run: the factflow process (zero for bare, which runs
	// in this process), this process (load generator, plus the bare
	// server), and the database backends of the run's database.
	ServerCPU, SelfCPU, DBCPU time.Duration
	Busy, Steal               float64
	Load1                     float64
}

type harness struct {
	cfg      config
	root     string
	bin      string
	noDocker string // a socket path that does not exist
	extURL   string
	watch    *dbWatch
	log      io.Writer
	// outside lists private cluster dirs the server placed outside root
	// (its /var/tmp fallback), removed at the end.
	outside []string
}

// run is the whole benchmark: provision, start the server repeatedly,
// load it, report.
func run(ctx context.Context, cfg config, stdout, stderr io.Writer) (err error) {
	if err := cfg.validate(); err != nil {
		return err
	}
	h := &harness{cfg: cfg, log: stderr}
	if h.root, err = os.MkdirTemp("", "factflow-bench-server-"); err != nil {
		return fmt.Errorf("creating a scratch directory: %w", err)
	}
	defer h.cleanup()
	// Readable by the account a root process runs the private cluster as,
	// so the cluster lives (and is removed) under the scratch directory.
	if err := os.Chmod(h.root, 0o755); err != nil {
		return fmt.Errorf("opening the scratch directory: %w", err)
	}
	if err := os.Mkdir(filepath.Join(h.root, "logs"), 0o755); err != nil {
		return fmt.Errorf("creating the log directory: %w", err)
	}
	h.noDocker = filepath.Join(h.root, "no-docker.sock")

	h.bin = cfg.Bin
	if h.bin == "" {
		if h.bin, err = serveproc.BuildBinary(ctx, h.root, stderr); err != nil {
			return err
		}
	} else if h.bin, err = filepath.Abs(h.bin); err != nil {
		return fmt.Errorf("resolving -bin: %w", err)
	}
	if _, err := os.Stat(h.bin); err != nil {
		return fmt.Errorf("the factflow binary: %w", err)
	}

	if cfg.needsDatabase() {
		admin := cfg.AdminURL
		if admin == "" {
			if admin, err = scratchdb.AdminURL("bench-server"); err != nil {
				return err
			}
		}
		var drop func()
		if h.extURL, drop, err = scratchdb.Create(ctx, admin, "factflow_bench_server_"); err != nil {
			return err
		}
		defer drop()
		if h.watch, err = openDBWatch(ctx, admin, h.extURL); err != nil {
			return err
		}
		defer h.watch.close()
	}

	env := describeEnvironment(h.bin)
	if h.watch != nil {
		env.externalPG = h.watch.version
	}
	printHeader(stdout, env, cfg)

	starts, err := h.startPhase(ctx)
	if err != nil {
		return err
	}
	var (
		loads []loadResult
		after map[string]memory // each server after the request rounds, by variant
	)
	if cfg.LoadRounds > 0 {
		if loads, after, err = h.loadPhase(ctx); err != nil {
			return err
		}
	}

	csvPath, err := writeCSV(cfg.OutDir, env.Started, starts, loads)
	if err != nil {
		return err
	}
	printReport(stdout, cfg, starts, loads, after)
	fmt.Fprintf(stdout, "\nraw rounds: %s\n", csvPath)
	return nil
}

func (h *harness) cleanup() {
	for _, d := range h.outside {
		stopPostmaster(d)
		_ = os.RemoveAll(d)
	}
	if err := os.RemoveAll(h.root); err != nil {
		fmt.Fprintln(h.log, "removing the scratch directory:", err)
	}
}

// rotate starts the order at a different element each round, so no mode
// or variant always runs first.
func rotate(vs []string, k int) []string {
	k %= len(vs)
	return append(slices.Clone(vs[k:]), vs[:k]...)
}

func (h *harness) warmDir() string { return filepath.Join(h.root, "warm") }
func (h *harness) extDir() string  { return filepath.Join(h.root, "external") }

// startPhase starts the server once per mode (discarded), then Rounds
// times per mode.
func (h *harness) startPhase(ctx context.Context) ([]startResult, error) {
	modes := h.cfg.Modes
	var results []startResult
	// The discarded cold start creates the cluster the warm starts reuse.
	if slices.Contains(modes, modeCold) || slices.Contains(modes, modeWarm) {
		r, err := h.startOnce(ctx, 0, modeCold, h.warmDir())
		if err != nil {
			return nil, fmt.Errorf("first start (%s): %w", modeCold, err)
		}
		results = append(results, r)
	}
	for _, m := range []string{modeWarm, modeExternal} {
		if !slices.Contains(modes, m) {
			continue
		}
		dir := h.warmDir()
		if m == modeExternal {
			dir = h.extDir()
		}
		r, err := h.startOnce(ctx, 0, m, dir)
		if err != nil {
			return nil, fmt.Errorf("first start (%s): %w", m, err)
		}
		results = append(results, r)
	}
	for round := 1; round <= h.cfg.Rounds; round++ {
		for _, m := range rotate(modes, round-1) {
			var dir string
			switch m {
			case modeCold:
				dir = filepath.Join(h.root, fmt.Sprintf("cold-%d", round))
			case modeWarm:
				dir = h.warmDir()
			case modeExternal:
				dir = h.extDir()
			}
			r, err := h.startOnce(ctx, round, m, dir)
			if err != nil {
				return nil, fmt.Errorf("round %d, %s: %w", round, m, err)
			}
			results = append(results, r)
			if m == modeCold {
				if err := os.RemoveAll(dir); err != nil {
					return nil, fmt.Errorf("removing %s: %w", dir, err)
				}
			}
		}
	}
	return results, nil
}

// startOnce starts the server in a mode on dataDir, waits until it is
// healthy, lets it idle, reads its memory and stops it.
func (h *harness) startOnce(ctx context.Context, round int, mode, dataDir string) (res startResult, err error) {
	res = startResult{Round: round, Mode: mode, Load1: hostload.LoadAvg1()}
	var extra []string
	if mode == modeExternal {
		extra = append(extra, "DATABASE_URL="+h.extURL)
	}
	logPath := filepath.Join(h.root, "logs", fmt.Sprintf("%s-%d.log", mode, round))
	runtime.GC()
	before := hostload.ReadCPUStat()
	s, err := startServer(h.bin, dataDir, serverEnv(h.cfg.Docker, h.noDocker, extra...), logPath)
	if err != nil {
		return res, err
	}
	cluster := ""
	defer func() {
		stop := s.stop(h.cfg.StopTimeout)
		if err == nil {
			res.Stop = stop
		}
		if cluster != "" {
			res.StrayPostmaster = stopPostmaster(cluster)
		}
	}()

	res.Serving, res.Healthy, err = s.waitHealthy(ctx, h.cfg.StartTimeout)
	if err != nil {
		return res, err
	}
	load := hostload.Between(before, hostload.ReadCPUStat())
	res.Busy, res.Steal = load.Busy, load.Steal
	if err := s.waitDescribed(ctx); err != nil {
		return res, err
	}
	_, res.DBLine, cluster, _ = s.info()
	if cluster != "" && !strings.HasPrefix(cluster, h.root+string(filepath.Separator)) && !slices.Contains(h.outside, cluster) {
		h.outside = append(h.outside, cluster)
	}
	if mode != modeExternal && cluster == "" && !h.cfg.Docker {
		return res, fmt.Errorf("%w (%q)", errNotPrivate, res.DBLine)
	}

	select {
	case <-ctx.Done():
		return res, ctx.Err()
	case <-s.Exited():
		return res, fmt.Errorf("the server exited while idle (%v)%s", s.WaitErr(), s.LogTail())
	case <-time.After(h.cfg.Idle):
	}
	if res.Server, err = processMemory(s.Pid()); err != nil {
		return res, err
	}
	pg := descendants(s.Pid())
	if cluster != "" {
		pg = append(pg, clusterProcesses(cluster)...)
	} else {
		pg = append(pg, h.watch.backends(ctx)...)
	}
	slices.Sort(pg)
	res.PG = sumMemory(slices.Compact(pg))

	res.Stop = s.stop(h.cfg.StopTimeout)
	if cluster != "" {
		res.StrayPostmaster = stopPostmaster(cluster)
		cluster = "" // handled
	}
	label := fmt.Sprintf("round %d", round)
	if round == 0 {
		label = "first"
	}
	fmt.Fprintf(h.log, "%-8s %-8s healthy %6.3f s (serving line %6.3f s)  factflow rss %5.1f hwm %5.1f pss %5.1f MiB  postgres %2d procs rss %6.1f pss %5.1f MiB  stop %6.3f s%s  machine busy %3.0f%%\n",
		label, mode, res.Healthy.Seconds(), res.Serving.Seconds(), mib(res.Server.RSS), mib(res.Server.HWM), mib(res.Server.PSS),
		res.PG.Procs, mib(res.PG.RSS), mib(res.PG.PSS), res.Stop.Took.Seconds(), stopNote(res), 100*res.Busy)
	return res, nil
}

// stopNote flags a stop that was not clean.
func stopNote(r startResult) string {
	var parts []string
	if r.Stop.Killed {
		parts = append(parts, "KILLED")
	}
	if r.Stop.ExitCode != 0 {
		parts = append(parts, fmt.Sprintf("exit %d", r.Stop.ExitCode))
	}
	if r.StrayPostmaster {
		parts = append(parts, "postmaster left running")
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// loadPhase runs the request benchmark against a server in external mode
// (auth mode none), the bare baseline, and, for the token variant, a
// second server on the same database in auth mode token. It returns the
// rounds and the memory of each server after them, by variant.
func (h *harness) loadPhase(ctx context.Context) ([]loadResult, map[string]memory, error) {
	// The plain server is started whatever the variants: it stores and
	// runs the pipeline whose execution every variant reads.
	s, err := h.startLoadServer(ctx, "load", h.extDir())
	if err != nil {
		return nil, nil, err
	}
	defer h.stopLoadServer("load", s)
	base, _, _, _ := s.info()
	id, err := prepareExecution(ctx, base, "bench-server-"+randomHex(6))
	if err != nil {
		return nil, nil, fmt.Errorf("%w%s", err, s.LogTail())
	}
	path := "/api/v1/executions/" + id
	servers := map[string]*serverProc{varAPI: s}
	targets := map[string]*loader{}
	checks := []endpoint{{url: base + path}}
	for _, v := range h.cfg.Variants {
		switch v {
		case varAPI:
			targets[v] = newLoader(base+path, "", h.cfg.Concurrency)
		case varToken:
			token := "bench" + randomHex(24)
			// The rate limit that auth turns on (per token) would cap the
			// rate measured; the benchmark is about what a request costs.
			ts, err := h.startLoadServer(ctx, "load-token", filepath.Join(h.root, "external-token"),
				"FACTFLOW_AUTH_MODE=token", "FACTFLOW_BOOTSTRAP_TOKEN="+token, "FACTFLOW_RATE_LIMIT_RPS=0")
			if err != nil {
				return nil, nil, fmt.Errorf("the token-mode server: %w", err)
			}
			defer h.stopLoadServer("load-token", ts)
			tbase, _, _, _ := ts.info()
			if err := requiresToken(ctx, tbase+path); err != nil {
				return nil, nil, err
			}
			servers[v] = ts
			targets[v] = newLoader(tbase+path, token, h.cfg.Concurrency)
			checks = append(checks, endpoint{url: tbase + path, bearer: token})
		case varBare:
			bare, err := startBareServer(ctx, h.extURL)
			if err != nil {
				return nil, nil, err
			}
			defer bare.close()
			targets[v] = newLoader(bare.url+path, "", h.cfg.Concurrency)
			checks = append(checks, endpoint{url: bare.url + path})
		}
	}
	for _, l := range targets {
		defer l.close()
	}
	if err := sameExecution(ctx, checks...); err != nil {
		return nil, nil, err
	}

	var results []loadResult
	one := func(round int, v string, d time.Duration) error {
		pid := 0 // the bare server runs in this process
		if srv := servers[v]; srv != nil {
			pid = srv.Pid()
		}
		r, err := h.loadOnce(ctx, round, v, targets[v], pid, d)
		if err != nil {
			return fmt.Errorf("requests, round %d, %s: %w", round, v, err)
		}
		results = append(results, r)
		return nil
	}
	if h.cfg.Warmup > 0 {
		for _, v := range h.cfg.Variants {
			if err := one(0, v, h.cfg.Warmup); err != nil {
				return nil, nil, err
			}
		}
	}
	for round := 1; round <= h.cfg.LoadRounds; round++ {
		for _, v := range rotate(h.cfg.Variants, round-1) {
			if err := one(round, v, h.cfg.Duration); err != nil {
				return nil, nil, err
			}
		}
	}
	after := map[string]memory{}
	for _, v := range h.cfg.Variants {
		if srv := servers[v]; srv != nil {
			if after[v], err = processMemory(srv.Pid()); err != nil {
				return nil, nil, err
			}
		}
	}
	return results, after, nil
}

// startLoadServer starts a server in external mode on dataDir with extra
// environment and waits until it is healthy. The caller must call
// stopLoadServer.
func (h *harness) startLoadServer(ctx context.Context, name, dataDir string, extra ...string) (*serverProc, error) {
	env := serverEnv(h.cfg.Docker, h.noDocker, append([]string{"DATABASE_URL=" + h.extURL}, extra...)...)
	s, err := startServer(h.bin, dataDir, env, filepath.Join(h.root, "logs", name+".log"))
	if err != nil {
		return nil, err
	}
	if _, _, err := s.waitHealthy(ctx, h.cfg.StartTimeout); err != nil {
		h.stopLoadServer(name, s)
		return nil, err
	}
	return s, nil
}

// stopLoadServer stops a load server; a bad stop is reported, not
// returned, as the rounds are measured by then.
func (h *harness) stopLoadServer(name string, s *serverProc) {
	if st := s.stop(h.cfg.StopTimeout); st.Killed || st.ExitCode != 0 {
		fmt.Fprintf(h.log, "the %s server stopped badly: killed %t, exit %d%s\n", name, st.Killed, st.ExitCode, s.LogTail())
	}
}

func (h *harness) loadOnce(ctx context.Context, round int, variant string, l *loader, serverPID int, d time.Duration) (loadResult, error) {
	// Start every run from a collected heap, so one variant's garbage is
	// not collected on the next one's time.
	runtime.GC()
	res := loadResult{Round: round, Variant: variant, Load1: hostload.LoadAvg1()}
	var srv0 time.Duration
	if serverPID != 0 {
		srv0 = processCPU(serverPID)
	}
	db0, self0, stat0 := h.watch.cpu(ctx), hostload.SelfCPU(), hostload.ReadCPUStat()
	out, err := l.run(ctx, h.cfg.Concurrency, d)
	load := hostload.Between(stat0, hostload.ReadCPUStat())
	res.SelfCPU, res.DBCPU = hostload.SelfCPU()-self0, cpuBetween(db0, h.watch.cpu(ctx))
	if serverPID != 0 {
		res.ServerCPU = processCPU(serverPID) - srv0
	}
	res.Busy, res.Steal = load.Busy, load.Steal
	res.Requests, res.Errors, res.FirstErr, res.Elapsed, res.Bytes = out.requests, out.errors, out.firstErr, out.elapsed, out.bytes
	if err != nil {
		return res, err
	}
	res.Rate = float64(res.Requests) / res.Elapsed.Seconds()
	res.P50, res.P99, res.Max = hostload.Percentile(out.lat, 0.50), hostload.Percentile(out.lat, 0.99), hostload.Percentile(out.lat, 1)

	label := fmt.Sprintf("round %d", round)
	if round == 0 {
		label = "warm-up"
	}
	errs := ""
	if res.Errors > 0 {
		errs = fmt.Sprintf("  %d ERRORS (first: %s)", res.Errors, res.FirstErr)
	}
	fmt.Fprintf(h.log, "%-8s %-9s %8d req %8.0f req/s  p50 %6s ms  p99 %6s ms  cpu server %5.0f self %5.0f db %5.0f µs/req  machine busy %3.0f%%%s\n",
		label, variant, res.Requests, res.Rate, ms(res.P50), ms(res.P99),
		perReq(res.ServerCPU, res.Requests), perReq(res.SelfCPU, res.Requests), perReq(res.DBCPU, res.Requests), 100*res.Busy, errs)
	return res, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// perReq is d per request in microseconds.
func perReq(d time.Duration, n int64) float64 {
	if n == 0 {
		return 0
	}
	return float64(d.Microseconds()) / float64(n)
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond)) }
