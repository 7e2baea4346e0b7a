package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/queue/brokerlock"
	"github.com/factflow/factflow/store/storetest"
)

// TestQuickRun runs the whole harness with tiny counts: every variant, a
// warm-up, a throughput and a paced round, the report and the CSV. It
// proves the benchmark still works; the figures themselves mean nothing.
func TestQuickRun(t *testing.T) {
	admin := storetest.AdminURL(t)
	cfg, err := parseFlags([]string{"-quick", "-n", "60", "-paced-n", "10", "-rate", "500"}, os.Stderr)
	require.NoError(t, err)
	cfg.OutDir = t.TempDir()
	cfg.AdminURL = admin

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	require.NoError(t, run(ctx, cfg, &stdout, &stderr), "stderr:\n%s", stderr.String())

	out := stdout.String()
	for _, want := range []string{"Throughput:", "Latency at low load:", varBare1, varBare3, varEngine, varLineage, "raw rounds:"} {
		require.Contains(t, out, want)
	}

	files, err := filepath.Glob(filepath.Join(cfg.OutDir, "pipeline-*.csv"))
	require.NoError(t, err)
	require.Len(t, files, 1)
	f, err := os.Open(files[0])
	require.NoError(t, err)
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	header := rows[0]
	col := func(name string) int {
		for i, h := range header {
			if h == name {
				return i
			}
		}
		t.Fatalf("CSV has no column %q: %v", name, header)
		return -1
	}
	// One measured throughput and one paced run per variant.
	seen := map[string]int{}
	for _, r := range rows[1:] {
		if r[col("round")] == "0" {
			continue
		}
		seen[r[col("mode")]+"/"+r[col("variant")]]++
		n, err := strconv.Atoi(r[col("n")])
		require.NoError(t, err)
		want := 60
		if r[col("mode")] == modePaced {
			want = 10
		}
		require.Equal(t, want, n, "row %v", r)
		rate, err := strconv.ParseFloat(r[col("msgs_per_s")], 64)
		require.NoError(t, err)
		require.Positive(t, rate, "row %v", r)
		require.Equal(t, "0", r[col("duplicates")], "row %v", r)
		if r[col("variant")] == varLineage {
			written, err := strconv.Atoi(r[col("lineage_written")])
			require.NoError(t, err)
			require.Positive(t, written, "lineage rows of %v", r)
		}
	}
	for _, v := range allVariants {
		require.Equal(t, 1, seen[modeThroughput+"/"+v], "throughput rounds of %s", v)
		require.Equal(t, 1, seen[modePaced+"/"+v], "paced rounds of %s", v)
	}
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
		check   func(t *testing.T, c config)
	}{
		{name: "defaults", check: func(t *testing.T, c config) {
			require.Equal(t, defaultConfig(), c)
		}},
		{name: "quick keeps explicit flags", args: []string{"-quick", "-n", "77", "-variants", "ff"}, check: func(t *testing.T, c config) {
			require.Equal(t, 77, c.N)
			require.Equal(t, []string{varEngine}, c.Variants)
			require.Equal(t, quickConfig().PacedN, c.PacedN)
		}},
		{name: "unknown variant", args: []string{"-variants", "bare3,kafka"}, wantErr: `unknown variant "kafka"`},
		{name: "no rounds", args: []string{"-rounds", "0"}, wantErr: "-rounds must be at least 1"},
		{name: "paced needs a rate", args: []string{"-rate", "0"}, wantErr: "paced runs need"},
		{name: "paced off needs no rate", args: []string{"-rate", "0", "-paced-rounds", "0"}, check: func(t *testing.T, c config) {
			require.Zero(t, c.PacedRounds)
		}},
		{name: "stray argument", args: []string{"extra"}, wantErr: "unexpected arguments"},
		{name: "brokers replace variants", args: []string{"-brokers", "amqp,stomp", "-kinds", "ff,wm"}, check: func(t *testing.T, c config) {
			require.Equal(t, []string{"amqp/ff", "amqp/wm", "stomp/ff"}, c.Variants)
		}},
		{name: "per-broker N", args: []string{"-brokers", "stomp,amqp", "-broker-n", "stomp=300"}, check: func(t *testing.T, c config) {
			require.Equal(t, 300, c.throughputN("stomp/ff"))
			require.Equal(t, c.N, c.throughputN("amqp/ff"))
		}},
		{name: "bad per-broker N", args: []string{"-broker-n", "stomp:300"}, wantErr: "is not broker=messages"},
		{name: "unknown broker", args: []string{"-brokers", "kafka"}, wantErr: `unknown broker "kafka"`},
		{name: "unknown kind", args: []string{"-brokers", "amqp", "-kinds", "bare,zmq"}, wantErr: `unknown kind "zmq"`},
		{name: "no watermill on stomp", args: []string{"-variants", "stomp/wm"}, wantErr: `unknown variant "stomp/wm"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseFlags(tt.args, &bytes.Buffer{})
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			tt.check(t, c)
		})
	}
}

func TestExpandAllBrokers(t *testing.T) {
	env := map[string]string{brokerEnv[brokerAMQP]: "amqp://x"}
	vs, err := expandBrokers([]string{"all"}, []string{kindBare, kindWatermill}, func(k string) string { return env[k] })
	require.NoError(t, err)
	require.Equal(t, []string{"embedded/bare", "amqp/bare", "amqp/wm"}, vs)
}

func TestRecorderCountsDuplicatesAndCloses(t *testing.T) {
	r := newRecorder(2)
	r.Begin(time.Now())
	born := time.Now().UnixNano()
	r.Arrive(born)
	select {
	case <-r.done:
		t.Fatal("done after 1 of 2 arrivals")
	default:
	}
	r.Arrive(born)
	<-r.done
	r.Arrive(born)
	require.Equal(t, int64(1), r.extra.Load())
	require.Len(t, r.latencies(), 2)
	require.Positive(t, r.elapsed())
}

// TestBrokersQuick runs the broker comparison with tiny counts on every
// broker this machine has: the embedded one always, an external one when
// its URL is set (scripts/services.sh env). A broker whose URL is set must
// work: the run fails otherwise.
// brokerService names each external broker as scripts/services.sh and
// queue/brokerlock do.
var brokerService = map[string]string{
	brokerNATS: "nats", brokerAMQP: "rabbitmq", brokerSTOMP: "artemis", brokerPulsar: "pulsar",
}

func TestBrokersQuick(t *testing.T) {
	admin := storetest.AdminURL(t)
	brokers := []string{brokerEmbedded}
	for _, b := range allBrokers[1:] {
		if os.Getenv(brokerEnv[b]) != "" {
			brokers = append(brokers, b)
		} else {
			t.Logf("%s not set: broker %s not run", brokerEnv[b], b)
		}
	}
	for _, b := range brokers {
		t.Run(b, func(t *testing.T) {
			if svc := brokerService[b]; svc != "" {
				brokerlock.Hold(t, svc, false) // no broker restart by another package meanwhile
			}
			cfg, err := parseFlags([]string{"-quick", "-brokers", b, "-n", "60", "-paced-n", "10", "-rate", "500", "-wm-workers", "4"}, os.Stderr)
			require.NoError(t, err)
			cfg.OutDir = t.TempDir()
			cfg.AdminURL = admin

			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			var stdout, stderr bytes.Buffer
			require.NoError(t, run(ctx, cfg, &stdout, &stderr), "stderr:\n%s", stderr.String())
			out := stdout.String()
			require.Contains(t, out, "Throughput per broker:")
			for _, k := range kindsOf(b) {
				v := brokerVariant(b, k)
				require.Regexp(t, `(?m)^\s+`+regexp.QuoteMeta(v)+`\s+[1-9]`, out, "throughput row of %s", v)
			}
			require.NotContains(t, out, "client errors")
			require.NotContains(t, out, "duplicates")
		})
	}
}

// TestBrokenBrokerFails points each external broker's URL at a port
// nothing listens on: the run must fail, not report figures.
func TestBrokenBrokerFails(t *testing.T) {
	admin := storetest.AdminURL(t)
	dead := map[string]string{
		brokerNATS:   "nats://127.0.0.1:1",
		brokerAMQP:   "amqp://guest:guest@127.0.0.1:1/",
		brokerSTOMP:  "stomp://guest:guest@127.0.0.1:1",
		brokerPulsar: "pulsar://127.0.0.1:1?admin=http://127.0.0.1:1",
	}
	for b, u := range dead {
		t.Run(b, func(t *testing.T) {
			t.Setenv(brokerEnv[b], u)
			cfg, err := parseFlags([]string{"-quick", "-brokers", b, "-n", "10", "-paced-rounds", "0"}, os.Stderr)
			require.NoError(t, err)
			cfg.OutDir = t.TempDir()
			cfg.AdminURL = admin
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			err = run(ctx, cfg, &bytes.Buffer{}, &bytes.Buffer{})
			require.Error(t, err)
			require.Contains(t, err.Error(), b+"/")
		})
	}
}
