package store

// legalTransitions is the execution state machine (drawn in doc.go).
// Terminal states have no entry. A status never transitions to itself.
var legalTransitions = map[ExecutionStatus][]ExecutionStatus{
	StatusPending:     {StatusRunning, StatusFailed, StatusCancelling, StatusCancelled, StatusInterrupted},
	StatusRunning:     {StatusCompleted, StatusFailed, StatusCancelling, StatusInterrupted},
	StatusCancelling:  {StatusCancelled, StatusFailed},
	StatusInterrupted: {StatusRunning, StatusFailed, StatusCancelled},
}

// CanTransition reports whether an execution may go from one status to
// another.
func CanTransition(from, to ExecutionStatus) bool {
	for _, s := range legalTransitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Valid reports whether s is one of the known statuses.
func (s ExecutionStatus) Valid() bool {
	switch s {
	case StatusPending, StatusRunning, StatusCompleted, StatusFailed,
		StatusCancelling, StatusCancelled, StatusInterrupted:
		return true
	}
	return false
}
