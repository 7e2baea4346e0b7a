package nats

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/factflow/factflow/queue"
)

// topicPrefix roots topic subjects apart from every execution's streams
// (factflow.<scope>.…), so no stream ever captures a topic message.
const topicPrefix = "factflow-topic."

// PublishTopic multicasts msg to whoever subscribes to topic now. Topics
// are core NATS subjects: nothing is stored, and a subscriber that is away
// misses what was published meanwhile (the system topics are feeds; the
// stored timelines are the record).
func (p *Provider) PublishTopic(ctx context.Context, topic string, msg queue.Message) error {
	if err := queue.ValidateName(topic); err != nil {
		return fmt.Errorf("publishing to topic %q: %w", topic, err)
	}
	if p.isClosed() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := p.nc.PublishMsg(p.encode(topicPrefix+topic, &msg)); err != nil {
		return fmt.Errorf("publishing to topic %s: %w", topic, err)
	}
	return nil
}

// SubscribeTopic calls h for every message published to topic from now
// on, until the returned function is called or the provider closed. h runs
// on one goroutine per subscription, in publication order. ctx bounds the
// setup only. Unsubscribing is idempotent and harmless after Close.
func (p *Provider) SubscribeTopic(ctx context.Context, topic string, h func(queue.Message)) (unsubscribe func() error, err error) {
	if err := queue.ValidateName(topic); err != nil {
		return nil, fmt.Errorf("subscribing to topic %q: %w", topic, err)
	}
	if h == nil {
		return nil, fmt.Errorf("subscribing to topic %s: no handler", topic)
	}
	if p.isClosed() {
		return nil, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("subscribing to topic %s: %w", topic, err)
	}
	sub, err := p.nc.Subscribe(topicPrefix+topic, func(m *nats.Msg) {
		hdr := decodeHeaders(m.Header)
		h(queue.Message{ID: hdr[queue.HeaderMessageID], Headers: hdr, Body: m.Data})
	})
	if err != nil {
		return nil, fmt.Errorf("subscribing to topic %s: %w", topic, err)
	}
	// The subscription is registered with the server before this returns,
	// so a publish that follows is seen.
	fctx, cancel := context.WithTimeout(ctx, 10*time.Second) // FlushWithContext needs a deadline
	defer cancel()
	if err := p.nc.FlushWithContext(fctx); err != nil {
		_ = sub.Unsubscribe()
		return nil, fmt.Errorf("subscribing to topic %s: %w", topic, err)
	}
	var once sync.Once
	var uerr error
	return func() error {
		once.Do(func() {
			uerr = sub.Unsubscribe()
			// A closed connection has dropped the subscription already.
			if errors.Is(uerr, nats.ErrConnectionClosed) || errors.Is(uerr, nats.ErrBadSubscription) {
				uerr = nil
			}
			if uerr != nil {
				uerr = fmt.Errorf("unsubscribing from topic %s: %w", topic, uerr)
			}
		})
		return uerr
	}, nil
}
