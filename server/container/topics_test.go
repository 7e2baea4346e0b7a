package container_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/orchestrator"
	"github.com/factflow/factflow/pipeline"
	"github.com/factflow/factflow/queue"
	"github.com/factflow/factflow/queue/queuetest"
	"github.com/factflow/factflow/server/container"
	"github.com/factflow/factflow/storage"
	"github.com/factflow/factflow/store"
	"github.com/factflow/factflow/store/storetest"
)

// Execution and storage events reach the system topics of the broker,
// where a consumer outside the process can follow every execution.
// Every broker carries them: the in-process NATS and each external one.
func TestSystemTopics(t *testing.T) {
	t.Parallel()
	t.Run("embedded", func(t *testing.T) {
		t.Parallel()
		testSystemTopics(t, "")
	})
	for _, b := range queuetest.Brokers {
		t.Run(b.Service, func(t *testing.T) {
			t.Parallel()
			testSystemTopics(t, b.URL(t, false).String())
		})
	}
}

func testSystemTopics(t *testing.T, queueURL string) {
	c := start(t, container.Config{DataDir: t.TempDir(), DatabaseURL: storetest.URL(t), QueueURL: queueURL})
	require.NotNil(t, c.Topics, "the broker has topics")
	prov, ok := c.Queue.(queuetest.TopicProvider)
	require.True(t, ok, "%T has no topics", c.Queue)

	var mu sync.Mutex
	got := map[string][]store.ExecutionEvent{}
	for _, topic := range []string{orchestrator.TopicPipelineEvents, orchestrator.TopicStorageEvents} {
		unsub, err := prov.SubscribeTopic(context.Background(), topic, func(m queue.Message) {
			var ev store.ExecutionEvent
			if json.Unmarshal(m.Body, &ev) == nil {
				mu.Lock()
				got[topic] = append(got[topic], ev)
				mu.Unlock()
			}
		})
		require.NoError(t, err)
		t.Cleanup(func() { _ = unsub() })
	}

	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.txt"), []byte("alpha"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "b.txt"), []byte("beta"), 0o644))
	p, rep := pipeline.Load([]byte(`
version: "1.0"
routes:
  scan:
    inbound: { queue: t.scan }
    adapters: [ { type: file_source } ]
init_message: { route: scan, payload: { root: "`+dir+`" } }
`), c.Registry)
	require.True(t, rep.Valid(), rep.Findings)
	ex, err := c.Manager.Start(context.Background(), orchestrator.StartRequest{Pipeline: p, ConfigName: "topics"})
	require.NoError(t, err)
	<-ex.Done()

	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		completed := false
		for _, ev := range got[orchestrator.TopicPipelineEvents] {
			if ev.ExecutionID == ex.ID && ev.Type == store.EventStatus && ev.Status == store.StatusCompleted {
				completed = true
			}
		}
		objects := 0
		for _, ev := range got[orchestrator.TopicStorageEvents] {
			if ev.ExecutionID == ex.ID && ev.Type == storage.EventObjectCreated {
				objects++
			}
		}
		return completed && objects == 2
	}, 10*time.Second, 20*time.Millisecond, "the completed status and both copies reach the topics")
	sent, failed := c.Topics.Counts()
	require.Positive(t, sent)
	require.Zero(t, failed)
	for _, ev := range got[orchestrator.TopicPipelineEvents] {
		require.NotEqual(t, store.EventStage, ev.Type, "stage events stay in the process")
	}
}
