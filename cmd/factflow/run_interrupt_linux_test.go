//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/factflow/factflow/queue"
	natsq "github.com/factflow/factflow/queue/nats"
	"github.com/factflow/factflow/store/storetest"
)

// openPTY returns a pseudo-terminal pair: the binary writes to the slave,
// believing it is a terminal, and the test reads the master.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	require.NoError(t, err)
	require.NoError(t, unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0), "unlocking the pty")
	n, err := unix.IoctlGetUint32(int(m.Fd()), unix.TIOCGPTN)
	require.NoError(t, err)
	s, err := os.OpenFile("/dev/pts/"+strconv.FormatUint(uint64(n), 10), os.O_RDWR|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	require.NoError(t, err)
	// Wide enough that the progress table never wraps.
	require.NoError(t, unix.IoctlSetWinsize(int(s.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 50, Col: 200}))
	t.Cleanup(func() { _ = m.Close(); _ = s.Close() })
	return m, s
}

// TestRunCtrlC interrupts a real `factflow run` process mid-execution with
// SIGINT, as Ctrl-C does: in-flight messages finish, the process exits 5,
// the execution is left interrupted (not failed, nothing dead-lettered) and
// every message not yet processed is still on the broker under the data
// dir. The run writes to a terminal, so the live progress table is checked
// on the way.
func TestRunCtrlC(t *testing.T) {
	t.Parallel()
	bin := factflowBinary(t)
	// Enough pages that the per-host rate limit keeps the crawl going for
	// several seconds; each page answers after a short delay so that
	// fetches are in flight when the signal comes.
	site := newDocsSite(t, docsSiteOptions{guides: 20, references: 20, delay: 150 * time.Millisecond})
	dbURL := storetest.URL(t)
	dataDir := t.TempDir()

	master, slave := openPTY(t)
	var stderr syncBuffer
	cmd := exec.Command(bin, "run", docsIngestYAML,
		"--payload", fmt.Sprintf(`{"sitemap_url": %q}`, site.URL+"/sitemap.xml"),
		"--data-dir", dataDir)
	cmd.Env = childEnv("DATABASE_URL=" + dbURL)
	cmd.Stdout, cmd.Stderr = slave, &stderr
	cmd.WaitDelay = 10 * time.Second
	require.NoError(t, cmd.Start())
	_ = slave.Close() // the child holds it now; EOF on the master follows its exit
	var waitErr error
	waited := make(chan struct{})
	go func() { waitErr = cmd.Wait(); close(waited) }()
	t.Cleanup(func() {
		select {
		case <-waited:
		default: // the test failed while the process still runs
			_ = cmd.Process.Kill()
			<-waited
		}
	})

	var tty syncBuffer
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		_, _ = io.Copy(&tty, master) // ends with EIO once the child is gone
	}()

	exitedEarly := func() {
		select {
		case <-waited:
			t.Fatalf("the process ended before the test interrupted it: %v\n--- terminal\n%s\n--- stderr\n%s",
				waitErr, tty.String(), stderr.String())
		default:
		}
	}
	var id string
	waitFor(t, 60*time.Second, "the execution to start", func() bool {
		exitedEarly()
		if m := executionIDRe.FindStringSubmatch(tty.String()); m != nil {
			id = m[1]
			return true
		}
		return false
	})
	segmentsDir := filepath.Join(dataDir, "storage", "executions", id, "segments", "segments")
	waitFor(t, 60*time.Second, "a first segment and a live progress table", func() bool {
		exitedEarly()
		entries, _ := os.ReadDir(segmentsDir)
		return len(entries) > 0 && strings.Contains(tty.String(), "IN FLIGHT")
	})

	require.NoError(t, cmd.Process.Signal(os.Interrupt))
	select {
	case <-waited:
		var exitErr *exec.ExitError
		require.ErrorAs(t, waitErr, &exitErr, "stderr:\n%s", stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("the process did not stop within 60s of SIGINT\nstderr:\n%s", stderr.String())
	}
	select {
	case <-readDone:
	case <-time.After(10 * time.Second):
		t.Fatal("the terminal did not close after the process ended")
	}
	out := tty.String()
	res := runResult{code: cmd.ProcessState.ExitCode(), stdout: out, stderr: stderr.String()}
	require.Equal(t, exitInterrupted, res.code, res)
	require.Contains(t, res.stderr, "\ninterrupted: stopping", res)
	require.NotContains(t, res.stderr, "panic", res)
	require.NotContains(t, res.stderr, "WARNING: DATA RACE", res)

	// Live progress on a terminal: the table was drawn, redrawn in place
	// (cursor up, clear to end of line) and closed by the summary.
	require.Contains(t, out, "\x1b[K\r\n", "live table lines clear what they overwrite")
	require.Regexp(t, regexp.MustCompile(`\x1b\[6A`), out, "the table is redrawn over itself (header + 5 routes)")
	require.Equal(t, "interrupted", totals(t, out).status, out)
	rows := summaryRows(t, out)
	require.Len(t, rows, 5, out)

	conn := pgConn(t, dbURL)
	ex := loadExecution(t, conn, id)
	require.Equal(t, "interrupted", ex.status)
	require.False(t, ex.completed, "interrupted is not terminal")
	require.Equal(t, []string{"pending", "running", "interrupted"}, statusTimeline(t, conn, id))
	require.Empty(t, deadLetters(t, conn, id), "an interruption dead-letters nothing")
	counts := lineageCounts(t, conn, id)
	for k := range counts {
		require.True(t, strings.HasSuffix(k, "/completed"), "in-flight work finished instead of failing: %v", counts)
	}

	// What was done, per lineage (the writer was flushed before exit).
	fetched := distinctCompleted(t, conn, id, "fetch", "web_content_storage")
	converted := distinctCompleted(t, conn, id, "convert", "segment_publisher")
	stored := distinctCompleted(t, conn, id, "segments", "markdown_storage_writer")
	embedded := distinctCompleted(t, conn, id, "embed", "embedding_generator")
	var published int
	require.NoError(t, conn.QueryRow(context.Background(), `
		SELECT coalesce(sum((metadata->>'emitted')::int), 0) FROM lineage
		WHERE execution_id = $1 AND route_id = 'convert' AND adapter_name = 'segment_publisher'
		  AND stage_status = 'completed'`, id).Scan(&published))
	require.Equal(t, rows["fetch"].Done, fetched, out)
	require.Equal(t, rows["convert"].Done, converted, out)
	require.Equal(t, rows["segments"].Done, stored, out)
	require.Equal(t, stored, len(artefacts(t, dataDir, id, "segments", "segments")))
	require.Equal(t, rows["embed"].Done, embedded, out)

	// What was not done is still queued in the broker's store under the
	// data dir, and nothing is missing: per queue, what was published
	// equals what was processed plus what waits.
	depth := brokerDepths(t, dataDir, id, "docs.discover", "docs.fetch", "docs.convert", "docs.segments", "docs.embed")
	listed := site.listed()
	require.Positive(t, depth["docs.fetch"], "the crawl was interrupted mid-way (fetched %d of %d)", fetched, listed)
	require.Zero(t, depth["docs.discover"], "the init message was processed")
	require.Equal(t, listed, fetched+depth["docs.fetch"], "fetch: published = done + queued")
	require.Equal(t, fetched, converted+depth["docs.convert"], "convert: published = done + queued")
	require.Equal(t, published, stored+depth["docs.segments"], "segments: published = done + queued")
	require.Equal(t, stored, embedded+depth["docs.embed"], "embed: published = done + queued")
	for _, p := range site.pagePaths() {
		require.LessOrEqual(t, site.hit(p), 1, "%s was fetched more than once", p)
	}
}

