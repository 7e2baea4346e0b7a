package main

import (
	"fmt"
	"io"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/factflow/factflow/bench/internal/benchcsv"
	"github.com/factflow/factflow/bench/internal/benchenv"
	"github.com/factflow/factflow/bench/internal/hostload"
)

// environment describes the machine and build a run measured.
type environment struct{ benchenv.Env }

func describeEnvironment() environment { return environment{benchenv.Describe(false)} }

func printHeader(w io.Writer, env environment, cfg config) {
	t := tuningFor(cfg.Concurrency)
	fmt.Fprintf(w, "Factflow pipeline benchmark, %s\n", env.Started.Format(time.RFC3339))
	fmt.Fprintf(w, "machine   %s, %d cores (GOMAXPROCS %d), %s; load average %s\n",
		env.CPUModel, env.Cores, runtime.GOMAXPROCS(0), env.Memory, env.Load)
	fmt.Fprintf(w, "software  %s, nats-server %s (embedded, file store), nats.go %s, commit %s\n",
		env.GoVersion, server.VERSION, nats.Version, env.Commit)
	fmt.Fprintf(w, "method    %d throughput rounds × N=%d (after a discarded warm-up: %t), %d paced rounds × %d msgs at %.0f msg/s;\n",
		cfg.Rounds, cfg.N, cfg.Warmup, cfg.PacedRounds, cfg.PacedN, cfg.Rate)
	fmt.Fprintf(w, "          variants alternate, order rotated each round; ~%d B messages; counted at the sink\n", cfg.Size)
	fmt.Fprintf(w, "factflow  a (generator) → b (noop) → c (sink); b, c: concurrency %d, prefetch %d; max_handlers %d, max_fanout_pending %d\n",
		t.concurrency, t.prefetch, t.maxHandlers, t.maxFanout)
	if len(cfg.Brokers) == 0 {
		fmt.Fprintf(w, "bare      nats.go, producer → [relay →] sink, a connection per stage, async publish, pulls of %d, relay acks after downstream PubAck\n\n", pullBatch)
		return
	}
	fmt.Fprintf(w, "brokers   %s (external ones from FACTFLOW_TEST_*_URL); Factflow lineage off\n", strings.Join(cfg.Brokers, ", "))
	fmt.Fprintln(w, "bare      producer → q1 → relay → q2 → sink, the relay acks upstream after the downstream publish is confirmed;")
	fmt.Fprintf(w, "          nats.go: async publish, pulls of %d | amqp091-go: confirms (window %d), prefetch %d | go-stomp: receipts, %d sender connections per stage, window %d B | pulsar-client-go: async send, no batching, receiver queue %d\n",
		pullBatch, bareAMQPWindow, bareAMQPPrefetch, bareSTOMPSenders, bareSTOMPWindow, barePulsarReceiver)
	fmt.Fprintf(w, "watermill v1.5.1 router (correlation id, retry, recoverer), %d subscribers per stage and %d publishing goroutines; watermill-nats/v2 JetStream, watermill-amqp/v3 durable queues with confirms\n\n", cfg.WMWorkers, cfg.WMWorkers)
}

// summary is one variant's measured rounds in one mode.
type summary struct {
	variant string
	rates   []float64
	rounds  []result
}

func summarize(results []result, mode string, variants []string) []summary {
	var out []summary
	for _, v := range variants {
		s := summary{variant: v}
		for _, r := range results {
			if r.Mode == mode && r.Variant == v && r.Round > 0 {
				s.rates = append(s.rates, r.Rate)
				s.rounds = append(s.rounds, r)
			}
		}
		if len(s.rounds) > 0 {
			out = append(out, s)
		}
	}
	return out
}

func (s summary) medianOf(f func(result) float64) float64 {
	v := make([]float64, len(s.rounds))
	for i, r := range s.rounds {
		v[i] = f(r)
	}
	return hostload.Median(v)
}

