package fs_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/storage"
	"github.com/factflow/factflow/storage/fs"
	"github.com/factflow/factflow/storage/storagetest"
)

func newStore(t *testing.T, opts ...fs.Option) *fs.Store {
	t.Helper()
	s, err := fs.New(t.TempDir(), opts...)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

func TestContract(t *testing.T) {
	t.Parallel()
	storagetest.Run(t, func(t *testing.T) storage.Store { return newStore(t) })
}

// One store shared by every check, as a long-running server has it.
func TestContractSharedStoreWithoutSync(t *testing.T) {
	t.Parallel()
	s := newStore(t, fs.WithSync(false))
	storagetest.Run(t, func(*testing.T) storage.Store { return s })
}
