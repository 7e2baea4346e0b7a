package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/factflow/factflow/adapters/builtin"
	"github.com/factflow/factflow/orchestrator"
	"github.com/factflow/factflow/pipeline"
	"github.com/factflow/factflow/server/container"
	"github.com/factflow/factflow/store"
)

type runOptions struct {
	payload     string
	dataDir     string
	databaseURL string
	queueURL    string
	storageURI  string
	tag         string
	noLineage   bool
	logLevel    string
	allowHosts  []string
}

func newRunCmd() *cobra.Command {
	o := runOptions{}
	c := &cobra.Command{
		Use:   "run FILE",
		Short: "Run one execution of a pipeline in-process on the embedded runtime",
		Long: `Run one execution of a pipeline YAML in this process: an in-process NATS
JetStream broker, filesystem storage and PostgreSQL (DATABASE_URL, or a private
cluster under the data dir). Shows live per-route progress on a terminal and a
summary at the end.

Exit codes: 0 completed, 1 failed or cancelled, 2 invalid pipeline or usage,
5 interrupted (Ctrl-C: in-flight messages finish, the others stay on the broker
and the execution is marked interrupted).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPipeline(cmd.Context(), args[0], o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := c.Flags()
	f.StringVar(&o.payload, "payload", "", "JSON object merged over init_message.payload")
	f.StringVar(&o.dataDir, "data-dir", envOr("FACTFLOW_DATA_DIR", "./output"), "data directory (storage, broker files, private PostgreSQL) [FACTFLOW_DATA_DIR]")
	f.StringVar(&o.databaseURL, "database-url", os.Getenv("DATABASE_URL"), "PostgreSQL URL; empty provisions a private cluster [DATABASE_URL]")
	f.StringVar(&o.queueURL, "queue", os.Getenv("FACTFLOW_QUEUE_URL"), "broker URL (nats://…); empty starts an in-process NATS [FACTFLOW_QUEUE_URL]")
	f.StringVar(&o.storageURI, "storage", os.Getenv("FACTFLOW_STORAGE_URI"), "storage URI (file://…); default <data-dir>/storage [FACTFLOW_STORAGE_URI]")
	f.StringVar(&o.tag, "tag", "", "unique tag to find the execution by")
	f.BoolVar(&o.noLineage, "no-lineage", false, "do not record lineage (benchmarks)")
	f.StringVar(&o.logLevel, "log-level", envOr("FACTFLOW_LOG_LEVEL", "warn"), "log level: debug, info, warn, error [FACTFLOW_LOG_LEVEL]")
	f.StringSliceVar(&o.allowHosts, "allow-host", nil, "host, host:port or CIDR the crawler may reach even if private")
	return c
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, withExit(exitUsage, fmt.Errorf("--log-level %q: use debug, info, warn or error", level))
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}

func runPipeline(ctx context.Context, file string, o runOptions, stdout, stderr io.Writer) error {
	log, err := newLogger(stderr, o.logLevel)
	if err != nil {
		return err
	}
	var payload map[string]any
	if o.payload != "" {
		if err := json.Unmarshal([]byte(o.payload), &payload); err != nil {
			return withExit(exitUsage, fmt.Errorf("--payload must be a JSON object: %w", err))
		}
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return withExit(exitUsage, fmt.Errorf("reading pipeline: %w", err))
	}
	registry := builtin.Registry()
	p, report := pipeline.Load(data, registry)
	for _, f := range report.Findings {
		fmt.Fprintf(stderr, "%s:%s\n", file, f)
	}
	if !report.Valid() {
		return withExit(exitUsage, fmt.Errorf("%s has %d validation errors; fix them and run again (see `factflow config validate`)", file, report.ErrorCount()))
	}

	// Ctrl-C during start-up (initdb, a slow broker) aborts it; once the
	// execution runs, Ctrl-C becomes a graceful interruption below.
	c, err := container.Start(ctx, container.Config{
		DataDir:             o.dataDir,
		DatabaseURL:         o.databaseURL,
		QueueURL:            o.queueURL,
		StorageURI:          o.storageURI,
		DisableLineage:      o.noLineage,
		AllowPrivateTargets: true, // a local run crawls what the operator points it at
		AllowedHosts:        o.allowHosts,
		Logger:              log,
		Registry:            registry,
	})
	if err != nil {
		if ctx.Err() != nil {
			return withExit(exitInterrupted, errors.New("interrupted during start-up; nothing was run"))
		}
		return withExit(exitFailed, err)
	}
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		return c.Stop(sctx)
	}
	defer func() { _ = stop() }()

	abs, _ := filepath.Abs(file)
	name := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	// From here on the execution's record must be written even if Ctrl-C
	// arrives: the loop below turns it into an interruption.
	bg := context.WithoutCancel(ctx)
	cfg, _, err := c.DB.Configs().UpsertBySourcePath(bg, name, string(data), p.Description, "file", abs)
	if err != nil {
		return withExit(exitFailed, fmt.Errorf("recording config: %w", err))
	}

	events, unsubscribe := c.Manager.Bus().Subscribe(64, false, nil)
	defer unsubscribe()
	ex, err := c.Manager.Start(bg, orchestrator.StartRequest{
		Pipeline:   p,
		ConfigID:   cfg.ID,
		ConfigName: cfg.Name,
		YAML:       string(data),
		Payload:    payload,
		Tag:        o.tag,
	})
	if err != nil {
		return withExit(exitFailed, fmt.Errorf("starting execution: %w", err))
	}
	isTTY := false
	if f, ok := stdout.(*os.File); ok {
		isTTY = term.IsTerminal(int(f.Fd()))
	}
	fmt.Fprintf(stdout, "execution %s of %s started (data dir %s)\n", ex.ID, cfg.Name, c.DataDir())
	view := &progressView{w: stdout, tty: isTTY}

	interrupted := false
loop:
	for {
		select {
		case ev := <-events:
			if ev.ExecutionID == ex.ID && ev.Type == store.EventProgress {
				view.update(ex.Stats())
			}
		case <-ex.Done():
			break loop
		case <-ctx.Done():
			interrupted = true
			fmt.Fprintln(stderr, "\ninterrupted: stopping; in-flight messages finish first, the others stay on the broker under the data dir")
			sctx, cancel := context.WithTimeout(bg, 30*time.Second)
			if err := c.Manager.Shutdown(sctx); err != nil {
				log.Warn("interrupting the execution", "error", err)
			}
			cancel()
			<-ex.Done()
			break loop
		}
	}
	st := ex.Stats()
	reason := ""
	if err := ex.Err(); err != nil && !interrupted {
		reason = err.Error()
	}
	view.summary(st, string(ex.Status()), st.Elapsed, reason)
	if st.Artefacts > 0 {
		fmt.Fprintf(stdout, "artefacts: %s\n", c.Storage.URI()+"/executions/"+ex.ID)
	}

	// The record is the truth others see; a status that could not be
	// written must not be reported as success.
	rec, recErr := c.DB.Executions().Get(bg, ex.ID)
	if err := stop(); err != nil {
		log.Warn("shutdown", "error", err)
	}
	if recErr != nil {
		return withExit(exitFailed, fmt.Errorf("reading back execution %s: %w", ex.ID, recErr))
	}
	if rec.Status != ex.Status() {
		return withExit(exitFailed, fmt.Errorf("execution %s ended %s but its record says %s; see the log", ex.ID, ex.Status(), rec.Status))
	}
	switch ex.Status() {
	case store.StatusCompleted:
		return nil
	case store.StatusInterrupted:
		return withExit(exitInterrupted, nil)
	default:
		var ee *orchestrator.ExecutionError
		if errors.As(ex.Err(), &ee) {
			return withExit(exitFailed, ee)
		}
		return withExit(exitFailed, fmt.Errorf("execution %s", ex.Status()))
	}
}
