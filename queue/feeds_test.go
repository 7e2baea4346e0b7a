package queue

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type fakeFeed struct {
	stopped chan struct{}
	done    chan struct{}
}

func newFakeFeed() *fakeFeed {
	return &fakeFeed{stopped: make(chan struct{}), done: make(chan struct{})}
}

func (f *fakeFeed) Stop()                 { close(f.stopped) }
func (f *fakeFeed) Done() <-chan struct{} { return f.done }

func TestFeedsCloseStopsAndWaits(t *testing.T) {
	var fs Feeds[*fakeFeed]
	a, b, gone := newFakeFeed(), newFakeFeed(), newFakeFeed()
	require.True(t, fs.Add(a))
	require.True(t, fs.Add(b))
	require.True(t, fs.Add(gone))
	fs.Remove(gone)

	// Each feed ends once told to stop.
	for _, f := range []*fakeFeed{a, b} {
		go func() { <-f.stopped; close(f.done) }()
	}
	require.NoError(t, fs.Close(context.Background()))
	select {
	case <-gone.stopped:
		t.Fatal("a removed feed was stopped")
	default:
	}
	require.False(t, fs.Add(newFakeFeed()), "no feed is taken after Close")
}

func TestFeedsCloseGivesUpWithContext(t *testing.T) {
	var fs Feeds[*fakeFeed]
	stuck := newFakeFeed() // never ends
	require.True(t, fs.Add(stuck))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := fs.Close(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	<-stuck.stopped
}
