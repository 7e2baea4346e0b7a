package orchestrator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/factflow/factflow/adapters"
	"github.com/factflow/factflow/pipeline"
	"github.com/factflow/factflow/queue"
	"github.com/factflow/factflow/storage"
	"github.com/factflow/factflow/store"
)

// Options configure a Manager. Queue, Storage, Registry, Executions and
// DeadLetters are required.
type Options struct {
	Registry    *adapters.Registry
	Queue       queue.Provider
	Storage     storage.Store
	Executions  ExecutionRecorder
	DeadLetters DeadLetterRecorder
	// Events persists the timeline (nil: events go only to the bus).
	Events EventRecorder
	// Lineage receives one row per message per adapter (nil: lineage off).
	Lineage LineageSink
	// RouteStates persists pause/resume (nil: not persisted).
	RouteStates RouteStateStore
	// StorageEvents keeps the feed of objects written (nil: bus only).
	StorageEvents StorageEventRecorder
	// HTTP is handed to adapters; it should enforce the SSRF policy.
	HTTP                *http.Client
	AllowPrivateTargets bool
	AllowedHosts        []string
	UserAgent           string
	DataDir             string
	// LLM and Segments are handed to adapters (embedding_generator,
	// llm_transform, …); nil leaves those adapters unbuildable.
	LLM      adapters.LLMProfiles
	Segments adapters.SegmentStore
	Logger   *slog.Logger
	// MaxConcurrentExecutions caps running executions (default 10).
	MaxConcurrentExecutions int
	// DrainTimeout is how long in-flight messages may run on cancel or
	// shutdown before their contexts are cancelled (default 20s: 3/4 of
	// the 30s shutdown budget).
	DrainTimeout time.Duration
	// Bus carries events to subscribers (default: a new bus).
	Bus *Bus
	// InstanceID marks the executions this process owns (see
	// store.Instance).
	InstanceID string
	// QueueRef names where this process's queue provider keeps messages
	// (scheme and address, or the embedded broker's store); it is recorded
	// with each execution, and only executions with the same reference are
	// resumed after a restart.
	QueueRef string
}

// Manager is the process's OrchestratorManager: it starts, tracks, pauses,
// cancels and interrupts executions.
type Manager struct {
	opts    Options
	bus     *Bus
	storage storage.Store

	mu       sync.Mutex
	running  map[string]*Execution
	paused   map[string]bool
	stopping bool
}

