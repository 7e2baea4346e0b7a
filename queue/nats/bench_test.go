package nats

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/queue"
)

// The benchmarks move 1 KiB messages through the embedded server and
// report msgs/s counted where the messages end. BenchmarkBareJetStream is
// the ceiling on the same machine in the same run: raw nats.go with async
// publishes and Fetch(200)+Ack, the loop the provider's figures are
// compared against.

var benchBody = make([]byte, 1024)

type benchEnv struct {
	srv *Server
	p   *Provider
}

func newBenchEnv(b *testing.B, listen bool) benchEnv {
	b.Helper()
	opts := ServerOptions{StoreDir: b.TempDir()}
	if listen {
		opts.Listen = "127.0.0.1:0"
	}
	srv, err := StartServer(context.Background(), opts)
	require.NoError(b, err)
	b.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	cfg := Config{}
	if listen {
		cfg.URL = srv.ClientURL()
	} else {
		cfg.Server = srv
	}
	p, err := New(context.Background(), cfg)
	require.NoError(b, err)
	b.Cleanup(func() { _ = p.Close(context.Background()) })
	return benchEnv{srv: srv, p: p}
}

// seed publishes n messages in batches of 100 from one goroutine.
func seed(ctx context.Context, p queue.Provider, dst queue.Destination, n int) error {
	batch := make([]queue.Message, 0, 100)
	for i := 0; i < n; i += len(batch) {
		batch = batch[:0]
		for j := 0; j < 100 && i+j < n; j++ {
			batch = append(batch, queue.Message{Headers: map[string]string{queue.HeaderAttempt: "1"}, Body: benchBody})
		}
		if err := p.Publish(ctx, dst, batch...); err != nil {
			return err
		}
	}
	return nil
}

func reportRate(b *testing.B, start time.Time) {
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

// BenchmarkPublishConsume: publish in batches, one subscription consumes
// and acks.
func BenchmarkPublishConsume(b *testing.B) {
	for _, mode := range []struct {
		name   string
		listen bool
	}{{"inprocess", false}, {"tcp", true}} {
		b.Run(mode.name, func(b *testing.B) {
			env := newBenchEnv(b, mode.listen)
			ctx := context.Background()
			dst := queue.Destination{Execution: queue.NewMessageID(), Queue: "bench"}
			var got atomic.Int64
			done := make(chan struct{})
			target := int64(b.N)
			sub, err := env.p.Subscribe(ctx, dst, queue.SubscribeOptions{Concurrency: 8, Prefetch: 256}, func(context.Context, queue.Delivery) queue.Outcome {
				if got.Add(1) == target {
					close(done)
				}
				return queue.Ack()
			})
			require.NoError(b, err)
			defer func() { _ = sub.Close(ctx) }()

			b.ResetTimer()
			start := time.Now()
			require.NoError(b, seed(ctx, env.p, dst, b.N))
			<-done
			reportRate(b, start)
		})
	}
}

// BenchmarkPipeline3 runs three routes in a row (q1 → q2 → q3): each
// handler publishes one message to the next queue and waits for the
// server to store it before acking its own, as the engine does.
func BenchmarkPipeline3(b *testing.B) {
	env := newBenchEnv(b, false)
	ctx := context.Background()
	exec := queue.NewMessageID()
	q := func(name string) queue.Destination { return queue.Destination{Execution: exec, Queue: name} }
	opts := queue.SubscribeOptions{Concurrency: 30, Prefetch: 256}
	forward := func(next queue.Destination) queue.Handler {
		return func(ctx context.Context, d queue.Delivery) queue.Outcome {
			out := queue.Message{Headers: map[string]string{queue.HeaderAttempt: "1"}, Body: d.Body}
			if err := env.p.Publish(ctx, next, out); err != nil {
				return queue.Retry(time.Second)
			}
			return queue.Ack()
		}
	}
	var got atomic.Int64
	done := make(chan struct{})
	target := int64(b.N)
	for _, r := range []struct {
		in queue.Destination
		h  queue.Handler
	}{
		{q("q1"), forward(q("q2"))},
		{q("q2"), forward(q("q3"))},
		{q("q3"), func(context.Context, queue.Delivery) queue.Outcome {
			if got.Add(1) == target {
				close(done)
			}
			return queue.Ack()
		}},
	} {
		sub, err := env.p.Subscribe(ctx, r.in, opts, r.h)
		require.NoError(b, err)
		defer func() { _ = sub.Close(ctx) }()
	}

	b.ResetTimer()
	start := time.Now()
	require.NoError(b, seed(ctx, env.p, q("q1"), b.N))
	<-done
	reportRate(b, start)
}

// BenchmarkBareJetStream is the raw client doing the same work as
// BenchmarkPublishConsume.
func BenchmarkBareJetStream(b *testing.B) {
	srv, err := StartServer(context.Background(), ServerOptions{StoreDir: b.TempDir()})
	require.NoError(b, err)
	defer func() { _ = srv.Shutdown(context.Background()) }()
	nc, err := nats.Connect(nats.DefaultURL, nats.InProcessServer(srv.ns))
	require.NoError(b, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(b, err)
	ctx := context.Background()
	_, err = js.CreateStream(ctx, jetstream.StreamConfig{Name: "BARE", Subjects: []string{"bare.>"}, Retention: jetstream.WorkQueuePolicy, Storage: jetstream.FileStorage})
	require.NoError(b, err)
	cons, err := js.CreateOrUpdateConsumer(ctx, "BARE", jetstream.ConsumerConfig{Durable: "bare", AckPolicy: jetstream.AckExplicitPolicy})
	require.NoError(b, err)

	done := make(chan struct{})
	go func() {
		defer close(done)
		for got := 0; got < b.N; {
			batch, err := cons.Fetch(200, jetstream.FetchMaxWait(5*time.Second))
			if err != nil {
				b.Error(err)
				return
			}
			for m := range batch.Messages() {
				_ = m.Ack()
				got++
			}
		}
	}()

	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := js.PublishAsync("bare.q", benchBody); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(time.Minute):
		b.Fatal("publish acks did not arrive")
	}
	<-done
	reportRate(b, start)
}
