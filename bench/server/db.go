package main

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/factflow/factflow/bench/internal/scratchdb"
)

// dbWatch finds the PostgreSQL backends serving the run's database, for
// their CPU and memory from /proc. It needs the server on this machine and
// the privilege to read its processes; elsewhere it reports nothing.
type dbWatch struct {
	conn    *pgx.Conn
	name    string
	version string
}

func openDBWatch(ctx context.Context, admin, dbURL string) (*dbWatch, error) {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return nil, fmt.Errorf("connecting to the server given by %s: %w", scratchdb.EnvAdminURL, err)
	}
	u, _ := url.Parse(dbURL)
	w := &dbWatch{conn: conn, name: strings.TrimPrefix(u.Path, "/")}
	_ = conn.QueryRow(ctx, "SHOW server_version").Scan(&w.version)
	return w, nil
}

func (d *dbWatch) close() {
	if d == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = d.conn.Close(ctx)
}

// backends lists the pids of the sessions connected to the run's database.
func (d *dbWatch) backends(ctx context.Context) []int {
	if d == nil {
		return nil
	}
	rows, err := d.conn.Query(ctx, "SELECT pid FROM pg_stat_activity WHERE datname = $1", d.name)
	if err != nil {
		return nil
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return nil
	}
	out := make([]int, len(pids))
	for i, p := range pids {
		out[i] = int(p)
	}
	return out
}

// cpu samples the CPU used so far by each backend of the database.
func (d *dbWatch) cpu(ctx context.Context) map[int]time.Duration {
	out := map[int]time.Duration{}
	for _, pid := range d.backends(ctx) {
		if _, c, err := procStat(pid); err == nil {
			out[pid] = c
		}
	}
	return out
}

// cpuBetween is the CPU the backends used between two samples; a backend
// that began in between counts from zero, one that ended is not counted.
func cpuBetween(a, b map[int]time.Duration) time.Duration {
	var total time.Duration
	for pid, t := range b {
		if t >= a[pid] {
			total += t - a[pid]
		}
	}
	return total
}
