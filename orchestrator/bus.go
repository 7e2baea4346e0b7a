package orchestrator

import (
	"sync"
	"sync/atomic"

	"github.com/factflow/factflow/store"
)

// Bus is the in-process event bus: execution status, progress, stage and
// dead-letter events fan out to subscribers (SSE streams, the CLI's
// progress view, webhooks, metrics). Publishing never blocks the engine: a
// subscriber that falls behind loses events (counted in Dropped) and can
// catch up from the persisted timeline.
type Bus struct {
	mu      sync.RWMutex
	subs    map[uint64]*busSub
	next    uint64
	dropped atomic.Int64
	// stageSubs counts subscribers that want per-message stage events,
	// which are costly enough to build only on demand.
	stageSubs atomic.Int64
}

type busSub struct {
	ch     chan store.ExecutionEvent
	filter func(store.ExecutionEvent) bool
}

// NewBus returns an empty bus.
func NewBus() *Bus { return &Bus{subs: make(map[uint64]*busSub)} }

// Subscribe returns a channel of events passing filter (nil = all) with the
// given buffer, and a function that ends the subscription and closes the
// channel. Per-message stage events are produced only while at least one
// subscriber asked for them with stages.
func (b *Bus) Subscribe(buffer int, stages bool, filter func(store.ExecutionEvent) bool) (<-chan store.ExecutionEvent, func()) {
	if buffer < 1 {
		buffer = 1
	}
	s := &busSub{ch: make(chan store.ExecutionEvent, buffer), filter: filter}
	if stages {
		b.stageSubs.Add(1)
	}
	b.mu.Lock()
	id := b.next
	b.next++
	b.subs[id] = s
	b.mu.Unlock()
	var once sync.Once
	return s.ch, func() {
		once.Do(func() {
			b.mu.Lock()
			delete(b.subs, id)
			b.mu.Unlock()
			close(s.ch)
			if stages {
				b.stageSubs.Add(-1)
			}
		})
	}
}

// Publish delivers ev to every matching subscriber without blocking.
func (b *Bus) Publish(ev store.ExecutionEvent) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	for _, s := range b.subs {
		if s.filter != nil && !s.filter(ev) {
			continue
		}
		select {
		case s.ch <- ev:
		default:
			b.dropped.Add(1)
		}
	}
}

// Dropped counts events lost to slow subscribers.
func (b *Bus) Dropped() int64 { return b.dropped.Load() }

// Subscribers counts the open subscriptions (streams release theirs when
// their client goes away).
func (b *Bus) Subscribers() int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return len(b.subs)
}

// WantsStages reports whether anyone listens for stage events.
func (b *Bus) WantsStages() bool { return b.stageSubs.Load() > 0 }
