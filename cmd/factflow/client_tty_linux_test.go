//go:build linux

package main

import (
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/server/api"
)

// TestClientWaitOnTerminal runs `factflow execution wait` as a process
// whose stdout is a terminal: the live per-route table is drawn from the
// progress events while the execution runs, and the command exits 0 when it
// completes.
func TestClientWaitOnTerminal(t *testing.T) {
	t.Parallel()
	bin := factflowBinary(t)
	e := newCLIEnv(t)
	res := e.cli("config", "create", "-f", writeFile(t, "held.yaml", pausedYAML), "--name", "held")
	require.Equal(t, exitOK, res.code, res)
	res = e.cli("pipeline", "pause", "later")
	require.Equal(t, exitOK, res.code, res)
	ex := decoded[api.Execution](t, e.cli("config", "run", "held", "--payload", sixURLs, "--tag", "on-tty", "--output", "json"))

	master, slave := openPTY(t)
	var stderr syncBuffer
	cmd := exec.Command(bin, "execution", "wait", "on-tty")
	cmd.Env = append(childEnv(), "FACTFLOW_URL="+e.url)
	cmd.Stdout, cmd.Stderr = slave, &stderr
	cmd.WaitDelay = 10 * time.Second
	require.NoError(t, cmd.Start())
	_ = slave.Close()
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	var tty syncBuffer
	go func() { _, _ = io.Copy(&tty, master) }()

	// The seed route is done and the held route has its six messages
	// waiting: the table shows it before anything else happens.
	waitFor(t, 30*time.Second, "the live table", func() bool {
		return strings.Contains(tty.String(), "ROUTE") && strings.Contains(tty.String(), "seed")
	})
	select {
	case err := <-waited:
		t.Fatalf("wait ended while the execution was held: %v\n%s\n%s", err, tty.String(), stderr.String())
	default:
	}
	res = e.cli("pipeline", "resume", "later")
	require.Equal(t, exitOK, res.code, res)

	select {
	case err := <-waited:
		require.NoError(t, err, "exit 0 on completed\n--- terminal\n%s\n--- stderr\n%s", tty.String(), stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("wait did not end\n%s", tty.String())
	}
	out := tty.String()
	require.Contains(t, out, "\x1b[", "the table is redrawn in place on a terminal")
	require.Contains(t, out, "later")
	require.Contains(t, out, ex.ID)
	require.Contains(t, out, "completed")
}
