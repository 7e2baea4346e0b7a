package orchestrator

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/factflow/factflow/queue"
	"github.com/factflow/factflow/storage"
	"github.com/factflow/factflow/store"
)

// System topics: every execution's events and every object written, for
// consumers outside the process (not execution scoped; they filter by
// execution id).
const (
	TopicPipelineEvents = "system.pipeline.events"
	TopicStorageEvents  = "system.storage.events"
)

// TopicPublisher is a broker that can multicast to topics.
type TopicPublisher interface {
	PublishTopic(ctx context.Context, topic string, msg queue.Message) error
}

// TopicForwarder republishes the bus's events on the system topics. It
// reads the bus from its own goroutine, so the engine never waits on the
// broker for it; per-message stage events are not forwarded.
type TopicForwarder struct {
	pub    TopicPublisher
	log    *slog.Logger
	events <-chan store.ExecutionEvent
	stop   func()
	done   chan struct{}
	sent   atomic.Int64
	failed atomic.Int64
}

// ForwardTopics starts forwarding bus events to pub until Stop.
func ForwardTopics(bus *Bus, pub TopicPublisher, log *slog.Logger) *TopicForwarder {
	if log == nil {
		log = slog.Default()
	}
	events, stop := bus.Subscribe(1024, false, func(ev store.ExecutionEvent) bool {
		return ev.Type != store.EventStage && ev.Type != store.EventStepFailed
	})
	f := &TopicForwarder{pub: pub, log: log, events: events, stop: stop, done: make(chan struct{})}
	go f.run()
	return f
}

func (f *TopicForwarder) run() {
	defer close(f.done)
	for ev := range f.events {
		topic := TopicPipelineEvents
		if ev.Type == storage.EventObjectCreated {
			topic = TopicStorageEvents
		}
		body, err := json.Marshal(ev)
		if err != nil {
			f.failed.Add(1)
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = f.pub.PublishTopic(ctx, topic, queue.Message{ID: ev.ID, Body: body, Headers: map[string]string{
			queue.HeaderMessageID: ev.ID, queue.HeaderExecutionID: ev.ExecutionID}})
		cancel()
		if err != nil {
			// A feed, not a record: counted and logged once in a while,
			// never retried against a broker that is away.
			if f.failed.Add(1)%100 == 1 {
				f.log.Warn("cannot publish to a system topic", "topic", topic, "error", err)
			}
			continue
		}
		f.sent.Add(1)
	}
}

// Counts tells how many events were forwarded and how many failed.
func (f *TopicForwarder) Counts() (sent, failed int64) { return f.sent.Load(), f.failed.Load() }

// Stop ends forwarding once what the bus holds is sent, within ctx.
func (f *TopicForwarder) Stop(ctx context.Context) error {
	f.stop()
	select {
	case <-f.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