// pairedRatios divides each round's rate by the baseline's rate in the same
// round: adjacent runs see similar neighbours, so the ratio is steadier
// than either rate.
func pairedRatios(s, base summary) []float64 {
	byRound := map[int]float64{}
	for _, r := range base.rounds {
		byRound[r.Round] = r.Rate
	}
	var out []float64
	for _, r := range s.rounds {
		if b := byRound[r.Round]; b > 0 {
			out = append(out, r.Rate/b)
		}
	}
	return out
}

// smallN is the run size below which throughput figures mean little.
const smallN = 5000

// aims are the throughput targets relative to the bare 3-stage pipeline.
var aims = map[string]float64{varEngine: 0.60, varLineage: 0.40}

func printReport(w io.Writer, cfg config, results []result) {
	thr := summarize(results, modeThroughput, cfg.Variants)
	if len(cfg.Brokers) > 0 {
		printBrokerThroughput(w, cfg, thr)
	} else {
		printVariantThroughput(w, cfg, thr)
	}
	printPacedAndMachine(w, cfg, results)
}

func printVariantThroughput(w io.Writer, cfg config, thr []summary) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	var base *summary
	for i := range thr {
		if thr[i].variant == varBare3 {
			base = &thr[i]
		}
	}
	fmt.Fprintf(w, "Throughput: N=%d per run, %d rounds; msg/s counted at the sink (median, min–max); latency = median over rounds\n", cfg.N, cfg.Rounds)
	if cfg.N < smallN {
		fmt.Fprintf(w, "(N below %d: start-up costs dominate, so these figures show only that the harness works)\n", smallN)
	}
	fmt.Fprintln(tw, "variant\tmsg/s\tmin–max\t× bare3 (paired)\taim\tCPU µs/msg\tDB CPU µs/msg\tp50 ms\tp99 ms\t")
	var footnotes []string
	for _, s := range thr {
		ratio, aim := "", ""
		if base != nil && s.variant != varBare3 {
			rs := pairedRatios(s, *base)
			if len(rs) > 0 {
				ratio = fmt.Sprintf("%.0f%% (%.0f–%.0f%%)", 100*hostload.Median(rs), 100*slices.Min(rs), 100*slices.Max(rs))
			}
			if a, ok := aims[s.variant]; ok && len(rs) > 0 {
				verdict := "met"
				if hostload.Median(rs) < a {
					verdict = "not met"
				}
				aim = fmt.Sprintf("≥ %.0f%%: %s", 100*a, verdict)
			}
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%.0f–%.0f\t%s\t%s\t%.0f\t%.0f\t%s\t%s\t\n",
			s.variant, hostload.Median(s.rates), slices.Min(s.rates), slices.Max(s.rates), ratio, aim,
			s.medianOf(func(r result) float64 { return perMsg(r.CPU, r.N) }),
			s.medianOf(func(r result) float64 { return perMsg(r.DBCPU, r.N) }),
			fmtMS(s.medianOf(func(r result) float64 { return float64(r.P50) })),
			fmtMS(s.medianOf(func(r result) float64 { return float64(r.P99) })))
		if n := notes(s.rounds); n != "" {
			footnotes = append(footnotes, s.variant+": "+n)
		}
	}
	_ = tw.Flush()
	for _, n := range footnotes {
		fmt.Fprintln(w, "  "+n)
	}
}

