package fs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"syscall"

	"github.com/factflow/factflow/storage"
)

// Delete implements storage.Store. It also removes folders the deletion
// left empty, up to the root, so the tree does not fill with husks.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := storage.ValidateKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("deleting %s: %w", key, err)
	}
	file := name(key)
	l := s.lock(key)
	l.Lock()
	defer l.Unlock()
	fi, err := s.root.Lstat(file)
	switch {
	case err == nil && fi.IsDir():
		return nil // a folder, not an object: nothing to delete
	case err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR):
		return s.mapErr("deleting", key, err)
	}
	// The sidecar goes even when the content is already gone, so a
	// half-finished earlier delete completes.
	for _, f := range []string{file, file + storage.MetaSuffix} {
		if err := s.root.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
			return s.mapErr("deleting", key, err)
		}
	}
	dir := filepath.Dir(file)
	if s.sync && dir != "." {
		// Best effort: the folder may already be pruned by a neighbour.
		_ = s.syncDir(dir)
	}
	s.pruneEmpty(dir)
	return nil
}

// pruneEmpty removes dir and its ancestors while they are empty folders.
// A concurrent Put recreates what it needs (see createTemp), and a folder
// holding anything, even a temporary file, is never removed.
func (s *Store) pruneEmpty(dir string) {
	for ; dir != "." && dir != string(filepath.Separator); dir = filepath.Dir(dir) {
		fi, err := s.root.Lstat(dir)
		if err != nil || !fi.IsDir() {
			return // a symbolic link to a folder is the user's; keep it
		}
		if s.root.Remove(dir) != nil {
			return
		}
	}
}
