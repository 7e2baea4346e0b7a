package stomp

import (
	"github.com/factflow/factflow/queue"
)

const (
	queuePrefix = "factflow."
	// globalScope stands in for the empty execution; execution ids never
	// take this value.
	globalScope = queue.GlobalScope
	// anycastPrefix is the acceptor's anycastPrefix: /queue/x is the
	// anycast queue x.
	anycastPrefix      = "/queue/"
	maxExecutionLength = 200
)

// queueName is the broker's queue name (factflow.<execution>.<queue>).
func queueName(dst queue.Destination) (string, error) {
	if err := queue.ValidateName(dst.Queue); err != nil {
		return "", codedError(codeInvalidName, "queue names use letters, digits and _ . : - without empty dot-separated segments", err)
	}
	scope, err := scopeOf(dst.Execution)
	if err != nil {
		return "", err
	}
	return queuePrefix + scope + "." + dst.Queue, nil
}

func scopeOf(execution string) (string, error) { return queue.Scope(execution, maxExecutionLength) }