func printPacedAndMachine(w io.Writer, cfg config, results []result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	var footnotes []string
	paced := summarize(results, modePaced, cfg.Variants)
	if len(paced) > 0 {
		fmt.Fprintf(w, "\nLatency at low load: %.0f msg/s offered, %d msgs × %d rounds; percentiles over all messages of all rounds\n",
			cfg.Rate, cfg.PacedN, cfg.PacedRounds)
		fmt.Fprintln(tw, "variant\tachieved msg/s\tp50 ms\tp99 ms\tmax ms\t")
		footnotes = nil
		for _, s := range paced {
			var all []int64
			for _, r := range s.rounds {
				all = append(all, r.lat...)
			}
			slices.Sort(all)
			fmt.Fprintf(tw, "%s\t%.0f\t%s\t%s\t%s\t\n", s.variant, hostload.Median(s.rates),
				ms(hostload.Percentile(all, 0.5)), ms(hostload.Percentile(all, 0.99)), ms(hostload.Percentile(all, 1)))
			if n := notes(s.rounds); n != "" {
				footnotes = append(footnotes, s.variant+": "+n)
			}
		}
		_ = tw.Flush()
		for _, n := range footnotes {
			fmt.Fprintln(w, "  "+n)
		}
	}

	var busy, steal, load []float64
	for _, r := range results {
		if r.Round > 0 {
			busy, steal, load = append(busy, r.Busy), append(steal, r.Steal), append(load, r.Load1)
		}
	}
	if len(busy) > 0 {
		fmt.Fprintf(w, "\nMachine during measured runs: busy %.0f%% (median; %.0f–%.0f%%), hypervisor steal %.1f%% (max %.1f%%), 1-min load %.2f–%.2f\n",
			100*hostload.Median(busy), 100*slices.Min(busy), 100*slices.Max(busy),
			100*hostload.Median(steal), 100*slices.Max(steal), slices.Min(load), slices.Max(load))
	}
}

func fmtMS(ns float64) string { return ms(time.Duration(ns)) }

// notes flags what would make a row's figures suspect.
func notes(rounds []result) string {
	var dup, dropped, written, clientErrs int64
	var tail []float64
	for _, r := range rounds {
		dup += r.Duplicates
		clientErrs += r.ClientErrors
		dropped += r.LineageDropped
		written += r.LineageWritten
		if r.FlushTail > 0 {
			tail = append(tail, float64(r.FlushTail))
		}
	}
	var parts []string
	if dup > 0 {
		parts = append(parts, fmt.Sprintf("%d duplicates", dup))
	}
	if clientErrs > 0 {
		parts = append(parts, fmt.Sprintf("%d client errors (see stderr)", clientErrs))
	}
	if written > 0 || dropped > 0 {
		parts = append(parts, fmt.Sprintf("%d lineage rows written, %d dropped; all written %s ms (median) after the last arrival", written, dropped, fmtMS(hostload.Median(tail))))
	}
	return strings.Join(parts, "; ")
}

func writeCSV(dir string, started time.Time, results []result) (string, error) {
	var rows [][]string
	rows = append(rows, []string{"round", "mode", "variant", "n", "elapsed_s", "msgs_per_s", "p50_ms", "p99_ms", "max_ms",
		"cpu_s", "cpu_us_per_msg", "db_cpu_s", "db_cpu_us_per_msg", "broker_cpu_s", "broker_cpu_us_per_msg", "machine_busy", "machine_steal", "load1", "duplicates", "client_errors",
		"wall_s", "lineage_written", "lineage_dropped", "lineage_flush_tail_ms"})
	for _, r := range results {
		rows = append(rows, []string{
			strconv.Itoa(r.Round), r.Mode, r.Variant, strconv.Itoa(r.N),
			fmt.Sprintf("%.4f", r.Elapsed.Seconds()), fmt.Sprintf("%.1f", r.Rate),
			ms(r.P50), ms(r.P99), ms(r.Max),
			fmt.Sprintf("%.4f", r.CPU.Seconds()), fmt.Sprintf("%.1f", perMsg(r.CPU, r.N)),
			fmt.Sprintf("%.4f", r.DBCPU.Seconds()), fmt.Sprintf("%.1f", perMsg(r.DBCPU, r.N)),
			fmt.Sprintf("%.4f", r.BrokerCPU.Seconds()), fmt.Sprintf("%.1f", perMsg(r.BrokerCPU, r.N)),
			fmt.Sprintf("%.3f", r.Busy), fmt.Sprintf("%.3f", r.Steal), fmt.Sprintf("%.2f", r.Load1),
			strconv.FormatInt(r.Duplicates, 10), strconv.FormatInt(r.ClientErrors, 10),
			fmt.Sprintf("%.4f", r.Wall.Seconds()), strconv.FormatInt(r.LineageWritten, 10),
			strconv.FormatInt(r.LineageDropped, 10), ms(r.FlushTail),
		})
	}
	return benchcsv.Write(dir, "pipeline", started, rows)
}