// New returns a Manager.
func New(opts Options) (*Manager, error) {
	switch {
	case opts.Registry == nil:
		return nil, errors.New("orchestrator: a registry is required")
	case opts.Queue == nil:
		return nil, errors.New("orchestrator: a queue provider is required")
	case opts.Storage == nil:
		return nil, errors.New("orchestrator: a storage is required")
	case opts.Executions == nil:
		return nil, errors.New("orchestrator: an execution recorder is required")
	case opts.DeadLetters == nil:
		return nil, errors.New("orchestrator: a dead-letter recorder is required")
	}
	if opts.MaxConcurrentExecutions <= 0 {
		opts.MaxConcurrentExecutions = 10
	}
	if opts.DrainTimeout <= 0 {
		opts.DrainTimeout = 20 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Bus == nil {
		opts.Bus = NewBus()
	}
	m := &Manager{
		opts:    opts,
		bus:     opts.Bus,
		running: make(map[string]*Execution),
		paused:  make(map[string]bool),
	}
	m.storage = storage.Observe(opts.Storage, m.onStorageEvent)
	return m, nil
}

// Bus returns the event bus.
func (m *Manager) Bus() *Bus { return m.bus }

// Storage returns the store adapters write to (it emits storage events).
func (m *Manager) Storage() storage.Store { return m.storage }

// LoadRouteStates reads persisted pause states; call it once at start.
func (m *Manager) LoadRouteStates(ctx context.Context) error {
	if m.opts.RouteStates == nil {
		return nil
	}
	states, err := m.opts.RouteStates.List(ctx)
	if err != nil {
		return fmt.Errorf("loading route states: %w", err)
	}
	m.mu.Lock()
	for _, s := range states {
		m.paused[s.RouteKey] = s.State == store.RoutePaused
	}
	m.mu.Unlock()
	return nil
}

// StartRequest asks for a new execution.
type StartRequest struct {
	Pipeline   *pipeline.Pipeline
	ConfigID   string
	ConfigName string
	// YAML is the pipeline source, frozen in the execution's snapshot.
	YAML string
	// Payload is merged over init_message.payload.
	Payload        map[string]any
	Tag            string
	Metadata       map[string]any
	IdempotencyKey string
	// IdempotencyWindow is how long IdempotencyKey maps to the execution
	// it started (default DefaultIdempotencyWindow).
	IdempotencyWindow time.Duration
	SkipInit          bool
	ParentExecutionID string
	// Seeds replace the init message: each is published to its route's
	// inbound queue when the execution starts (replays). ReplayBatchID
	// goes into their headers, and so into every message and lineage row
	// descending from them; ReplaySource is recorded with the execution.
	Seeds         []Seed
	ReplayBatchID string
	ReplaySource  map[string]any

	// seed, when set, publishes the first messages instead of the init
	// message or Seeds (requeued dead letters).
	seed func(context.Context, *Execution) error
}

// Seed is a first message of an execution other than its init message.
type Seed struct {
	Route   string
	Payload map[string]any
}

// DefaultIdempotencyWindow is how long an idempotency key maps to the
// execution it started.
const DefaultIdempotencyWindow = 10 * time.Minute

// Start creates an execution and runs it in the background. A start whose
// idempotency key was used within the window starts nothing and returns a
// *DuplicateStartError naming the first execution.
func (m *Manager) Start(ctx context.Context, req StartRequest) (*Execution, error) {
	p := req.Pipeline
	if p == nil {
		return nil, fmt.Errorf("%w: no pipeline given", ErrNotRunnable)
	}
	for i, sd := range req.Seeds {
		if _, ok := p.Routes[sd.Route]; !ok {
			return nil, fmt.Errorf("%w: seed %d targets %q, which is not a route", ErrNotRunnable, i, sd.Route)
		}
	}
	if len(req.Seeds) > 0 {
		req.SkipInit = true
	}
	if !req.SkipInit {
		if p.InitMessage == nil {
			return nil, fmt.Errorf("%w: it has no init_message", ErrNotRunnable)
		}
		if _, ok := p.Routes[p.InitMessage.Route]; !ok {
			return nil, fmt.Errorf("%w: init_message.route %q is not a route", ErrNotRunnable, p.InitMessage.Route)
		}
	}

	id := newID()
	ex, paused, err := m.admit(id, p)
	if err != nil {
		return nil, err
	}
	ex.ConfigID, ex.ConfigName, ex.Tag = req.ConfigID, req.ConfigName, req.Tag

	started := false
	defer func() {
		if !started {
			m.forget(ex)
			ex.cancelWork(errCancelled)
		}
	}()

	if err := ex.buildRoutes(m.adapterDeps(ex), paused); err != nil {
		ex.closeAllAdapters()
		return nil, fmt.Errorf("%w: %w", ErrNotRunnable, err)
	}
	snapshot, err := json.Marshal(configSnapshot{Name: req.ConfigName, YAML: req.YAML})
	if err != nil {
		return nil, fmt.Errorf("freezing config snapshot: %w", err)
	}
	var initPayload map[string]any
	if !req.SkipInit {
		initPayload = maps.Clone(p.InitMessage.Payload)
		if initPayload == nil {
			initPayload = map[string]any{}
		}
		maps.Copy(initPayload, req.Payload)
		ex.rootID = newID()
	}
	var replaySource json.RawMessage
	if req.ReplaySource != nil {
		if replaySource, err = json.Marshal(req.ReplaySource); err != nil {
			return nil, fmt.Errorf("encoding the replay source: %w", err)
		}
	}
	rec := &store.Execution{
		ID:                id,
		ConfigID:          req.ConfigID,
		ConfigName:        req.ConfigName,
		Status:            store.StatusPending,
		Tag:               req.Tag,
		ConfigSnapshot:    snapshot,
		RootCorrelationID: ex.rootID,
		ParentExecutionID: req.ParentExecutionID,
		ReplaySource:      replaySource,
		Metadata:          req.Metadata,
		IdempotencyKey:    req.IdempotencyKey,
		OwnerID:           m.opts.InstanceID,
		QueueRef:          m.opts.QueueRef,
		CreatedAt:         time.Now().UTC(),
	}
	if req.IdempotencyKey != "" {
		window := req.IdempotencyWindow
		if window <= 0 {
			window = DefaultIdempotencyWindow
		}
		created, err := m.opts.Executions.CreateIdempotent(ctx, rec, window)
		if err != nil {
			ex.closeAllAdapters()
			return nil, fmt.Errorf("recording execution: %w", err)
		}
		if !created {
			ex.closeAllAdapters()
			return nil, &DuplicateStartError{Execution: rec}
		}
	} else if err := m.opts.Executions.Create(ctx, rec); err != nil {
		ex.closeAllAdapters()
		return nil, fmt.Errorf("recording execution: %w", err)
	}
	ex.setStatus(store.StatusRunning, "started", nil)

	var seed func(context.Context) error
	if req.seed != nil {
		seed = func(ctx context.Context) error { return req.seed(ctx, ex) }
	} else if len(req.Seeds) > 0 {
		seeds, batch := req.Seeds, req.ReplayBatchID
		seed = func(ctx context.Context) error { return ex.publishSeeds(ctx, seeds, batch) }
	} else if !req.SkipInit {
		seed = func(ctx context.Context) error {
			body, err := EncodePayload(initPayload, p.Execution.MaxPayloadBytes)
			if err != nil {
				return fmt.Errorf("init message: %w", err)
			}
			msg := queue.Message{
				ID:      ex.rootID,
				Headers: messageHeaders(ex.rootID, ex.ID, "", "", ""),
				Body:    body,
			}
			if err := ex.publish(ctx, p.Routes[p.InitMessage.Route].Inbound.Queue, []queue.Message{msg}); err != nil {
				return err
			}
			ex.seedPublished.Add(1)
			return nil
		}
	}
	started = true
	go ex.run(seed)
	return ex, nil
}

// admit registers a new execution with id as running, unless the manager
// is stopping, runs as many as it may, or already runs id. It returns the
// pause states the execution's routes start with.
func (m *Manager) admit(id string, p *pipeline.Pipeline) (*Execution, map[string]bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case m.stopping:
		return nil, nil, ErrShuttingDown
	case m.running[id] != nil:
		return nil, nil, fmt.Errorf("%w: %s is already running here", ErrNotResumable, id)
	case len(m.running) >= m.opts.MaxConcurrentExecutions:
		return nil, nil, fmt.Errorf("%w: %d are running (max_concurrent_executions)", ErrTooManyExecutions, len(m.running))
	}
	ex := m.newExecution(id, p)
	m.running[id] = ex
	return ex, maps.Clone(m.paused), nil
}

