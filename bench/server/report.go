package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/factflow/factflow/bench/internal/benchcsv"
	"github.com/factflow/factflow/bench/internal/benchenv"
	"github.com/factflow/factflow/bench/internal/hostload"
)

// Aims of issue 3: a warm start below 2 s, an idle server below 80 MB.
const (
	aimWarmStart = 2 * time.Second
	aimIdleRSS   = 80_000_000 // bytes
)

// environment describes the machine and build a run measured.
type environment struct {
	benchenv.Env
	kernel     string
	bin        string
	binSize    int64
	externalPG string
}

func describeEnvironment(bin string) environment {
	// New files count too: a binary built from the tree includes them.
	env := environment{Env: benchenv.Describe(true), kernel: "unknown", bin: bin}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		env.kernel = strings.TrimSpace(string(b))
	}
	if st, err := os.Stat(bin); err == nil {
		env.binSize = st.Size()
	}
	return env
}

func printHeader(w io.Writer, env environment, cfg config) {
	fmt.Fprintf(w, "Factflow server benchmark, %s\n", env.Started.Format(time.RFC3339))
	fmt.Fprintf(w, "machine   %s, %d cores (GOMAXPROCS %d), %s, Linux %s; load average %s\n",
		env.CPUModel, env.Cores, runtime.GOMAXPROCS(0), env.Memory, env.kernel, env.Load)
	ext := ""
	if env.externalPG != "" {
		ext = ", external PostgreSQL " + env.externalPG + " (same machine)"
	}
	fmt.Fprintf(w, "software  %s, factflow binary %.1f MB, commit %s%s\n", env.GoVersion, float64(env.binSize)/1e6, env.Commit, ext)
	fmt.Fprintf(w, "method    starts: %d rounds per mode after one discarded start each, modes %s alternating (order rotated);\n",
		cfg.Rounds, strings.Join(cfg.Modes, ", "))
	fmt.Fprintf(w, "          timed from exec to the first 200 \"healthy\" health answer; memory read after %s idle\n", cfg.Idle)
	if cfg.LoadRounds > 0 {
		fmt.Fprintf(w, "          requests: %d rounds × %s per variant after a %s warm-up each, %d keep-alive clients in this process;\n",
			cfg.LoadRounds, cfg.Duration, cfg.Warmup, cfg.Concurrency)
		fmt.Fprintf(w, "          variants %s alternating (order rotated)\n", strings.Join(cfg.Variants, ", "))
		if slices.Contains(cfg.Variants, varToken) {
			fmt.Fprintf(w, "          %s: a second server on the same database, auth.mode token, a bootstrap admin token sent as\n", varToken)
			fmt.Fprintln(w, "          Authorization: Bearer on every request, rate limit off (FACTFLOW_RATE_LIMIT_RPS=0)")
		}
	}
	fmt.Fprintln(w)
}

// spread formats the median and range of values.
func spread(v []float64, format string) string {
	if len(v) == 0 {
		return "—"
	}
	return fmt.Sprintf(format+" ("+format+"–"+format+")", hostload.Median(v), slices.Min(v), slices.Max(v))
}

func measuredStarts(results []startResult, mode string) []startResult {
	var out []startResult
	for _, r := range results {
		if r.Round > 0 && r.Mode == mode {
			out = append(out, r)
		}
	}
	return out
}

func collect[T any](rs []T, f func(T) float64) []float64 {
	out := make([]float64, len(rs))
	for i, r := range rs {
		out[i] = f(r)
	}
	return out
}

