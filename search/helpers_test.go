package search_test

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/factflow/factflow/search"
	"github.com/factflow/factflow/search/searchtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func service(f *searchtest.Fixture, opts search.Options) *search.Service {
	return search.New(f.V, f.Reg, opts)
}
