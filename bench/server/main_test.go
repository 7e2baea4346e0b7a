package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/store/storetest"
)

// TestQuickRun runs the whole harness with tiny durations against the real
// binary, built from this module: every start mode, the request rounds, the
// report and the CSV. It proves the benchmark still works and leaves nothing
// behind; the figures themselves mean nothing.
func TestQuickRun(t *testing.T) {
	admin := storetest.AdminURL(t)
	cfg, err := parseFlags([]string{"-quick", "-idle", "200ms", "-duration", "300ms", "-warmup", "100ms", "-concurrency", "4"}, os.Stderr)
	require.NoError(t, err)
	cfg.OutDir = t.TempDir()
	cfg.AdminURL = admin

	// The scratch directory goes here, so the test can see it removed. A
	// root process runs the private cluster as another account, which must
	// be able to reach it.
	tmp := t.TempDir()
	require.NoError(t, os.Chmod(filepath.Dir(tmp), 0o755))
	require.NoError(t, os.Chmod(tmp, 0o755))
	t.Setenv("TMPDIR", tmp)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	require.NoError(t, run(ctx, cfg, &stdout, &stderr), "stderr:\n%s", stderr.String())

	out := stdout.String()
	for _, want := range []string{"Start to healthy:", "Idle memory", "GET /api/v1/executions/{id}", "raw rounds:",
		modeCold, modeWarm, modeExternal, varAPI, varToken, varBare, "private PostgreSQL",
		"Authentication cost", "factflow in token mode after the request rounds"} {
		require.Contains(t, out, want)
	}

	left, err := os.ReadDir(tmp)
	require.NoError(t, err)
	require.Empty(t, left, "the scratch directory is removed")
	require.Empty(t, processesMentioning(t, tmp), "no server or PostgreSQL process is left running")

	files, err := filepath.Glob(filepath.Join(cfg.OutDir, "server-*.csv"))
	require.NoError(t, err)
	require.Len(t, files, 1)
	f, err := os.Open(files[0])
	require.NoError(t, err)
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	require.Equal(t, csvHeader, rows[0])
	col := func(r []string, name string) string {
		for i, h := range csvHeader {
			if h == name {
				return r[i]
			}
		}
		t.Fatalf("CSV has no column %q", name)
		return ""
	}
	num := func(r []string, name string) float64 {
		v, err := strconv.ParseFloat(col(r, name), 64)
		require.NoError(t, err, "column %s of %v", name, r)
		return v
	}
	seen := map[string]int{}
	for _, r := range rows[1:] {
		if col(r, "round") == "0" {
			continue
		}
		seen[col(r, "kind")+"/"+col(r, "mode")]++
		switch col(r, "kind") {
		case "start":
			require.Positive(t, num(r, "healthy_s"), "row %v", r)
			require.GreaterOrEqual(t, num(r, "healthy_s"), num(r, "serving_s"), "row %v", r)
			require.Positive(t, num(r, "rss_kib"), "row %v", r)
			require.Equal(t, "false", col(r, "stop_killed"), "row %v", r)
			require.Equal(t, "0", col(r, "exit_code"), "row %v", r)
			require.Equal(t, "false", col(r, "stray_postmaster"), "row %v", r)
			if col(r, "mode") != modeExternal {
				// A private cluster is a postmaster and its background workers.
				require.GreaterOrEqual(t, num(r, "pg_procs"), 3.0, "row %v", r)
			}
		case "requests":
			require.Positive(t, num(r, "requests"), "row %v", r)
			require.Equal(t, "0", col(r, "errors"), "row %v", r)
			require.Positive(t, num(r, "body_bytes"), "row %v", r)
		}
	}
	for _, m := range allModes {
		require.Equal(t, 1, seen["start/"+m], "measured starts of %s", m)
	}
	for _, v := range allVariants {
		require.Equal(t, 1, seen["requests/"+v], "request rounds of %s", v)
	}
}

// processesMentioning lists the command lines that contain s.
func processesMentioning(t *testing.T, s string) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	require.NoError(t, err)
	var out []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		if cmd := strings.ReplaceAll(string(b), "\x00", " "); strings.Contains(cmd, s) {
			out = append(out, e.Name()+": "+cmd)
		}
	}
	return out
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
		{name: "quick keeps explicit flags", args: []string{"-quick", "-rounds", "3", "-modes", "warm"}, check: func(t *testing.T, c config) {
			require.Equal(t, 3, c.Rounds)
			require.Equal(t, []string{modeWarm}, c.Modes)
			require.Equal(t, quickConfig().Duration, c.Duration)
		}},
		{name: "no load needs no database", args: []string{"-modes", "cold,warm", "-load-rounds", "0"}, check: func(t *testing.T, c config) {
			require.False(t, c.needsDatabase())
		}},
		{name: "external needs the database", args: []string{"-modes", "external", "-load-rounds", "0"}, check: func(t *testing.T, c config) {
			require.True(t, c.needsDatabase())
		}},
		{name: "variants subset", args: []string{"-variants", "api-token, api"}, check: func(t *testing.T, c config) {
			require.Equal(t, []string{varToken, varAPI}, c.Variants)
		}},
		{name: "unknown mode", args: []string{"-modes", "cold,lukewarm"}, wantErr: `unknown mode "lukewarm"`},
		{name: "unknown variant", args: []string{"-variants", "api,oidc"}, wantErr: `unknown variant "oidc"`},
		{name: "no variants", args: []string{"-variants", ","}, wantErr: "-variants names none"},
		{name: "variants unchecked without load", args: []string{"-variants", "", "-load-rounds", "0"}, check: func(t *testing.T, c config) {
			require.Empty(t, c.Variants)
		}},
		{name: "no rounds", args: []string{"-rounds", "0"}, wantErr: "-rounds must be at least 1"},
		{name: "no clients", args: []string{"-concurrency", "0"}, wantErr: "-concurrency"},
		{name: "stray argument", args: []string{"extra"}, wantErr: "unexpected arguments"},
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

