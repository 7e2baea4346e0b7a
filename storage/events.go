package storage

import (
	"context"
	"io"
	"time"
)

// EventObjectCreated is the type of the event emitted after each write.
const EventObjectCreated = "storage.object.created"

// Event reports a change in a store.
type Event struct {
	Type        string    `json:"type"`
	Key         string    `json:"key"`
	Size        int64     `json:"size"`
	ContentType string    `json:"content_type,omitempty"`
	ExecutionID string    `json:"execution_id,omitempty"`
	Route       string    `json:"route,omitempty"`
	Stage       string    `json:"stage,omitempty"`
	Metadata    Metadata  `json:"metadata,omitempty"`
	Time        time.Time `json:"time"`
}

// EventSink receives storage events. It must not block for long: it runs
// on the writer's goroutine.
type EventSink func(ctx context.Context, ev Event)

// Observe returns a Store that calls sink after every successful Put.
func Observe(s Store, sink EventSink) Store {
	return &observed{Store: s, sink: sink}
}

type observed struct {
	Store
	sink EventSink
}

func (o *observed) Put(ctx context.Context, key string, r io.Reader, meta Metadata) (ObjectInfo, error) {
	info, err := o.Store.Put(ctx, key, r, meta)
	if err != nil {
		return info, err
	}
	o.sink(ctx, Event{
		Type:        EventObjectCreated,
		Key:         info.Key,
		Size:        info.Size,
		ContentType: info.ContentType,
		ExecutionID: metaString(meta, MetaExecutionID),
		Route:       metaString(meta, MetaRoute),
		Stage:       metaString(meta, MetaStage),
		Metadata:    meta,
		Time:        time.Now().UTC(),
	})
	return info, nil
}

func metaString(m Metadata, k string) string {
	s, _ := m[k].(string)
	return s
}
