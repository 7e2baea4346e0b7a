package main

import (
	"fmt"
	"io"
	"math"
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

// environment describes the machine and build a run measured.
type environment struct {
	benchenv.Env
	binary string
}

func describeEnvironment(bin string) environment {
	return environment{Env: benchenv.Describe(false), binary: bin}
}

func printHeader(w io.Writer, env environment, cfg config) {
	fmt.Fprintf(w, "Factflow reliability benchmark, %s\n", env.Started.Format(time.RFC3339))
	fmt.Fprintf(w, "machine   %s, %d cores (GOMAXPROCS %d); load average %s\n",
		env.CPUModel, env.Cores, runtime.GOMAXPROCS(0), env.Load)
	fmt.Fprintf(w, "software  %s, commit %s\n", env.GoVersion, env.Commit)
	if cfg.has(scenPoison) {
		fmt.Fprintf(w, "poison    %d msgs of ~%d B per run, every %d. fails, retry_delay %s, concurrency %d, %d rounds, warm-up %t; paced: %d msgs at %.0f msg/s, %d rounds\n",
			cfg.N, cfg.Size, cfg.Every, cfg.RetryDelay, cfg.Concurrency, cfg.Rounds, cfg.Warmup, cfg.PacedN, cfg.Rate, cfg.PacedRounds)
	}
	if cfg.has(scenShutdown) {
		fmt.Fprintf(w, "shutdown  %s serve --embedded, external database; %d pages at %s each, fetch concurrency %d, SIGTERM after %d fetched; budget %s; %d rounds\n",
			env.binary, cfg.Pages, cfg.PageDelay, cfg.FetchConcurrency, cfg.Flowing, cfg.budget(), cfg.ShutdownRounds)
	}
	fmt.Fprintln(w)
}

func printReport(w io.Writer, cfg config, poison []poisonResult, stops []shutdownResult) {
	if len(poison) > 0 {
		printPoison(w, cfg, poison)
	}
	if len(stops) > 0 {
		if len(poison) > 0 {
			fmt.Fprintln(w)
		}
		printShutdown(w, cfg, stops)
	}
}

func printPoison(w io.Writer, cfg config, all []poisonResult) {
	var results, paced []poisonResult
	for _, r := range all {
		if r.Mode == modePaced {
			paced = append(paced, r)
		} else {
			results = append(results, r)
		}
	}
	fmt.Fprintf(w, "Throughput with failing messages: %d msgs per run, 1 in %d failing (%.1f %%), %d rounds; latency pooled over the rounds\n",
		cfg.N, cfg.Every, 100/float64(cfg.Every), cfg.Rounds)
	clean := map[int]float64{}
	for _, r := range results {
		if r.Variant == varClean {
			clean[r.Round] = r.Rate
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "variant\tmsg/s\tmin–max\t× clean (paired)\tp50 ms\tp99 ms\tp99.9 ms\tmax ms\tdead letters\tretries\tCPU µs/msg\t")
	for _, v := range cfg.Variants {
		var rates, ratios, cpu []float64
		var lat []int64
		var dl, retried int64
		for _, r := range results {
			if r.Variant != v {
				continue
			}
			rates = append(rates, r.Rate)
			cpu = append(cpu, float64(r.CPU.Microseconds())/float64(r.N))
			if c, ok := clean[r.Round]; ok && c > 0 {
				ratios = append(ratios, r.Rate/c)
			}
			lat = append(lat, r.lat...)
			dl += int64(r.DeadLetters)
			retried += r.Retried
		}
		if len(rates) == 0 {
			continue
		}
		slices.Sort(lat)
		ratio := ""
		if v != varClean && len(ratios) > 0 {
			ratio = fmt.Sprintf("%.0f%% (%.0f–%.0f%%)", 100*hostload.Median(ratios), 100*slices.Min(ratios), 100*slices.Max(ratios))
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%.0f–%.0f\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%.0f\t\n", v, hostload.Median(rates), slices.Min(rates), slices.Max(rates),
			ratio, ms(hostload.Percentile(lat, 0.5)), ms(hostload.Percentile(lat, 0.99)), ms(hostload.Percentile(lat, 0.999)),
			ms(hostload.Percentile(lat, 1)),
			dl, retried, hostload.Median(cpu))
	}
	_ = tw.Flush()
	busy, steal := spread(results, func(r poisonResult) float64 { return 100 * r.Busy }), spread(results, func(r poisonResult) float64 { return 100 * r.Steal })
	fmt.Fprintf(w, "  msg/s: -n over first generated message → execution end (every message settled, every dead letter written); dead letters and retries summed over the rounds\n")
	fmt.Fprintf(w, "  machine busy %s %%, steal %s %% during the runs\n", busy, steal)
	if len(paced) > 0 {
		printPaced(w, cfg, paced)
	}
}

func printPaced(w io.Writer, cfg config, results []poisonResult) {
	fmt.Fprintf(w, "\nLatency below saturation: %.0f msg/s offered, %d msgs × %d rounds; percentiles over all messages of all rounds\n",
		cfg.Rate, cfg.PacedN, cfg.PacedRounds)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "variant\tachieved msg/s\tp50 ms\tp90 ms\tp99 ms\tp99.9 ms\tmax ms\t")
	for _, v := range cfg.Variants {
		var rates []float64
		var lat []int64
		for _, r := range results {
			if r.Variant == v {
				rates = append(rates, r.Rate)
				lat = append(lat, r.lat...)
			}
		}
		if len(rates) == 0 {
			continue
		}
		slices.Sort(lat)
		fmt.Fprintf(tw, "%s\t%.0f\t%s\t%s\t%s\t%s\t%s\t\n", v, hostload.Median(rates), ms(hostload.Percentile(lat, 0.5)),
			ms(hostload.Percentile(lat, 0.9)), ms(hostload.Percentile(lat, 0.99)), ms(hostload.Percentile(lat, 0.999)), ms(hostload.Percentile(lat, 1)))
	}
	_ = tw.Flush()
}

// spread formats the min–max of f over the results.
func spread[T any](rs []T, f func(T) float64) string {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, r := range rs {
		lo, hi = min(lo, f(r)), max(hi, f(r))
	}
	return fmt.Sprintf("%.0f–%.0f", lo, hi)
}

func printShutdown(w io.Writer, cfg config, results []shutdownResult) {
	fmt.Fprintf(w, "SIGTERM to exit under load: %d rounds, shutdown budget %s\n", len(results), cfg.budget())
	var took, inflight []float64
	clean, late := 0, int64(0)
	statuses := map[string]int{}
	dl := 0
	for _, r := range results {
		took = append(took, r.Took.Seconds())
		inflight = append(inflight, float64(r.InFlight))
		if r.ok() {
			clean++
		}
		statuses[string(r.Status)]++
		dl += r.DeadLetters
		late += r.LateRequests
	}
	var st []string
	for s, n := range statuses {
		st = append(st, fmt.Sprintf("%s %d", s, n))
	}
	slices.Sort(st)
	fmt.Fprintf(w, "  SIGTERM → exit   median %.3f s, min %.3f s, max %.3f s (%.1f %% of the budget at most)\n",
		hostload.Median(took), slices.Min(took), slices.Max(took), 100*slices.Max(took)/cfg.budget().Seconds())
	fmt.Fprintf(w, "  at the signal    %.0f fetches in flight (median), %d–%d pages fetched\n",
		hostload.Median(inflight), slices.MinFunc(results, byFetched).Fetched, slices.MaxFunc(results, byFetched).Fetched)
	fmt.Fprintf(w, "  aftermath        %d/%d clean (exit 0, interrupted, no dead letters); executions: %s; dead letters %d; page requests begun after the signal %d\n",
		clean, len(results), strings.Join(st, ", "), dl, late)
}

func byFetched(a, b shutdownResult) int { return int(a.Fetched - b.Fetched) }

var csvHeader = []string{"scenario", "mode", "round", "variant", "n", "elapsed_s", "sink_elapsed_s", "msgs_per_s", "arrived",
	"dead_letters", "retried", "p50_ms", "p99_ms", "max_ms", "cpu_us_per_msg",
	"fetched", "in_flight", "sigterm_to_exit_s", "exit_code", "killed", "status", "late_requests",
	"busy", "steal", "load1"}

func writeCSV(dir string, started time.Time, poison []poisonResult, stops []shutdownResult) (string, error) {
	rows := [][]string{csvHeader}
	f3 := func(v float64) string { return fmt.Sprintf("%.3f", v) }
	for _, r := range poison {
		rows = append(rows, []string{scenPoison, r.Mode, strconv.Itoa(r.Round), r.Variant, strconv.Itoa(r.N),
			fmt.Sprintf("%.4f", r.Elapsed.Seconds()), fmt.Sprintf("%.4f", r.SinkElapsed.Seconds()), fmt.Sprintf("%.1f", r.Rate),
			strconv.Itoa(r.Arrived), strconv.Itoa(r.DeadLetters), strconv.FormatInt(r.Retried, 10),
			ms(r.P50), ms(r.P99), ms(r.Max), fmt.Sprintf("%.1f", float64(r.CPU.Microseconds())/float64(r.N)),
			"", "", "", "", "", "", "",
			f3(r.Busy), f3(r.Steal), fmt.Sprintf("%.2f", r.Load1)})
	}
	for _, r := range stops {
		rows = append(rows, []string{scenShutdown, "", strconv.Itoa(r.Round), "", "",
			"", "", "", "", strconv.Itoa(r.DeadLetters), "", "", "", "", "",
			strconv.FormatInt(r.Fetched, 10), strconv.FormatInt(r.InFlight, 10), fmt.Sprintf("%.4f", r.Took.Seconds()),
			strconv.Itoa(r.ExitCode), strconv.FormatBool(r.Killed), string(r.Status), strconv.FormatInt(r.LateRequests, 10),
			"", "", fmt.Sprintf("%.2f", r.Load1)})
	}
	return benchcsv.Write(dir, "reliability", started, rows)
}
