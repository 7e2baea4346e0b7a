package stomp

import (
	"fmt"

	"github.com/factflow/factflow/queue"
)

const (
	queuePrefix = "factflow."
	// globalScope stands in for the empty execution; execution ids never
	// take this value.
	globalScope = "_"
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

func scopeOf(execution string) (string, error) {
	if execution == "" {
		return globalScope, nil
	}
	if execution == globalScope || len(execution) > maxExecutionLength {
		return "", codedError(codeInvalidName, "execution ids are UUIDs",
			fmt.Errorf("execution id %q is reserved or longer than %d characters", execution, maxExecutionLength))
	}
	for i, r := range execution {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return "", codedError(codeInvalidName, "execution ids are UUIDs",
				fmt.Errorf("execution id %q has %q at position %d; allowed are letters, digits, _ and -", execution, r, i))
		}
	}
	return execution, nil
}