// brokerAim is the engine's throughput target relative to its broker's
// bare client loop; it must also beat watermill where that runs.
const brokerAim = 0.70

// printBrokerThroughput is the broker comparison's table: per broker, each
// kind's rate with its paired ratios to the broker's bare loop and to
// watermill.
func printBrokerThroughput(w io.Writer, cfg config, thr []summary) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	byName := map[string]summary{}
	for _, s := range thr {
		byName[s.variant] = s
	}
	ratio := func(s summary, base string) (string, float64) {
		b, ok := byName[base]
		if !ok || s.variant == base {
			return "", 0
		}
		rs := pairedRatios(s, b)
		if len(rs) == 0 {
			return "", 0
		}
		m := hostload.Median(rs)
		return fmt.Sprintf("%.0f%% (%.0f–%.0f%%)", 100*m, 100*slices.Min(rs), 100*slices.Max(rs)), m
	}
	fmt.Fprintf(w, "Throughput per broker: N=%d per run (%v for some brokers), %d rounds; msg/s counted at the sink (median, min–max); ratios paired per round (median, min–max)\n", cfg.N, cfg.BrokerN, cfg.Rounds)
	if cfg.N < smallN {
		fmt.Fprintf(w, "(N below %d: start-up costs dominate, so these figures show only that the harness works)\n", smallN)
	}
	fmt.Fprintln(tw, "variant\tmsg/s\tmin–max\t× bare (paired)\t× wm (paired)\taim\tCPU µs/msg\tbroker CPU µs/msg\tp50 ms\tp99 ms\t")
	var footnotes []string
	for _, s := range thr {
		broker, kind, _ := splitVariant(s.variant)
		toBare, mBare := ratio(s, brokerVariant(broker, kindBare))
		toWM, mWM := ratio(s, brokerVariant(broker, kindWatermill))
		aim := ""
		if kind == kindEngine && mBare > 0 {
			verdict := "met"
			if mBare < brokerAim || (mWM > 0 && mWM <= 1) {
				verdict = "not met"
			}
			aim = fmt.Sprintf("≥ %.0f%% bare", 100*brokerAim)
			if mWM > 0 {
				aim += ", > wm"
			}
			aim += ": " + verdict
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%.0f–%.0f\t%s\t%s\t%s\t%.0f\t%.0f\t%s\t%s\t\n",
			s.variant, hostload.Median(s.rates), slices.Min(s.rates), slices.Max(s.rates), toBare, toWM, aim,
			s.medianOf(func(r result) float64 { return perMsg(r.CPU, r.N) }),
			s.medianOf(func(r result) float64 { return perMsg(r.BrokerCPU, r.N) }),
			fmtMS(s.medianOf(func(r result) float64 { return float64(r.P50) })),
			fmtMS(s.medianOf(func(r result) float64 { return float64(r.P99) })))
		if n := notes(s.rounds); n != "" {
			footnotes = append(footnotes, s.variant+": "+n)
		}
	}
	_ = tw.Flush()
	for _, n := range footnotes {
		fmt.Fprintln(w, "  "+n)
	}
	fmt.Fprintln(w, "  CPU µs/msg: this process (clients, engine, and the embedded broker); broker CPU µs/msg: an external broker's process on this machine")
}