func TestAuthCostPairsRounds(t *testing.T) {
	plain := []loadResult{
		{Round: 1, Variant: varAPI, Rate: 1000, Requests: 1000, P50: time.Millisecond, P99: 4 * time.Millisecond,
			ServerCPU: 80 * time.Millisecond, DBCPU: 30 * time.Millisecond},
		{Round: 2, Variant: varAPI, Rate: 2000, Requests: 2000, P50: time.Millisecond, P99: 4 * time.Millisecond,
			ServerCPU: 160 * time.Millisecond, DBCPU: 60 * time.Millisecond},
	}
	token := []loadResult{
		{Round: 1, Variant: varToken, Rate: 800, Requests: 800, P50: 1500 * time.Microsecond, P99: 5 * time.Millisecond,
			ServerCPU: 80 * time.Millisecond, DBCPU: 40 * time.Millisecond},
		// Round 3 has no plain round to pair with.
		{Round: 3, Variant: varToken, Rate: 10, Requests: 10},
	}
	d, ok := authCost(plain, token)
	require.True(t, ok)
	require.Equal(t, 1, d.pairs)
	require.InDelta(t, -0.2, d.rate[0], 1e-9)
	require.InDelta(t, 0.5, d.p50[0], 1e-9)
	require.InDelta(t, 1.0, d.p99[0], 1e-9)
	require.InDelta(t, 20, d.server[0], 1e-9) // 100 − 80 µs/req
	require.InDelta(t, 20, d.db[0], 1e-9)     // 50 − 30 µs/req
	require.InDelta(t, 40, d.total[0], 1e-9)

	_, ok = authCost(nil, token)
	require.False(t, ok, "no plain rounds, nothing to compare")
}

func TestRotate(t *testing.T) {
	require.Equal(t, []string{"b", "c", "a"}, rotate([]string{"a", "b", "c"}, 1))
	require.Equal(t, []string{"a", "b", "c"}, rotate([]string{"a", "b", "c"}, 3))
}

func TestServerEnvDropsSettings(t *testing.T) {
	t.Setenv("DATABASE_URL", "postgres://elsewhere/db")
	t.Setenv("FACTFLOW_PORT", "9999")
	t.Setenv("FACTFLOW_PG_BIN", "/opt/pg/bin")
	t.Setenv("DOCKER_HOST", "unix:///var/run/docker.sock")
	env := strings.Join(serverEnv(false, "/nowhere.sock", "DATABASE_URL=postgres://run/db"), "\n")
	require.NotContains(t, env, "elsewhere")
	require.NotContains(t, env, "FACTFLOW_PORT")
	require.Contains(t, env, "FACTFLOW_PG_BIN=/opt/pg/bin")
	require.Contains(t, env, "DOCKER_HOST=unix:///nowhere.sock")
	require.NotContains(t, env, "/var/run/docker.sock")
	require.Contains(t, env, "DATABASE_URL=postgres://run/db")

	env = strings.Join(serverEnv(true, "/nowhere.sock"), "\n")
	require.Contains(t, env, "DOCKER_HOST=unix:///var/run/docker.sock")
}

func TestPrivateDBLine(t *testing.T) {
	m := privateDB.FindStringSubmatch("  database: private PostgreSQL 15 in /tmp/a b/postgres (port 5433, stopped on exit)")
	require.Equal(t, []string{"15", "/tmp/a b/postgres"}, m[1:])
	require.Nil(t, privateDB.FindStringSubmatch("  database: postgres://u@h/db"))
}

func TestProcReaders(t *testing.T) {
	m, err := processMemory(os.Getpid())
	require.NoError(t, err)
	require.Positive(t, m.RSS)
	require.GreaterOrEqual(t, m.HWM, m.RSS)

	cmd := exec.Command("sleep", "30")
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	require.Contains(t, descendants(os.Getpid()), cmd.Process.Pid)
	ppid, _, err := procStat(cmd.Process.Pid)
	require.NoError(t, err)
	require.Equal(t, os.Getpid(), ppid)
	require.Zero(t, postmasterPID(t.TempDir()), "no postmaster.pid, no postmaster")
}