func printReport(w io.Writer, cfg config, starts []startResult, loads []loadResult, after map[string]memory) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "Start to healthy: exec → GET /api/v1/system/health 200 \"healthy\"; seconds, median (min–max) of %d rounds\n", cfg.Rounds)
	fmt.Fprintln(tw, "mode\thealthy s\tserving line s\tstop s (SIGTERM → exit)\taim\t")
	var notes []string
	for _, m := range cfg.Modes {
		rs := measuredStarts(starts, m)
		if len(rs) == 0 {
			continue
		}
		healthy := collect(rs, func(r startResult) float64 { return r.Healthy.Seconds() })
		aim := ""
		if m != modeCold {
			verdict := "met"
			if hostload.Median(healthy) >= aimWarmStart.Seconds() {
				verdict = "not met"
			}
			aim = fmt.Sprintf("< %.0f s: %s", aimWarmStart.Seconds(), verdict)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t\n", m, spread(healthy, "%.3f"),
			spread(collect(rs, func(r startResult) float64 { return r.Serving.Seconds() }), "%.3f"),
			spread(collect(rs, func(r startResult) float64 { return r.Stop.Took.Seconds() }), "%.3f"), aim)
		if n := stopNotes(rs); n != "" {
			notes = append(notes, m+": "+n)
		}
	}
	_ = tw.Flush()
	for _, n := range notes {
		fmt.Fprintln(w, "  "+n)
	}

	fmt.Fprintf(w, "\nIdle memory %s after healthy; MiB, median (min–max); aim: factflow RSS < 80 MB (%.1f MiB)\n", cfg.Idle, mib(aimIdleRSS))
	fmt.Fprintln(tw, "mode\tfactflow RSS\tHWM\tPSS\taim\tpostgres procs\tpostgres RSS sum\tpostgres PSS sum\t")
	for _, m := range cfg.Modes {
		rs := measuredStarts(starts, m)
		if len(rs) == 0 {
			continue
		}
		rss := collect(rs, func(r startResult) float64 { return mib(r.Server.RSS) })
		verdict := "met"
		if hostload.Median(rss) >= mib(aimIdleRSS) {
			verdict = "not met"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%.0f\t%s\t%s\t\n", m, spread(rss, "%.1f"),
			spread(collect(rs, func(r startResult) float64 { return mib(r.Server.HWM) }), "%.1f"),
			spread(collect(rs, func(r startResult) float64 { return mib(r.Server.PSS) }), "%.1f"),
			verdict,
			hostload.Median(collect(rs, func(r startResult) float64 { return float64(r.PG.Procs) })),
			spread(collect(rs, func(r startResult) float64 { return mib(r.PG.RSS) }), "%.1f"),
			spread(collect(rs, func(r startResult) float64 { return mib(r.PG.PSS) }), "%.1f"))
	}
	_ = tw.Flush()
	fmt.Fprintln(w, "  postgres: cold and warm = the whole private cluster (postmaster and children); external = only the")
	fmt.Fprintln(w, "  backends serving the server's connections. RSS sums count shared buffers once per process; PSS shares them out.")
	for _, m := range cfg.Modes {
		if rs := measuredStarts(starts, m); len(rs) > 0 && rs[0].DBLine != "" {
			fmt.Fprintf(w, "  %s: %s\n", m, rs[0].DBLine)
		}
	}
	printMachine(w, "starts", collect(nonZero(starts), func(r startResult) float64 { return r.Busy }),
		collect(nonZero(starts), func(r startResult) float64 { return r.Steal }),
		collect(nonZero(starts), func(r startResult) float64 { return r.Load1 }))

	if len(loads) > 0 {
		printLoad(w, tw, cfg, loads, after)
	}
}

func nonZero(rs []startResult) []startResult {
	var out []startResult
	for _, r := range rs {
		if r.Round > 0 {
			out = append(out, r)
		}
	}
	return out
}

func stopNotes(rs []startResult) string {
	var killed, exits, stray int
	for _, r := range rs {
		if r.Stop.Killed {
			killed++
		}
		if r.Stop.ExitCode != 0 {
			exits++
		}
		if r.StrayPostmaster {
			stray++
		}
	}
	var parts []string
	if killed > 0 {
		parts = append(parts, fmt.Sprintf("%d stops needed SIGKILL", killed))
	}
	if exits > 0 {
		parts = append(parts, fmt.Sprintf("%d exits with a non-zero code", exits))
	}
	if stray > 0 {
		parts = append(parts, fmt.Sprintf("%d times PostgreSQL was left running after the server exited", stray))
	}
	return strings.Join(parts, "; ")
}

func printMachine(w io.Writer, what string, busy, steal, load []float64) {
	if len(busy) == 0 {
		return
	}
	fmt.Fprintf(w, "Machine during measured %s: busy %.0f%% (median; %.0f–%.0f%%), hypervisor steal %.1f%% (max %.1f%%), 1-min load %.2f–%.2f\n",
		what, 100*hostload.Median(busy), 100*slices.Min(busy), 100*slices.Max(busy),
		100*hostload.Median(steal), 100*slices.Max(steal), slices.Min(load), slices.Max(load))
}

