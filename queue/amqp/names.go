package amqp

import (
	"strconv"
	"time"

	"github.com/factflow/factflow/queue"
)

const (
	queuePrefix = "factflow."
	// manifestPrefix names the per-execution queue that lists the
	// execution's work queues: AMQP cannot enumerate queues, and
	// DeleteScope must find them even in a process that never used them.
	manifestPrefix = "factflow-scope."
	delayPrefix    = "factflow-delay."
	// globalScope stands in for the empty execution (queues shared by all
	// executions); execution ids never take this value.
	globalScope = queue.GlobalScope
	// maxExecutionLength keeps factflow.<execution>.<queue> within AMQP's
	// 255-byte queue names for the longest logical queue name.
	maxExecutionLength = 255 - len(queuePrefix) - 1 - queue.MaxNameLength
)

// names are the native names of one destination.
type names struct {
	scope    string
	queue    string // factflow.<execution>.<queue>: the durable work queue
	manifest string // factflow-scope.<execution>
}

func namesFor(dst queue.Destination) (names, error) {
	if err := queue.ValidateName(dst.Queue); err != nil {
		return names{}, codedError(codeInvalidName, "queue names use letters, digits and _ . : - without empty dot-separated segments", err)
	}
	scope, err := scopeOf(dst.Execution)
	if err != nil {
		return names{}, err
	}
	return names{scope: scope, queue: queuePrefix + scope + "." + dst.Queue, manifest: manifestPrefix + scope}, nil
}

func scopeOf(execution string) (string, error) { return queue.Scope(execution, maxExecutionLength) }

// delayBuckets are the waits the broker can hold a message for: one
// durable queue per bucket whose message TTL dead-letters expired messages
// back into the default exchange, i.e. into the work queue named by their
// routing key. A per-queue TTL keeps each bucket FIFO (messages expire in
// order), which per-message TTLs in one queue would not.
var delayBuckets = []time.Duration{
	10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond,
	250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2500 * time.Millisecond,
	5 * time.Second, 10 * time.Second, 30 * time.Second, time.Minute, 2 * time.Minute,
	5 * time.Minute, 10 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 6 * time.Hour,
}

// bucketFor picks the longest bucket that does not overshoot d (the
// shortest when d is below all of them). A message that arrives before its
// time is sent through another bucket, so long delays take a few hops and
// every delivery is on time within the shortest bucket.
func bucketFor(d time.Duration) time.Duration {
	b := delayBuckets[0]
	for _, c := range delayBuckets {
		if c > d {
			break
		}
		b = c
	}
	return b
}

// delayName is both the fanout exchange and the queue of one bucket.
func delayName(bucket time.Duration) string {
	return delayPrefix + strconv.FormatInt(bucket.Milliseconds(), 10) + "ms"
}