func (m *Manager) newExecution(id string, p *pipeline.Pipeline) *Execution {
	maxHandlers := p.Execution.MaxHandlers
	if maxHandlers <= 0 {
		maxHandlers = pipeline.DefaultMaxHandlers
	}
	maxFanout := p.Execution.MaxFanoutPending
	if maxFanout <= 0 {
		maxFanout = pipeline.DefaultMaxFanoutPending
	}
	workCtx, cancel := context.WithCancelCause(context.Background())
	ex := &Execution{
		ID:         id,
		m:          m,
		pipeline:   p,
		ledger:     newMemLedger(),
		handlers:   semaphore.NewWeighted(int64(maxHandlers)),
		fanout:     semaphore.NewWeighted(int64(maxFanout)),
		log:        m.opts.Logger.With("execution_id", id),
		workCtx:    workCtx,
		cancelWork: cancel,
		startedAt:  time.Now(),
		stopCh:     make(chan struct{}),
		done:       make(chan struct{}),
		seeded:     make(chan struct{}),
	}
	ex.status.Store(store.StatusPending)
	ex.touch()
	return ex
}

func (ex *Execution) closeAllAdapters() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, rp := range ex.routes {
		rp.closeAdapters(ctx)
	}
}

func (m *Manager) adapterDeps(ex *Execution) adapters.Deps {
	return adapters.Deps{
		Storage:             m.storage,
		HTTP:                m.opts.HTTP,
		AllowPrivateTargets: m.opts.AllowPrivateTargets,
		AllowedHosts:        m.opts.AllowedHosts,
		Logger:              ex.log,
		DataDir:             m.opts.DataDir,
		UserAgent:           m.opts.UserAgent,
		LLM:                 m.opts.LLM,
		Segments:            m.opts.Segments,
	}
}

func (m *Manager) forget(ex *Execution) {
	m.mu.Lock()
	if m.running[ex.ID] == ex {
		delete(m.running, ex.ID)
	}
	m.mu.Unlock()
}