func printLoad(w io.Writer, tw *tabwriter.Writer, cfg config, loads []loadResult, after map[string]memory) {
	byVariant := map[string][]loadResult{}
	var measured []loadResult
	for _, r := range loads {
		if r.Round > 0 {
			byVariant[r.Variant] = append(byVariant[r.Variant], r)
			measured = append(measured, r)
		}
	}
	bareByRound := map[int]float64{}
	for _, r := range byVariant[varBare] {
		bareByRound[r.Round] = r.Rate
	}
	// The load generator's own cost per request, measured in API rounds,
	// taken off this process's CPU in the bare round of the same round
	// estimates what the bare server costs.
	genByRound := map[int]float64{}
	gen := byVariant[varAPI]
	if len(gen) == 0 {
		gen = byVariant[varToken]
	}
	for _, r := range gen {
		genByRound[r.Round] = perReq(r.SelfCPU, r.Requests)
	}
	fmt.Fprintf(w, "\nGET /api/v1/executions/{id} on loopback: %d keep-alive clients, %s × %d rounds per variant; req/s median (min–max); latency = median over rounds\n",
		cfg.Concurrency, cfg.Duration, cfg.LoadRounds)
	fmt.Fprintln(tw, "variant\treq/s\t× bare (paired)\tp50 ms\tp99 ms\tserver CPU µs/req\tharness CPU µs/req\tDB CPU µs/req\ttotal CPU µs/req\tbody bytes\t")
	var notes []string
	for _, v := range allVariants {
		rs := byVariant[v]
		if len(rs) == 0 {
			continue
		}
		ratio := ""
		if v != varBare {
			var ratios []float64
			for _, r := range rs {
				if b := bareByRound[r.Round]; b > 0 {
					ratios = append(ratios, r.Rate/b)
				}
			}
			if len(ratios) > 0 {
				ratio = fmt.Sprintf("%.0f%% (%.0f–%.0f%%)", 100*hostload.Median(ratios), 100*slices.Min(ratios), 100*slices.Max(ratios))
			}
		}
		server := "—"
		switch v {
		case varAPI, varToken:
			server = fmt.Sprintf("%.0f", hostload.Median(collect(rs, func(r loadResult) float64 { return perReq(r.ServerCPU, r.Requests) })))
		case varBare:
			var est []float64
			for _, r := range rs {
				if g, ok := genByRound[r.Round]; ok {
					est = append(est, perReq(r.SelfCPU, r.Requests)-g)
				}
			}
			if len(est) > 0 {
				server = fmt.Sprintf("≈%.0f", hostload.Median(est))
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%.0f\t%.0f\t%.0f\t%d\t\n", v,
			spread(collect(rs, func(r loadResult) float64 { return r.Rate }), "%.0f"), ratio,
			fmtMS(hostload.Median(collect(rs, func(r loadResult) float64 { return float64(r.P50) }))),
			fmtMS(hostload.Median(collect(rs, func(r loadResult) float64 { return float64(r.P99) }))),
			server,
			hostload.Median(collect(rs, func(r loadResult) float64 { return perReq(r.SelfCPU, r.Requests) })),
			hostload.Median(collect(rs, func(r loadResult) float64 { return perReq(r.DBCPU, r.Requests) })),
			hostload.Median(collect(rs, func(r loadResult) float64 { return perReq(r.ServerCPU+r.SelfCPU+r.DBCPU, r.Requests) })),
			rs[0].Bytes)
		var errs int64
		for _, r := range rs {
			errs += r.Errors
		}
		if errs > 0 {
			notes = append(notes, fmt.Sprintf("%s: %d failed requests (first: %s)", v, errs, rs[0].FirstErr))
		}
	}
	_ = tw.Flush()
	for _, n := range notes {
		fmt.Fprintln(w, "  "+n)
	}
	fmt.Fprintln(w, "  harness CPU = this process: the load generator, plus the bare server in bare rounds; the bare server's")
	fmt.Fprintln(w, "  CPU (≈) is that minus the load generator's share measured in the API round of the same round")
	if c, ok := authCost(byVariant[varAPI], byVariant[varToken]); ok {
		fmt.Fprintf(w, "Authentication cost (%s − %s, paired per round, median (min to max) of %d): req/s %+.0f%% (%+.0f to %+.0f%%),\n",
			varToken, varAPI, c.pairs, 100*hostload.Median(c.rate), 100*slices.Min(c.rate), 100*slices.Max(c.rate))
		fmt.Fprintf(w, "  p50 %+.2f ms, p99 %+.2f ms, server CPU %+.0f µs/req (%+.0f to %+.0f), DB CPU %+.0f µs/req, total CPU %+.0f µs/req\n",
			hostload.Median(c.p50), hostload.Median(c.p99), hostload.Median(c.server), slices.Min(c.server), slices.Max(c.server),
			hostload.Median(c.db), hostload.Median(c.total))
	}
	for _, v := range allVariants {
		m, ok := after[v]
		if !ok || m.Procs == 0 {
			continue
		}
		what := "factflow"
		if v == varToken {
			what = "factflow in token mode"
		}
		fmt.Fprintf(w, "%s after the request rounds: RSS %.1f MiB, HWM %.1f MiB, PSS %.1f MiB\n", what, mib(m.RSS), mib(m.HWM), mib(m.PSS))
	}
	printMachine(w, "request rounds", collect(measured, func(r loadResult) float64 { return r.Busy }),
		collect(measured, func(r loadResult) float64 { return r.Steal }),
		collect(measured, func(r loadResult) float64 { return r.Load1 }))
}

// authDelta is what the token variant costs over the plain API, per
// measured round both ran: rate as a fraction of the plain rate, latency
// in milliseconds, CPU in microseconds per request.
type authDelta struct {
	pairs             int
	rate, p50, p99    []float64
	server, db, total []float64
}

// authCost pairs the token rounds with the plain API rounds of the same
// round, so both ran under the same machine conditions; ok is false
// without a pair.
func authCost(plain, token []loadResult) (authDelta, bool) {
	byRound := map[int]loadResult{}
	for _, r := range plain {
		byRound[r.Round] = r
	}
	var d authDelta
	for _, t := range token {
		p, ok := byRound[t.Round]
		if !ok || p.Rate == 0 {
			continue
		}
		d.pairs++
		d.rate = append(d.rate, t.Rate/p.Rate-1)
		d.p50 = append(d.p50, float64(t.P50-p.P50)/float64(time.Millisecond))
		d.p99 = append(d.p99, float64(t.P99-p.P99)/float64(time.Millisecond))
		d.server = append(d.server, perReq(t.ServerCPU, t.Requests)-perReq(p.ServerCPU, p.Requests))
		d.db = append(d.db, perReq(t.DBCPU, t.Requests)-perReq(p.DBCPU, p.Requests))
		d.total = append(d.total, perReq(t.ServerCPU+t.SelfCPU+t.DBCPU, t.Requests)-perReq(p.ServerCPU+p.SelfCPU+p.DBCPU, p.Requests))
	}
	return d, d.pairs > 0
}

func fmtMS(ns float64) string { return ms(time.Duration(ns)) }

var csvHeader = []string{"kind", "round", "mode", "healthy_s", "serving_s", "stop_s", "stop_killed", "exit_code", "stray_postmaster",
	"rss_kib", "hwm_kib", "pss_kib", "pg_procs", "pg_rss_kib", "pg_pss_kib",
	"requests", "errors", "elapsed_s", "req_per_s", "p50_ms", "p99_ms", "max_ms", "body_bytes",
	"server_cpu_us_per_req", "harness_cpu_us_per_req", "db_cpu_us_per_req",
	"machine_busy", "machine_steal", "load1"}

func writeCSV(dir string, started time.Time, starts []startResult, loads []loadResult) (string, error) {
	rows := [][]string{csvHeader}
	kib := func(b int64) string { return strconv.FormatInt(b>>10, 10) }
	f3 := func(v float64) string { return fmt.Sprintf("%.3f", v) }
	for _, r := range starts {
		rows = append(rows, []string{"start", strconv.Itoa(r.Round), r.Mode,
			fmt.Sprintf("%.4f", r.Healthy.Seconds()), fmt.Sprintf("%.4f", r.Serving.Seconds()), fmt.Sprintf("%.4f", r.Stop.Took.Seconds()),
			strconv.FormatBool(r.Stop.Killed), strconv.Itoa(r.Stop.ExitCode), strconv.FormatBool(r.StrayPostmaster),
			kib(r.Server.RSS), kib(r.Server.HWM), kib(r.Server.PSS), strconv.Itoa(r.PG.Procs), kib(r.PG.RSS), kib(r.PG.PSS),
			"", "", "", "", "", "", "", "", "", "", "",
			f3(r.Busy), f3(r.Steal), fmt.Sprintf("%.2f", r.Load1)})
	}
	for _, r := range loads {
		rows = append(rows, []string{"requests", strconv.Itoa(r.Round), r.Variant,
			"", "", "", "", "", "", "", "", "", "", "", "",
			strconv.FormatInt(r.Requests, 10), strconv.FormatInt(r.Errors, 10), fmt.Sprintf("%.4f", r.Elapsed.Seconds()),
			fmt.Sprintf("%.1f", r.Rate), ms(r.P50), ms(r.P99), ms(r.Max), strconv.FormatInt(r.Bytes, 10),
			fmt.Sprintf("%.1f", perReq(r.ServerCPU, r.Requests)), fmt.Sprintf("%.1f", perReq(r.SelfCPU, r.Requests)),
			fmt.Sprintf("%.1f", perReq(r.DBCPU, r.Requests)),
			f3(r.Busy), f3(r.Steal), fmt.Sprintf("%.2f", r.Load1)})
	}
	return benchcsv.Write(dir, "server", started, rows)
}
