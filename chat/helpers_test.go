package chat_test

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/factflow/factflow/chat"
	"github.com/factflow/factflow/llm"
	"github.com/factflow/factflow/search"
	"github.com/factflow/factflow/search/searchtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

type fixture = searchtest.Fixture

func newFixture(t *testing.T, slots ...string) *fixture { return searchtest.New(t, slots...) }

const (
	slot384 = searchtest.Slot384
	slot256 = searchtest.Slot256
)

var corpus = searchtest.Corpus

// service is a chat service over the fixture, searching slot384 by
// default and completing with reg (the fixture's offline registry when
// nil).
func service(f *fixture, t *testing.T, reg *llm.Registry) *chat.Service {
	t.Helper()
	if reg == nil {
		reg = f.Reg
	}
	s := search.New(f.V, reg, search.Options{DefaultModel: slot384})
	return chat.New(s, f.V, f.DB.ChatThreads(), reg, chat.Options{})
}