// Get returns a running execution.
func (m *Manager) Get(id string) (*Execution, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ex, ok := m.running[id]
	return ex, ok
}

// Running lists running executions, oldest first.
func (m *Manager) Running() []*Execution {
	m.mu.Lock()
	out := slices.Collect(maps.Values(m.running))
	m.mu.Unlock()
	slices.SortFunc(out, func(a, b *Execution) int { return a.startedAt.Compare(b.startedAt) })
	return out
}

// Cancel asks a running execution to stop gracefully: intake stops,
// in-flight messages finish until the drain timeout, then the execution is
// cancelled. It returns at once; wait on Done.
func (m *Manager) Cancel(id string) error {
	ex, ok := m.Get(id)
	if !ok {
		return fmt.Errorf("%w: %s is not running here", ErrNotFound, id)
	}
	ex.stop(errCancelled)
	return nil
}

// SetRoutePaused pauses or resumes a route key: persisted, and applied to
// every running execution using that key, and to later ones.
func (m *Manager) SetRoutePaused(ctx context.Context, routeKey string, paused bool) error {
	state := store.RouteRunning
	if paused {
		state = store.RoutePaused
	}
	if m.opts.RouteStates != nil {
		if _, err := m.opts.RouteStates.Set(ctx, routeKey, state); err != nil {
			return fmt.Errorf("persisting route %s state: %w", routeKey, err)
		}
	}
	m.mu.Lock()
	m.paused[routeKey] = paused
	m.mu.Unlock()
	var errs []error
	for _, ex := range m.Running() {
		rp, ok := ex.byKey[routeKey]
		if !ok || rp.isPaused() == paused {
			continue
		}
		if err := rp.setPaused(ctx, paused); err != nil {
			errs = append(errs, fmt.Errorf("execution %s: %w", ex.ID, err))
			continue
		}
		ex.recordEvent(store.ExecutionEvent{Type: store.EventStatus, Status: ex.Status(), Route: routeKey,
			Reason: "route " + string(state)})
	}
	return errors.Join(errs...)
}

// RoutePaused reports the persisted state of a route key.
func (m *Manager) RoutePaused(routeKey string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.paused[routeKey]
}

// Shutdown interrupts every running execution: intake stops, in-flight
// messages get the drain timeout, and executions are left `interrupted`
// (not terminal: their messages wait on the broker). No new execution
// starts afterwards.
func (m *Manager) Shutdown(ctx context.Context) error {
	m.mu.Lock()
	m.stopping = true
	m.mu.Unlock()
	running := m.Running()
	for _, ex := range running {
		ex.stop(errShutdown)
	}
	for _, ex := range running {
		select {
		case <-ex.Done():
		case <-ctx.Done():
			return fmt.Errorf("shutting down executions: %w", ctx.Err())
		}
	}
	return nil
}

func (m *Manager) onStorageEvent(ctx context.Context, ev storage.Event) {
	if ev.ExecutionID != "" {
		if ex, ok := m.Get(ev.ExecutionID); ok {
			ex.artefacts.Add(1)
		}
	}
	rec := store.StorageEvent{Type: storage.EventObjectCreated, ExecutionID: ev.ExecutionID, Route: ev.Route,
		Stage: ev.Stage, Key: ev.Key, Size: ev.Size, ContentType: ev.ContentType, CreatedAt: ev.Time}
	if m.opts.StorageEvents != nil {
		// Stored before it is announced, under the id it is announced
		// with, so a feed reader can resume after it. A failure costs the
		// feed one entry, never the write that already happened.
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		stored, err := m.opts.StorageEvents.Append(actx, rec)
		cancel()
		if err != nil {
			m.opts.Logger.Warn("cannot record storage event", "key", ev.Key, "execution_id", ev.ExecutionID, "error", err)
		} else {
			rec = stored
		}
	}
	if rec.ID == "" {
		rec.ID = newID()
	}
	m.bus.Publish(store.ExecutionEvent{
		ID:          rec.ID,
		ExecutionID: ev.ExecutionID,
		Type:        storage.EventObjectCreated,
		Route:       ev.Route,
		Data: map[string]any{
			"key":          ev.Key,
			"size":         ev.Size,
			"content_type": ev.ContentType,
			"stage":        ev.Stage,
		},
		CreatedAt: ev.Time,
	})
}
