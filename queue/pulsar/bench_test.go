package pulsar

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/queue"
)

// The benchmarks move 1 KiB messages through the broker under test and
// report msgs/s counted where the messages end. BenchmarkBarePulsar is the
// ceiling in the same run: raw pulsar-client-go with async sends and a
// consumer with a 1000-message receiver queue and individual acks.

var benchBody = make([]byte, 1024)

func benchProvider(b *testing.B) *Provider {
	b.Helper()
	u, a := brokerURLs(b)
	p, err := New(context.Background(), testConfig(u, a))
	require.NoError(b, err)
	b.Cleanup(func() { _ = p.Close(context.Background()) })
	return p
}

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

func BenchmarkPublish(b *testing.B) {
	p := benchProvider(b)
	dst := queue.Destination{Execution: queue.NewMessageID(), Queue: "bench"}
	b.Cleanup(func() { _ = p.DeleteScope(context.Background(), dst.Execution) })
	b.ResetTimer()
	start := time.Now()
	require.NoError(b, seed(context.Background(), p, dst, b.N))
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

func BenchmarkConsume(b *testing.B) {
	p := benchProvider(b)
	dst := queue.Destination{Execution: queue.NewMessageID(), Queue: "bench"}
	b.Cleanup(func() { _ = p.DeleteScope(context.Background(), dst.Execution) })
	require.NoError(b, seed(context.Background(), p, dst, b.N))
	var n atomic.Int64
	done := make(chan struct{})
	b.ResetTimer()
	start := time.Now()
	sub, err := p.Subscribe(context.Background(), dst, queue.SubscribeOptions{Concurrency: 8, Prefetch: 64},
		func(context.Context, queue.Delivery) queue.Outcome {
			if n.Add(1) == int64(b.N) {
				close(done)
			}
			return queue.Ack()
		})
	require.NoError(b, err)
	<-done
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	require.NoError(b, sub.Close(context.Background()))
}

func BenchmarkBarePulsar(b *testing.B) {
	p := benchProvider(b)
	dst := queue.Destination{Execution: queue.NewMessageID(), Queue: "bare"}
	b.Cleanup(func() { _ = p.DeleteScope(context.Background(), dst.Execution) })
	topic, err := p.names.topic(dst)
	require.NoError(b, err)
	cons, err := p.client.Subscribe(pulsar.ConsumerOptions{Topic: topic, SubscriptionName: "bare", Type: pulsar.Shared, ReceiverQueueSize: 1000})
	require.NoError(b, err)
	defer cons.Close()
	prod, err := p.client.CreateProducer(pulsar.ProducerOptions{Topic: topic, SendTimeout: testSendTimeout, DisableBatching: true})
	require.NoError(b, err)
	defer prod.Close()
	b.ResetTimer()
	start := time.Now()
	go func() {
		for range b.N {
			prod.SendAsync(context.Background(), &pulsar.ProducerMessage{Payload: benchBody}, func(pulsar.MessageID, *pulsar.ProducerMessage, error) {})
		}
	}()
	for range b.N {
		m, err := cons.Receive(context.Background())
		require.NoError(b, err)
		require.NoError(b, cons.Ack(m))
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}
