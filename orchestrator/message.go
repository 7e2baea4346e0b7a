package orchestrator

import (
	"bytes"
	"fmt"

	json "github.com/goccy/go-json"
	"github.com/google/uuid"

	"github.com/factflow/factflow/adapters"
	"github.com/factflow/factflow/queue"
)

// newID returns a UUIDv7: time-ordered ids for executions, messages and
// events.
func newID() string {
	id, err := uuid.NewV7()
	if err != nil {
		// NewV7 fails only when the system random source does; a v4 id is
		// still unique, just not time-ordered.
		return uuid.NewString()
	}
	return id.String()
}

// EncodePayload marshals a payload as the engine publishes it, enforcing
// the per-message size limit: large content belongs in storage, with its
// key in the message. Tools that mimic the engine (pipeline tests) call it
// so that they refuse exactly what the engine refuses.
func EncodePayload(p adapters.Payload, limit int) ([]byte, error) {
	if p == nil {
		p = adapters.Payload{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		return nil, adapters.PermanentCoded("PAYLOAD_NOT_JSON",
			"adapters must emit JSON-encodable values (maps, lists, strings, numbers, booleans)",
			fmt.Errorf("encoding payload: %w", err))
	}
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if limit > 0 && len(b) > limit {
		return nil, adapters.PermanentCoded("PAYLOAD_TOO_LARGE",
			"store large content with a storage adapter and pass its storage_key; or raise execution.max_payload_bytes",
			fmt.Errorf("payload is %d bytes; the limit is %d", len(b), limit))
	}
	return b, nil
}

// decodePayload parses a message body into a payload. Payload JSON is the
// engine's hottest code: goccy/go-json decodes it several times faster than
// encoding/json with the same results (a fuzz test holds them equal). A
// panic in the decoder on hostile input is a poison message, not a crash.
func decodePayload(b []byte) (p adapters.Payload, err error) {
	defer func() {
		if r := recover(); r != nil {
			p, err = nil, invalidPayload(fmt.Errorf("decoder panicked: %v", r))
		}
	}()
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, invalidPayload(err)
	}
	if p == nil {
		p = adapters.Payload{}
	}
	return p, nil
}

func invalidPayload(err error) error {
	return adapters.PermanentCoded("PAYLOAD_INVALID",
		"messages must carry a JSON object; inspect the dead letter's payload",
		fmt.Errorf("decoding payload: %w", err))
}

// messageHeaders builds the engine-owned headers of a new message. The
// message id is its correlation id; every header costs broker bytes and
// codec time on each hop, so the set stays minimal.
func messageHeaders(id, executionID, fromRoute, parentID, replayBatch string) map[string]string {
	h := make(map[string]string, 6)
	h[queue.HeaderMessageID] = id
	h[queue.HeaderExecutionID] = executionID
	h[queue.HeaderAttempt] = "1"
	if fromRoute != "" {
		h[queue.HeaderRoute] = fromRoute
	}
	if parentID != "" {
		h[queue.HeaderParentID] = parentID
	}
	if replayBatch != "" {
		h[queue.HeaderReplayBatchID] = replayBatch
	}
	return h
}
