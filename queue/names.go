package queue

import (
	"fmt"
	"strings"
)

// MaxNameLength bounds logical queue names so every broker can carry them
// inside its native naming (subjects, addresses, topic names).
const MaxNameLength = 200

// NormalizeName strips the reference system's /queue/ prefix so YAMLs
// written for it load unchanged.
func NormalizeName(name string) string {
	return strings.TrimPrefix(strings.TrimSpace(name), "/queue/")
}

// ValidateName checks a (normalized) logical queue name: [a-zA-Z0-9_.:-]+,
// not starting or ending with a dot and without empty segments, so that it
// maps onto NATS subjects, AMQP queues, STOMP destinations and Pulsar topics.
func ValidateName(name string) error {
	if name == "" {
		return fmt.Errorf("queue name is empty")
	}
	if len(name) > MaxNameLength {
		return fmt.Errorf("queue name is %d characters long; the limit is %d", len(name), MaxNameLength)
	}
	for i, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9',
			r == '_', r == '.', r == ':', r == '-':
		default:
			return fmt.Errorf("queue name %q has %q at position %d; allowed are letters, digits and _ . : -", name, r, i)
		}
	}
	if strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".") || strings.Contains(name, "..") {
		return fmt.Errorf("queue name %q has an empty dot-separated segment", name)
	}
	return nil
}

// GlobalScope names the scope of queues outside any execution in native
// names; execution ids never take this value.
const GlobalScope = "_"

// Scope is the part of native names that stands for execution: GlobalScope
// for none, else the id itself once it is known to fit every broker's
// naming (letters, digits, _ and -, at most maxLen characters).
func Scope(execution string, maxLen int) (string, error) {
	const hint = "execution ids are UUIDs"
	if execution == "" {
		return GlobalScope, nil
	}
	if execution == GlobalScope || len(execution) > maxLen {
		return "", Coded(CodeInvalidName, hint,
			fmt.Errorf("execution id %q is reserved or longer than %d characters", execution, maxLen))
	}
	for i, r := range execution {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return "", Coded(CodeInvalidName, hint,
				fmt.Errorf("execution id %q has %q at position %d; allowed are letters, digits, _ and -", execution, r, i))
		}
	}
	return execution, nil
}
