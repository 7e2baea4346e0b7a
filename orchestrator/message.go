package orchestrator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

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

// encodePayload marshals a payload, enforcing the per-message size limit:
// large content belongs in storage, with its key in the message.
func encodePayload(p adapters.Payload, limit int) ([]byte, error) {
	if p == nil {
		p = adapters.Payload{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		return nil, adapters.Permanent(adapters.Coded("PAYLOAD_NOT_JSON",
			"adapters must emit JSON-encodable values (maps, lists, strings, numbers, booleans)",
			fmt.Errorf("encoding payload: %w", err)))
	}
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if limit > 0 && len(b) > limit {
		return nil, adapters.Permanent(adapters.Coded("PAYLOAD_TOO_LARGE",
			"store large content with a storage adapter and pass its storage_key; or raise execution.max_payload_bytes",
			fmt.Errorf("payload is %d bytes; the limit is %d", len(b), limit)))
	}
	return b, nil
}

// decodePayload parses a message body into a payload.
func decodePayload(b []byte) (adapters.Payload, error) {
	var p adapters.Payload
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, adapters.Permanent(adapters.Coded("PAYLOAD_INVALID",
			"messages must carry a JSON object; inspect the dead letter's payload",
			fmt.Errorf("decoding payload: %w", err)))
	}
	if p == nil {
		p = adapters.Payload{}
	}
	return p, nil
}

// messageHeaders builds the engine-owned headers of a new message.
func messageHeaders(id, executionID, fromRoute, parentID, replayBatch string, now time.Time) map[string]string {
	h := map[string]string{
		queue.HeaderMessageID:     id,
		queue.HeaderCorrelationID: id,
		queue.HeaderExecutionID:   executionID,
		queue.HeaderAttempt:       "1",
		queue.HeaderPublishedAt:   strconv.FormatInt(now.UnixNano(), 10),
	}
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

// publishedAt reads the publish time header (zero when absent).
func publishedAt(h map[string]string) time.Time {
	n, err := strconv.ParseInt(h[queue.HeaderPublishedAt], 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.Unix(0, n)
}
