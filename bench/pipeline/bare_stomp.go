package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-stomp/stomp/v3"

	stompq "github.com/factflow/factflow/queue/stomp"
)

// bareSTOMP is bare3's shape written with go-stomp against Artemis:
// persistent messages sent with receipts, client-individual acks; the
// relay acks upstream only after the downstream receipt. Consumers take
// up to bareSTOMPWindow bytes of unacked messages (Artemis' consumer
// window). go-stomp's Send holds the connection's lock until its receipt
// arrives, so one connection has one send in flight: the producer and the
// relay each send over bareSTOMPSenders connections, one goroutine each.
type bareSTOMP struct {
	url string
	log io.Writer
	// cleanup deletes each run's queues (STOMP itself cannot).
	cleanup *stompq.Provider
}

const (
	bareSTOMPSenders = 32
	bareSTOMPWindow  = 1 << 20
)

func newBareSTOMP(ctx context.Context, rawURL string, log io.Writer, logger *slog.Logger) (*bareSTOMP, error) {
	p, err := stompq.New(ctx, stompq.Config{URL: rawURL, Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("connecting to STOMP: %w", err)
	}
	return &bareSTOMP{url: rawURL, log: log, cleanup: p}, nil
}

func (b *bareSTOMP) close(ctx context.Context) error { return b.cleanup.Close(ctx) }

func (b *bareSTOMP) dial(ctx context.Context, name string) (*stomp.Conn, error) {
	u, err := url.Parse(b.url)
	if err != nil {
		return nil, fmt.Errorf("parsing the STOMP URL: %w", err)
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return nil, fmt.Errorf("connecting %s to STOMP: %w", name, err)
	}
	host, _, _ := net.SplitHostPort(u.Host)
	opts := []func(*stomp.Conn) error{stomp.ConnOpt.Host(host), stomp.ConnOpt.AcceptVersion(stomp.V12),
		stomp.ConnOpt.HeartBeat(10*time.Second, 10*time.Second), stomp.ConnOpt.Logger(quietLogger{})}
	if u.User != nil {
		pass, _ := u.User.Password()
		opts = append(opts, stomp.ConnOpt.Login(u.User.Username(), pass))
	}
	conn, err := stomp.Connect(nc, opts...)
	if err != nil {
		_ = nc.Close()
		return nil, fmt.Errorf("STOMP handshake of %s: %w", name, err)
	}
	return conn, nil
}

func (b *bareSTOMP) run(ctx context.Context, s runSpec) (*recorder, engineOutcome, error) {
	var none engineOutcome
	// The queues are factflow.<scope>.q1 and .q2, so the provider's
	// DeleteScope removes them afterwards.
	scope := "bench-" + newRunID()
	dest := func(i int) string { return fmt.Sprintf("/queue/factflow.%s.q%d", scope, i) }

	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var conns []*stomp.Conn
	defer func() {
		cancel()
		for _, c := range conns {
			_ = c.MustDisconnect()
		}
		wg.Wait()
		dctx, dcancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer dcancel()
		if err := b.cleanup.DeleteScope(dctx, scope); err != nil {
			fmt.Fprintf(b.log, "stomp/bare: deleting the run's queues: %v\n", err)
		}
	}()
	connect := func(name string) (*stomp.Conn, error) {
		c, err := b.dial(ctx, name)
		if err == nil {
			conns = append(conns, c)
		}
		return c, err
	}
	subscribe := func(name string, q int) (*stomp.Conn, *stomp.Subscription, error) {
		c, err := connect(name)
		if err != nil {
			return nil, nil, err
		}
		sub, err := c.Subscribe(dest(q), stomp.AckClientIndividual,
			stomp.SubscribeOpt.Header("consumer-window-size", strconv.Itoa(bareSTOMPWindow)))
		if err != nil {
			return nil, nil, fmt.Errorf("subscribing to %s: %w", dest(q), err)
		}
		return c, sub, nil
	}
	send := func(c *stomp.Conn, q int, body []byte) error {
		return c.Send(dest(q), "application/octet-stream", body,
			stomp.SendOpt.Receipt, stomp.SendOpt.Header("persistent", "true"))
	}

	rec := newRecorder(s.n)
	sinkConn, sinkSub, err := subscribe("bench-sink", 2)
	if err != nil {
		return nil, none, err
	}
	wg.Go(func() {
		for m := range sinkSub.C {
			if m.Err != nil {
				if ctx.Err() == nil {
					rec.clientErrors.Add(1)
					fmt.Fprintf(b.log, "stomp/bare: sink: %v\n", m.Err)
				}
				return
			}
			rec.Arrive(bornOf(m.Body))
			if err := sinkConn.Ack(m); err != nil {
				b.clientError(ctx, rec, "sink ack", err)
			}
		}
	})

	relayConn, relaySub, err := subscribe("bench-relay", 1)
	if err != nil {
		return nil, none, err
	}
	for k := range bareSTOMPSenders {
		relayOut, err := connect(fmt.Sprintf("bench-relay-out-%d", k))
		if err != nil {
			return nil, none, err
		}
		wg.Go(func() {
			for m := range relaySub.C {
				if m.Err != nil {
					if ctx.Err() == nil {
						rec.clientErrors.Add(1)
						fmt.Fprintf(b.log, "stomp/bare: relay: %v\n", m.Err)
					}
					return
				}
				if err := send(relayOut, 2, m.Body); err != nil {
					b.clientError(ctx, rec, "relay send", err)
					_ = relayConn.Nack(m)
					continue
				}
				if err := relayConn.Ack(m); err != nil {
					b.clientError(ctx, rec, "relay ack", err)
				}
			}
		})
	}

	senders := bareSTOMPSenders
	if s.rate > 0 {
		senders = 1 // paced: one message at a time, on schedule
	}
	prods := make([]*stomp.Conn, senders)
	for k := range prods {
		if prods[k], err = connect(fmt.Sprintf("bench-producer-%d", k)); err != nil {
			return nil, none, err
		}
	}
	start := time.Now()
	rec.Begin(start)
	var next atomic.Int64
	errs := make([]error, senders)
	var prodWG sync.WaitGroup
	for w := range senders {
		prodWG.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= s.n {
					return
				}
				if !sleepUntil(ctx, dueAt(start, i, s.rate)) {
					errs[w] = ctx.Err()
					return
				}
				if err := send(prods[w], 1, newBody(s.size)); err != nil {
					errs[w] = fmt.Errorf("sending to %s: %w", dest(1), err)
					cancel()
					return
				}
			}
		})
	}
	prodWG.Wait()
	if err := errors.Join(errs...); err != nil {
		return rec, none, err
	}
	select {
	case <-rec.done:
		return rec, none, nil
	case <-ctx.Done():
		return rec, none, fmt.Errorf("%d of %d messages reached the sink: %w", rec.count.Load(), s.n, ctx.Err())
	}
}

// quietLogger drops go-stomp's messages: a subscription's "write channel
// closed" at every teardown is not news, and real errors reach the
// subscriptions' channels anyway.
type quietLogger struct{}

func (quietLogger) Debugf(string, ...any)   {}
func (quietLogger) Debug(string)            {}
func (quietLogger) Infof(string, ...any)    {}
func (quietLogger) Info(string)             {}
func (quietLogger) Warningf(string, ...any) {}
func (quietLogger) Warning(string)          {}
func (quietLogger) Errorf(string, ...any)   {}
func (quietLogger) Error(string)            {}

// clientError counts an error of a running stage (not of the teardown).
func (b *bareSTOMP) clientError(ctx context.Context, rec *recorder, what string, err error) {
	if ctx.Err() != nil {
		return
	}
	rec.clientErrors.Add(1)
	fmt.Fprintf(b.log, "stomp/bare: %s: %v\n", what, err)
}
