package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/spf13/cobra"

	"github.com/factflow/factflow/server/api"
	"github.com/factflow/factflow/store"
)

func newStorageWatchCmd() *cobra.Command {
	var (
		executions              []string
		route, stage, ext, path string
		keepOpen                bool
	)
	c := &cobra.Command{
		Use:   "watch",
		Short: "Print objects as they are written",
		Long: `Print every object written, as it is written, one line each (JSON lines
with --output json). With --execution the objects those executions wrote so
far come first, and the command ends once they all ended (unless
--keep-open); without it, it runs until interrupted or --timeout. A dropped
connection is resumed without repeating or losing an object.`,
		Example: `  factflow storage watch --execution nightly --extension .md
  factflow storage watch --route convert`,
		Args: cobra.NoArgs,
		RunE: withClient(func(cmd *cobra.Command, cl *client, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), waitTimeout(cmd))
			defer cancel()
			q := url.Values{}
			for _, e := range executions {
				q.Add("execution_id", e)
			}
			for k, v := range map[string]string{"route": route, "stage": stage, "extension": ext, "path": path} {
				if v != "" {
					q.Set(k, v)
				}
			}
			if keepOpen {
				q.Set("keep_open", "true")
			}
			w := &storageWatcher{cl: cl, q: q, out: cmd.OutOrStdout(), executions: executions, seen: map[string]bool{}}
			err := w.run(ctx)
			switch {
			case err == nil:
				return nil
			case cmd.Context().Err() != nil:
				return withExit(exitInterrupted, errors.New("interrupted"))
			case errors.Is(ctx.Err(), context.DeadlineExceeded):
				return withExit(exitTimeout, fmt.Errorf("--timeout %s reached", waitTimeout(cmd)))
			}
			return exitFor(cmd.Context(), err)
		}),
	}
	c.Flags().StringArrayVar(&executions, "execution", nil, "only objects of this execution (id or tag; repeatable)")
	c.Flags().StringVar(&route, "route", "", "only objects written by this route")
	c.Flags().StringVar(&stage, "stage", "", "only objects written by this stage")
	c.Flags().StringVar(&ext, "extension", "", "comma-separated key suffixes, e.g. .md,.json")
	c.Flags().StringVar(&path, "path", "", "only keys starting with this prefix")
	c.Flags().BoolVar(&keepOpen, "keep-open", false, "keep watching after the executions ended")
	return c
}

// storageWatcher follows GET /storage/events across dropped connections.
type storageWatcher struct {
	cl         *client
	q          url.Values
	out        io.Writer
	executions []string
	lastID     string
	seen       map[string]bool
}

func (w *storageWatcher) run(ctx context.Context) error {
	delay := reconnectMin
	var downSince time.Time
	for {
		got, err := w.stream(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		switch {
		case err == nil:
		case transient(err):
			if downSince.IsZero() {
				downSince = time.Now()
			} else if time.Since(downSince) > unreachableFor {
				return err
			}
		default:
			return err
		}
		if err == nil {
			downSince = time.Time{}
		}
		if got > 0 {
			delay = reconnectMin
		}
		// The server ends the stream once every watched execution ended;
		// a drop looks the same, so the executions tell. A reconnect that
		// brings nothing new after they ended is the end.
		if err == nil && len(w.executions) > 0 && w.q.Get("keep_open") == "" && got == 0 {
			ended, err := w.allEnded(ctx)
			if err != nil && !transient(err) {
				return err
			}
			if ended {
				return nil
			}
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		delay = min(delay*2, reconnectMax)
	}
}

func (w *storageWatcher) allEnded(ctx context.Context) (bool, error) {
	for _, id := range w.executions {
		var ex api.Execution
		if err := w.cl.get(ctx, "/executions/"+seg(id), nil, &ex); err != nil {
			return false, err
		}
		if !ex.Status.Terminal() {
			return false, nil
		}
	}
	return true, nil
}

// stream reads one connection and says how many new objects it printed.
func (w *storageWatcher) stream(ctx context.Context) (int, error) {
	h := http.Header{"Accept": {"text/event-stream"}}
	if w.lastID != "" {
		h.Set("Last-Event-ID", w.lastID)
	}
	resp, err := w.cl.send(ctx, http.MethodGet, "/storage/events", w.q, nil, h)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	p := newSSEParser(resp.Body)
	got := 0
	for {
		sev, err := p.next()
		if err != nil {
			return got, nil // ended or dropped: run decides
		}
		if sev.ID == "" || w.seen[sev.ID] {
			continue
		}
		w.seen[sev.ID], w.lastID = true, sev.ID
		var ev store.StorageEvent
		if err := json.Unmarshal([]byte(sev.Data), &ev); err != nil {
			return got, fmt.Errorf("storage event %s is not JSON: %w", sev.ID, err)
		}
		got++
		if err := w.print(ev); err != nil {
			return got, err
		}
	}
}

func (w *storageWatcher) print(ev store.StorageEvent) error {
	if w.cl.output == "json" {
		b, err := jsonLine(ev)
		if err != nil {
			return err
		}
		_, err = w.out.Write(b)
		return err
	}
	_, err := fmt.Fprintf(w.out, "%s  %-9s  %s/%s  %s\n", ev.CreatedAt.Local().Format("15:04:05.000"),
		humanBytes(ev.Size), orDash(ev.Route), orDash(ev.Stage), ev.Key)
	return err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
