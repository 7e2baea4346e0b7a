package store

import (
	"encoding/json"
	"fmt"
	"time"
)

// jsonbMap encodes a map for a jsonb parameter; nil and empty maps become
// SQL NULL so that "no metadata" has one representation.
func jsonbMap[M ~map[string]V, V any](m M) ([]byte, error) {
	if len(m) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encoding JSON: %w", err)
	}
	return b, nil
}

// jsonbRaw passes raw JSON through; empty becomes SQL NULL.
func jsonbRaw(raw json.RawMessage) ([]byte, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	if !json.Valid(raw) {
		return nil, invalidArg("value is not valid JSON", "send a JSON document")
	}
	return raw, nil
}

func decodeMap[V any](b []byte) (map[string]V, error) {
	if len(b) == 0 || string(b) == "null" {
		return nil, nil
	}
	var m map[string]V
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("decoding stored JSON: %w", err)
	}
	return m, nil
}

func rawOrNil(b []byte) json.RawMessage {
	if len(b) == 0 {
		return nil
	}
	return json.RawMessage(b)
}

// nullText maps "" to SQL NULL.
func nullText(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func textOrEmpty(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func timeOrZero(p *time.Time) time.Time {
	if p == nil {
		return time.Time{}
	}
	return *p
}
