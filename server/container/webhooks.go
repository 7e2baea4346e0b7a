package container

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/factflow/factflow/orchestrator"
	"github.com/factflow/factflow/storage"
	"github.com/factflow/factflow/store"
	"github.com/factflow/factflow/webhooks"
)

// WebhookKeyFile is the file under the data dir holding the key that
// encrypts webhook secrets when Config.SecretKey is empty. Losing it makes the stored secrets unreadable
// (their subscriptions need a new secret); copying it with the database
// keeps them working elsewhere.
const WebhookKeyFile = "webhooks.key"

// startWebhooks opens the webhook service, runs its dispatcher and feeds it
// the engine's events. Registered before the orchestrator's stop, so it
// stops after it: the statuses of a shutdown still reach the outbox.
func (c *Container) startWebhooks(m *orchestrator.Manager) error {
	key, err := c.secretKey()
	if err != nil {
		return fmt.Errorf("webhook key: %w", err)
	}
	wh, err := webhooks.New(c.DB, webhooks.Options{Key: key, AllowPrivate: c.cfg.AllowPrivateTargets,
		AllowedHosts: c.cfg.AllowedHosts, Schedule: c.cfg.WebhookSchedule, PollInterval: c.cfg.WebhookPollInterval,
		Logger: c.log})
	if err != nil {
		return fmt.Errorf("webhooks: %w", err)
	}
	c.Webhooks = wh
	runCtx, cancel := context.WithCancel(context.Background())
	dispatched := make(chan struct{})
	go func() {
		defer close(dispatched)
		if err := wh.Run(runCtx); err != nil && !errors.Is(err, context.Canceled) {
			c.log.Error("webhook dispatcher stopped", "error", err)
		}
	}()
	fwd := forwardWebhooks(m.Bus(), wh, c.DB.Executions(), c.log)
	c.onStop("webhooks", func(ctx context.Context) error {
		// What the bus holds goes into the outbox first; deliveries in
		// flight are released to be sent again by the next start.
		ferr := fwd.stop(ctx)
		cancel()
		select {
		case <-dispatched:
		case <-ctx.Done():
			return errors.Join(ferr, ctx.Err())
		}
		wh.Close()
		return ferr
	})
	return nil
}

// secretKey is the configured key, else the data dir's key file (created
// when missing). A configured key creates no file: a key that lives in the
// environment is not meant to be copied to disk.
func (c *Container) secretKey() ([]byte, error) {
	path := filepath.Join(c.cfg.DataDir, WebhookKeyFile)
	if c.cfg.SecretKey == "" {
		return webhooks.LoadOrCreateKey(path)
	}
	key, err := webhooks.ParseKey(c.cfg.SecretKey)
	if err != nil {
		return nil, err
	}
	// A key file left from before the key was configured encrypted the
	// secrets stored then; the configured key cannot read them.
	fileKey, err := webhooks.ReadKey(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		c.log.Warn("the secret key is configured; the key file in the data dir is unusable and ignored",
			"file", path, "error", err)
	case !bytes.Equal(fileKey, key):
		c.log.Warn("the configured secret key differs from the key file in the data dir: "+
			"webhook secrets stored under the file's key cannot be decrypted",
			"file", path,
			"hint", "set FACTFLOW_SECRET_KEY (security.secret_key) to the file's content, or rotate the affected webhook secrets")
	}
	return key, nil
}

// webhookForwarder turns engine events into webhook events.
type webhookForwarder struct {
	wh     *webhooks.Service
	execs  *store.Executions
	log    *slog.Logger
	events <-chan store.ExecutionEvent
	cancel func()
	done   chan struct{}

	mu      sync.Mutex
	configs map[string]string // execution id -> config id
}

func forwardWebhooks(bus *orchestrator.Bus, wh *webhooks.Service, execs *store.Executions, log *slog.Logger) *webhookForwarder {
	events, cancel := bus.Subscribe(4096, false, func(ev store.ExecutionEvent) bool {
		return webhookType(ev) != ""
	})
	f := &webhookForwarder{wh: wh, execs: execs, log: log, events: events, cancel: cancel,
		done: make(chan struct{}), configs: map[string]string{}}
	go f.run()
	return f
}

// webhookType is the webhook event type of an engine event, "" for those
// webhooks do not carry (progress, breaker, route states).
func webhookType(ev store.ExecutionEvent) string {
	switch ev.Type {
	case store.EventStatus:
		if ev.Route != "" {
			return ""
		}
		switch ev.Status {
		case store.StatusRunning:
			return webhooks.EventExecutionStarted
		case store.StatusCompleted:
			return webhooks.EventExecutionCompleted
		case store.StatusFailed:
			return webhooks.EventExecutionFailed
		case store.StatusCancelled:
			return webhooks.EventExecutionCancelled
		}
	case store.EventDeadLetter:
		return webhooks.EventDeadLetterCreated
	case store.EventStepFailed:
		return webhooks.EventLineageFailed
	case storage.EventObjectCreated:
		return webhooks.EventStorageObjectCreated
	}
	return ""
}

func (f *webhookForwarder) run() {
	defer close(f.done)
	for ev := range f.events {
		typ := webhookType(ev)
		wev := webhooks.Event{ID: ev.ID, Type: typ, Time: ev.CreatedAt, ExecutionID: ev.ExecutionID,
			RouteID: ev.Route, ConfigID: f.configOf(ev.ExecutionID), Data: webhookData(ev)}
		if a, ok := ev.Data["adapter"].(string); ok {
			wev.AdapterName = a
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := f.wh.Publish(ctx, wev)
		cancel()
		if err != nil {
			// The outbox is in the database: an event that cannot be
			// written is lost to webhooks (the timeline keeps it).
			f.log.Warn("webhook event not recorded", "execution_id", ev.ExecutionID, "event", typ, "error", err)
		}
	}
}

func webhookData(ev store.ExecutionEvent) map[string]any {
	d := make(map[string]any, len(ev.Data)+2)
	for k, v := range ev.Data {
		d[k] = v
	}
	if ev.Status != "" {
		d["status"] = ev.Status
	}
	if ev.Reason != "" {
		d["reason"] = ev.Reason
	}
	return d
}

// configOf is the config of an execution (cached: it never changes), for
// the config_id filter of subscriptions.
func (f *webhookForwarder) configOf(executionID string) string {
	if executionID == "" {
		return ""
	}
	f.mu.Lock()
	id, ok := f.configs[executionID]
	f.mu.Unlock()
	if ok {
		return id
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rec, err := f.execs.Get(ctx, executionID)
	if err != nil {
		return ""
	}
	f.mu.Lock()
	if len(f.configs) > 10000 {
		clear(f.configs)
	}
	f.configs[executionID] = rec.ConfigID
	f.mu.Unlock()
	return rec.ConfigID
}

func (f *webhookForwarder) stop(ctx context.Context) error {
	f.cancel()
	select {
	case <-f.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("forwarding webhook events: %w", ctx.Err())
	}
}
