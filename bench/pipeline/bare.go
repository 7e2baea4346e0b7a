package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	natsq "github.com/factflow/factflow/queue/nats"
)

// The bare variants are what a careful hand-written nats.go program gets
// out of the same embedded server: the broker's ceiling on this machine.
//
//	bare1: producer → q1 → sink
//	bare3: producer → q1 → relay → q2 → sink
//
// bare3 has the shape of the Factflow pipeline a → b → c: a generator
// publishes every message once, one stage consumes and forwards it, the
// last stage consumes it. Each stage has its own connection; publishes are
// asynchronous, pulls batched (up to pullBatch messages buffered), and the
// relay acks a message only once the server stored its copy downstream.

const (
	pullBatch = 512
	// A pull request the server never answers is noticed by missed
	// heartbeats only, after two of them: nats.go's defaults (30s expiry,
	// 15s heartbeat) stall a stage for 30s when that happens, which a run
	// here once did. Short ones bound the stall to about 2s.
	pullExpiry    = 5 * time.Second
	pullHeartbeat = time.Second
	// relayWindow bounds the relay's messages awaiting their downstream
	// acknowledgement (the consumer's MaxAckPending bounds it as well).
	relayWindow   = 2048
	bareAckWait   = 30 * time.Second
	bareStreamPfx = "BENCH_"
)

// bareServer is an embedded NATS server configured like the one the
// container starts (queue/nats.StartServer): JetStream on a file store,
// lazy disk sync, in-process connections only. With url set instead it
// stands for an external server (the -brokers comparison).
type bareServer struct {
	ns  *server.Server
	url string
}

func externalNATS(url string) *bareServer { return &bareServer{url: url} }

func startBareServer(dir string) (*bareServer, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("creating NATS store directory: %w", err)
	}
	ns, err := server.NewServer(&server.Options{
		ServerName: "bench-bare",
		JetStream:  true,
		StoreDir:   dir,
		MaxPayload: natsq.DefaultMaxPayload,
		NoSigs:     true,
		NoLog:      true,
		DontListen: true,
	})
	if err != nil {
		return nil, fmt.Errorf("configuring embedded NATS: %w", err)
	}
	ns.Start()
	if !ns.ReadyForConnections(30 * time.Second) {
		ns.Shutdown()
		return nil, errors.New("embedded NATS did not start within 30s")
	}
	return &bareServer{ns: ns}, nil
}

func (s *bareServer) shutdown() {
	if s.ns == nil {
		return
	}
	s.ns.Shutdown()
	s.ns.WaitForShutdown()
}

func (s *bareServer) connect(name string) (*nats.Conn, jetstream.JetStream, error) {
	url, opts := s.url, []nats.Option{nats.Name(name)}
	if s.ns != nil {
		url, opts = nats.DefaultURL, append(opts, nats.InProcessServer(s.ns))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("connecting %s: %w", name, err)
	}
	// A PubAck that never comes must still resolve its future, or the
	// relay's in-order acker would wait for it forever.
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(bareAckWait))
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("opening JetStream for %s: %w", name, err)
	}
	return nc, js, nil
}

// bareRun is one run of a bare variant.
type bareRun struct {
	srv    *bareServer
	stages int // 1 or 3
	n      int
	size   int
	rate   float64 // messages per second offered; 0 = as fast as possible
	log    io.Writer
}

