package webhooks

import (
	"encoding/json"
	"time"
)

// Event types a subscription can name (SPEC §11), plus EventTest, which
// Service.Test sends whatever the subscription's event types.
const (
	EventExecutionStarted     = "execution.started"
	EventExecutionCompleted   = "execution.completed"
	EventExecutionFailed      = "execution.failed"
	EventExecutionCancelled   = "execution.cancelled"
	EventStorageObjectCreated = "storage.object.created"
	EventLineageFailed        = "lineage.failed"
	EventDeadLetterCreated    = "dead_letter.created"
	EventTest                 = "webhook.test"
)

// EventTypes lists every event type, in a stable order.
func EventTypes() []string {
	return []string{EventExecutionStarted, EventExecutionCompleted, EventExecutionFailed, EventExecutionCancelled,
		EventStorageObjectCreated, EventLineageFailed, EventDeadLetterCreated, EventTest}
}

// KnownEventType reports whether t is one of EventTypes.
func KnownEventType(t string) bool {
	for _, k := range EventTypes() {
		if k == t {
			return true
		}
	}
	return false
}

// Event is something that happened, to be sent to the subscriptions that
// match it. The string attributes are what subscription filters compare
// with; Data is the event-specific body (any JSON-encodable value).
type Event struct {
	ID          string
	Type        string
	Time        time.Time
	ConfigID    string
	ExecutionID string
	RouteID     string
	AdapterName string
	Data        any
}

// envelope is the JSON body of every webhook request.
type envelope struct {
	ID          string    `json:"id"`
	Type        string    `json:"type"`
	Time        time.Time `json:"time"`
	ConfigID    string    `json:"config_id,omitempty"`
	ExecutionID string    `json:"execution_id,omitempty"`
	RouteID     string    `json:"route_id,omitempty"`
	AdapterName string    `json:"adapter_name,omitempty"`
	Data        any       `json:"data"`
}

func (e Event) body() ([]byte, error) {
	data := e.Data
	if data == nil {
		data = map[string]any{}
	}
	return json.Marshal(envelope{ID: e.ID, Type: e.Type, Time: e.Time.UTC(), ConfigID: e.ConfigID,
		ExecutionID: e.ExecutionID, RouteID: e.RouteID, AdapterName: e.AdapterName, Data: data})
}
