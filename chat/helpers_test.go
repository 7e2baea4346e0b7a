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

// service is a chat service over the fixture, searching searchtest.Slot384 by
// default and completing with reg (the fixture's offline registry when
// nil).
func service(f *searchtest.Fixture, t *testing.T, reg *llm.Registry) *chat.Service {
	t.Helper()
	if reg == nil {
		reg = f.Reg
	}
	s := search.New(f.V, reg, search.Options{DefaultModel: searchtest.Slot384})
	return chat.New(s, f.V, f.DB.ChatThreads(), reg, chat.Options{})
}
