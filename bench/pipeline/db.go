package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/factflow/factflow/bench/internal/scratchdb"
)

func newRunID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// dbCPU samples the CPU time of the PostgreSQL backends serving the
// benchmark's database, read from /proc: the lineage writer's COPYs and
// the executions' bookkeeping cost server CPU that the process's own
// figure does not show. It needs the server on this machine; elsewhere it
// reports nothing.
type dbCPU struct {
	conn *pgx.Conn
	name string
}

func openDBCPU(ctx context.Context, admin, dbURL string) (*dbCPU, error) {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return nil, fmt.Errorf("connecting to the server given by %s: %w", scratchdb.EnvAdminURL, err)
	}
	u, _ := url.Parse(dbURL)
	return &dbCPU{conn: conn, name: strings.TrimPrefix(u.Path, "/")}, nil
}

func (d *dbCPU) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = d.conn.Close(ctx)
}

// clockTicks is USER_HZ, 100 on every Linux architecture Go supports.
const clockTicks = 100

// sample returns the CPU ticks used so far by each backend of the database.
func (d *dbCPU) sample(ctx context.Context) map[int]uint64 {
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
	out := make(map[int]uint64, len(pids))
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// The command name may hold spaces; fields count from after it.
		_, rest, ok := strings.Cut(string(b), ") ")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 13 {
			continue
		}
		utime, _ := strconv.ParseUint(f[11], 10, 64)
		stime, _ := strconv.ParseUint(f[12], 10, 64)
		out[int(pid)] = utime + stime
	}
	return out
}

// dbCPUBetween is the CPU the backends used between two samples (a backend
// that ended in between is not counted).
func dbCPUBetween(a, b map[int]uint64) time.Duration {
	var ticks uint64
	for pid, t := range b {
		if t >= a[pid] {
			ticks += t - a[pid]
		}
	}
	return time.Duration(ticks) * time.Second / clockTicks
}
