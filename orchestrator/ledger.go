package orchestrator

import (
	"context"
	"sync"
)

// Ledger does the exact outstanding-message accounting of one execution:
// a message is outstanding from just before it is published until its
// delivery is settled (acked or dead-lettered) after its own emits were
// published. Once the execution is seeded and nothing is outstanding, it is
// complete — no polling, no sleeps.
//
// It is an interface so that running one execution across several replicas
// can swap in a shared ledger without touching route processors.
type Ledger interface {
	// Add marks ids outstanding; call it before publishing them.
	Add(ids ...string)
	// Cancel undoes Add for messages whose publish failed.
	Cancel(ids ...string)
	// Known reports whether id is (or may be) outstanding. A delivery that
	// is not known was already settled: a duplicate.
	Known(id string) bool
	// Settle marks id done; false when it was not outstanding.
	Settle(id string) bool
	// Seed marks the execution seeded (init or replay messages published).
	Seed()
	// Restore records n outstanding messages whose ids are unknown, as
	// counted on the broker after a restart. From then on the ledger
	// drains only through Reconcile, which asks the broker.
	Restore(n int)
	// Reconcile compares a restored ledger with the broker: count returns
	// the messages the broker still holds for the execution (queued,
	// delayed or unacknowledged). It reports drained once no message
	// published since the restore is outstanding and the broker holds none.
	Reconcile(ctx context.Context, count func(context.Context) (int, error)) (drained bool, err error)
	// Outstanding is the number of messages in flight or queued.
	Outstanding() int
	// Drained is closed once the ledger is seeded and empty.
	Drained() <-chan struct{}
}

// memLedger keeps the ids of outstanding messages in memory.
type memLedger struct {
	mu     sync.Mutex
	ids    map[string]struct{}
	anon   int
	seeded bool
	// restored: the ledger was rebuilt from broker counts. Those counts
	// are a snapshot (messages of the process that died may still be
	// redelivered, retries may still be copied), so a restored ledger
	// treats every delivery as its own and drains only when the broker
	// confirms that nothing is left.
	restored bool
	// gen changes with every Add, so Reconcile can tell that nothing was
	// published while it asked the broker.
	gen     uint64
	drained chan struct{}
	closed  bool
}

func newMemLedger() *memLedger {
	return &memLedger{ids: make(map[string]struct{}), drained: make(chan struct{})}
}

func (l *memLedger) Add(ids ...string) {
	l.mu.Lock()
	for _, id := range ids {
		l.ids[id] = struct{}{}
	}
	l.gen++
	l.mu.Unlock()
}

func (l *memLedger) Cancel(ids ...string) {
	l.mu.Lock()
	for _, id := range ids {
		delete(l.ids, id)
	}
	l.checkLocked()
	l.mu.Unlock()
}

func (l *memLedger) Known(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.ids[id]
	return ok || l.anon > 0 || l.restored
}

func (l *memLedger) Settle(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.ids[id]; ok {
		delete(l.ids, id)
	} else if l.anon > 0 {
		l.anon--
	} else if !l.restored {
		return false
	}
	l.checkLocked()
	return true
}

func (l *memLedger) Seed() {
	l.mu.Lock()
	l.seeded = true
	l.checkLocked()
	l.mu.Unlock()
}

func (l *memLedger) Restore(n int) {
	l.mu.Lock()
	l.anon += n
	l.restored = true
	l.mu.Unlock()
}

func (l *memLedger) Reconcile(ctx context.Context, count func(context.Context) (int, error)) (bool, error) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return true, nil
	}
	if !l.restored || !l.seeded || len(l.ids) > 0 {
		l.mu.Unlock()
		return false, nil
	}
	gen := l.gen
	l.mu.Unlock()
	// Asked without the lock: deliveries go on meanwhile. A message they
	// publish bumps gen; one they settle was counted by the broker until
	// then, and anything it emitted was published before that.
	n, err := count(ctx)
	if err != nil {
		return false, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return true, nil
	}
	if gen != l.gen || len(l.ids) > 0 {
		return false, nil
	}
	l.anon = n
	if n == 0 {
		l.closed = true
		close(l.drained)
		return true, nil
	}
	return false, nil
}

func (l *memLedger) Outstanding() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.ids) + l.anon
}

func (l *memLedger) Drained() <-chan struct{} { return l.drained }

func (l *memLedger) checkLocked() {
	if l.seeded && !l.restored && !l.closed && len(l.ids) == 0 && l.anon == 0 {
		l.closed = true
		close(l.drained)
	}
}
