package embeddings_test

import (
	"testing"

	"go.uber.org/goleak"
)

// The batcher runs goroutines; every test must leave none behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