func (b bareRun) run(ctx context.Context) (*recorder, error) {
	id := newRunID()
	stream := bareStreamPfx + id
	subject := func(q int) string { return fmt.Sprintf("bench.%s.q%d", id, q) }

	var conns []*nats.Conn
	defer func() {
		for _, nc := range conns {
			nc.Close()
		}
	}()
	connect := func(name string) (jetstream.JetStream, error) {
		nc, js, err := b.srv.connect(name)
		if err != nil {
			return nil, err
		}
		conns = append(conns, nc)
		return js, nil
	}

	admin, err := connect("bench-admin")
	if err != nil {
		return nil, err
	}
	if _, err := admin.CreateStream(ctx, jetstream.StreamConfig{
		Name:      stream,
		Subjects:  []string{"bench." + id + ".>"},
		Retention: jetstream.WorkQueuePolicy,
		Storage:   jetstream.FileStorage,
	}); err != nil {
		return nil, fmt.Errorf("creating stream %s: %w", stream, err)
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = admin.DeleteStream(dctx, stream)
	}()
	consumer := func(js jetstream.JetStream, q int) (jetstream.Consumer, error) {
		c, err := js.CreateOrUpdateConsumer(ctx, stream, jetstream.ConsumerConfig{
			Durable:       fmt.Sprintf("q%d", q),
			FilterSubject: subject(q),
			AckPolicy:     jetstream.AckExplicitPolicy,
			AckWait:       bareAckWait,
			MaxAckPending: relayWindow,
		})
		if err != nil {
			return nil, fmt.Errorf("creating consumer on %s: %w", subject(q), err)
		}
		return c, nil
	}

	rec := newRecorder(b.n)
	pullOpts := []jetstream.PullConsumeOpt{
		jetstream.PullMaxMessages(pullBatch),
		jetstream.PullExpiry(pullExpiry),
		jetstream.PullHeartbeat(pullHeartbeat),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			rec.clientErrors.Add(1)
			fmt.Fprintf(b.log, "bare%d: consume error: %v\n", b.stages, err)
		}),
	}
	sinkQ := 1
	if b.stages == 3 {
		sinkQ = 2
	}

	// Sink: count, record latency, ack.
	sinkJS, err := connect("bench-sink")
	if err != nil {
		return nil, err
	}
	sinkCons, err := consumer(sinkJS, sinkQ)
	if err != nil {
		return nil, err
	}
	sinkCtx, err := sinkCons.Consume(func(m jetstream.Msg) {
		rec.Arrive(bornOf(m.Data()))
		_ = m.Ack()
	}, pullOpts...)
	if err != nil {
		return nil, fmt.Errorf("consuming %s: %w", subject(sinkQ), err)
	}
	defer sinkCtx.Stop()

	// Relay: forward asynchronously; ack upstream after the downstream
	// PubAck, in order, on a goroutine of its own.
	if b.stages == 3 {
		relayJS, err := connect("bench-relay")
		if err != nil {
			return nil, err
		}
		relayCons, err := consumer(relayJS, 1)
		if err != nil {
			return nil, err
		}
		type inflight struct {
			f jetstream.PubAckFuture
			m jetstream.Msg
		}
		pending := make(chan inflight, relayWindow)
		var acker sync.WaitGroup
		acker.Go(func() {
			for p := range pending {
				select {
				case <-p.f.Ok():
					_ = p.m.Ack()
				case <-p.f.Err():
					_ = p.m.Nak()
				}
			}
		})
		relayCtx, err := relayCons.Consume(func(m jetstream.Msg) {
			f, err := relayJS.PublishAsync(subject(2), m.Data())
			if err != nil {
				_ = m.Nak()
				return
			}
			pending <- inflight{f, m}
		}, pullOpts...)
		if err != nil {
			return nil, fmt.Errorf("consuming %s: %w", subject(1), err)
		}
		defer func() {
			relayCtx.Stop()
			<-relayCtx.Closed()
			close(pending)
			acker.Wait()
		}()
	}

	// Producer: stamp each message with its birth time as it is published.
	prodJS, err := connect("bench-producer")
	if err != nil {
		return nil, err
	}
	start := time.Now()
	rec.Begin(start)
	var interval time.Duration
	if b.rate > 0 {
		interval = time.Duration(float64(time.Second) / b.rate)
	}
	for i := range b.n {
		if interval > 0 {
			if !sleepUntil(ctx, start.Add(time.Duration(i)*interval)) {
				return rec, ctx.Err()
			}
		}
		body := make([]byte, max(b.size, 8))
		for {
			binary.BigEndian.PutUint64(body, uint64(time.Now().UnixNano()))
			_, err := prodJS.PublishAsync(subject(1), body)
			if err == nil {
				break
			}
			if !errors.Is(err, jetstream.ErrTooManyStalledMsgs) {
				return rec, fmt.Errorf("publishing to %s: %w", subject(1), err)
			}
			if ctx.Err() != nil {
				return rec, ctx.Err()
			}
		}
	}
	select {
	case <-prodJS.PublishAsyncComplete():
	case <-ctx.Done():
		return rec, fmt.Errorf("waiting for publish acknowledgements: %w", ctx.Err())
	}
	select {
	case <-rec.done:
		return rec, nil
	case <-ctx.Done():
		return rec, fmt.Errorf("%d of %d messages reached the sink: %w", rec.count.Load(), b.n, ctx.Err())
	}
}

// bareNATS is bare3 as a runner of the -brokers comparison.
type bareNATS struct {
	srv *bareServer
	log io.Writer
}

func (b bareNATS) run(ctx context.Context, s runSpec) (*recorder, engineOutcome, error) {
	rec, err := bareRun{srv: b.srv, stages: 3, n: s.n, size: s.size, rate: s.rate, log: b.log}.run(ctx)
	return rec, engineOutcome{}, err
}

// newBody is a message of about size bytes carrying its birth time (now)
// in its first 8 bytes.
func newBody(size int) []byte {
	body := make([]byte, max(size, 8))
	binary.BigEndian.PutUint64(body, uint64(time.Now().UnixNano()))
	return body
}

// dueAt is when message i of a run started at start is due at rate
// messages/s (start itself when rate is 0: as fast as possible).
func dueAt(start time.Time, i int, rate float64) time.Time {
	if rate <= 0 {
		return start
	}
	return start.Add(time.Duration(float64(i) * float64(time.Second) / rate))
}

// bornOf reads the birth time a bare message carries in its first 8 bytes.
func bornOf(body []byte) int64 {
	if len(body) < 8 {
		return time.Now().UnixNano()
	}
	return int64(binary.BigEndian.Uint64(body))
}

// sleepUntil waits until t, reporting false when ctx ended first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}