// distinctCompleted counts messages of a route whose given adapter
// completed.
func distinctCompleted(t *testing.T, conn *pgx.Conn, id, route, adapter string) int {
	t.Helper()
	var n int
	require.NoError(t, conn.QueryRow(context.Background(), `
		SELECT count(DISTINCT correlation_id) FROM lineage
		WHERE execution_id = $1 AND route_id = $2 AND adapter_name = $3 AND stage_status = 'completed'`,
		id, route, adapter).Scan(&n))
	return n
}

// brokerDepths opens the embedded NATS store the run left under dataDir
// and reads how many messages wait (queued or unacknowledged) per queue.
func brokerDepths(t *testing.T, dataDir, executionID string, queues ...string) map[string]int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv, err := natsq.StartServer(ctx, natsq.ServerOptions{StoreDir: filepath.Join(dataDir, "nats")})
	require.NoError(t, err)
	defer func() { require.NoError(t, srv.Shutdown(context.Background())) }()
	p, err := natsq.New(ctx, natsq.Config{Server: srv})
	require.NoError(t, err)
	defer func() { require.NoError(t, p.Close(context.Background())) }()
	out := map[string]int{}
	for _, q := range queues {
		d, err := p.Depth(ctx, queue.Destination{Execution: executionID, Queue: q})
		if errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("reading depth of %s: %v", q, err)
		}
		require.NoError(t, err, q)
		out[q] = int(d.Pending + d.InFlight)
	}
	return out
}
