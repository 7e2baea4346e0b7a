package pulsar

import (
	"fmt"

	"github.com/factflow/factflow/queue"
)

const (
	topicPrefix = "factflow."
	// globalScope stands in for the empty execution; execution ids never
	// take this value.
	globalScope        = queue.GlobalScope
	maxExecutionLength = 200
)

// naming maps destinations into one tenant and namespace.
type naming struct {
	tenant, namespace string
}

// base is persistent://<tenant>/<namespace>/, the start of every topic.
func (n naming) base() string {
	return "persistent://" + n.tenant + "/" + n.namespace + "/"
}

// topic is the persistent topic of dst:
// persistent://<tenant>/<namespace>/factflow.<execution>.<queue>.
func (n naming) topic(dst queue.Destination) (string, error) {
	if err := queue.ValidateName(dst.Queue); err != nil {
		return "", codedError(codeInvalidName, "queue names use letters, digits and _ . : - without empty dot-separated segments", err)
	}
	scope, err := scopeOf(dst.Execution)
	if err != nil {
		return "", err
	}
	return n.base() + topicPrefix + scope + "." + dst.Queue, nil
}

// scopePrefix starts the name of every topic of one execution; execution
// ids hold no dots, so no other execution's topics share it.
func (n naming) scopePrefix(execution string) (string, error) {
	scope, err := scopeOf(execution)
	if err != nil {
		return "", err
	}
	return n.base() + topicPrefix + scope + ".", nil
}

func scopeOf(execution string) (string, error) { return queue.Scope(execution, maxExecutionLength) }

// validSegment checks a tenant or namespace name (Pulsar allows
// letters, digits and - _ = : . in them).
func validSegment(kind, s string) error {
	if s == "" {
		return fmt.Errorf("%s is empty", kind)
	}
	for i, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '=' || r == ':' || r == '.') {
			return fmt.Errorf("%s %q has %q at position %d", kind, s, r, i)
		}
	}
	return nil
}
