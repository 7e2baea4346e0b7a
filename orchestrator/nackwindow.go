package orchestrator

import (
	"fmt"
	"sync"
)

// nackWindow remembers how the route's last settled messages ended
// (completed or dead-lettered) in a ring, so a route that dead-letters
// most of what it receives fails the execution instead of quietly filling
// the dead-letter table.
type nackWindow struct {
	mu     sync.Mutex
	ring   []bool // true: dead-lettered
	next   int
	filled int
	dead   int
	failed bool
}

// record adds one settled message to a window of size n and returns how
// many of the messages in the window were dead-lettered and how many it
// holds.
func (w *nackWindow) record(n int, dead bool) (deadInWindow, seen int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.ring) != n {
		w.ring = make([]bool, n)
		w.next, w.filled, w.dead = 0, 0, 0
	}
	if w.filled == n {
		if w.ring[w.next] {
			w.dead--
		}
	} else {
		w.filled++
	}
	w.ring[w.next] = dead
	if dead {
		w.dead++
	}
	w.next = (w.next + 1) % n
	return w.dead, w.filled
}

// firstFailure reports true once: the first time the window is exceeded.
func (w *nackWindow) firstFailure() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.failed {
		return false
	}
	w.failed = true
	return true
}

// settled feeds the nack window with a message that completed or was
// dead-lettered, and fails the execution when more than nack_threshold of
// the last nack_window settled messages were dead-lettered. The window
// need not be full: more dead letters than the threshold are too many
// whatever follows.
func (rp *routeProcessor) settled(deadLettered bool) {
	policy := rp.route.ErrorHandling
	if policy.NackWindow <= 0 {
		return
	}
	dead, seen := rp.nacks.record(policy.NackWindow, deadLettered)
	if !deadLettered || dead <= policy.NackThreshold || !rp.nacks.firstFailure() {
		return
	}
	ee := &ExecutionError{
		Code:   "NACK_WINDOW_EXCEEDED",
		Route:  rp.route.ID,
		Reason: fmt.Sprintf("%d of the last %d messages were dead-lettered", dead, seen),
		Hint: fmt.Sprintf("inspect the route's dead letters for the common cause; error_handling.nack_threshold (%d) "+
			"and nack_window (%d) set how many failures the route tolerates", policy.NackThreshold, policy.NackWindow),
	}
	rp.log.Error("route dead-letters too many messages; failing the execution",
		"dead_lettered", dead, "window", seen, "nack_threshold", policy.NackThreshold)
	rp.ex.fail(ee)
}
