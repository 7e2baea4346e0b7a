package nats

import (
	"fmt"
	"hash/fnv"
	"strings"

	"github.com/factflow/factflow/queue"
)

const (
	subjectPrefix = "factflow."
	streamPrefix  = "FACTFLOW_"
	// globalScope stands in for the empty execution (queues shared by all
	// executions); execution ids never take this value.
	globalScope = queue.GlobalScope
	// maxExecutionLength keeps stream names well inside the server's limits
	// (they become directory names in the file store).
	maxExecutionLength = 128
)

// names are the native names of one destination.
type names struct {
	scope   string // subject token of the execution
	stream  string // FACTFLOW_<execution>: one work-queue stream per execution
	subject string // factflow.<execution>.<queue>
}

func namesFor(dst queue.Destination) (names, error) {
	if err := queue.ValidateName(dst.Queue); err != nil {
		return names{}, codedError(codeInvalidName, "queue names use letters, digits and _ . : - without empty dot-separated segments", err)
	}
	scope, err := scopeOf(dst.Execution)
	if err != nil {
		return names{}, err
	}
	return names{
		scope:   scope,
		stream:  streamPrefix + scope,
		subject: subjectPrefix + scope + "." + dst.Queue,
	}, nil
}

// scopeOf maps an execution id onto one subject token (and stream name
// suffix): it must not contain dots, wildcards or whitespace.
func scopeOf(execution string) (string, error) { return queue.Scope(execution, maxExecutionLength) }

// consumerName is the durable name shared by every subscriber of one
// (queue, group). Durable names cannot hold dots, so the readable part is
// sanitized and a hash of the exact pair keeps distinct pairs apart.
func consumerName(queueName, group string) string {
	h := fnv.New32a()
	h.Write([]byte(group))
	h.Write([]byte{0})
	h.Write([]byte(queueName))
	readable := sanitize(group) + "_" + sanitize(queueName)
	if len(readable) > 64 {
		readable = readable[:64]
	}
	return fmt.Sprintf("%s_%08x", readable, h.Sum32())
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' {
			return r
		}
		return '_'
	}, s)
}
