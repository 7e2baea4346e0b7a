package fs

import (
	"context"
	"fmt"
	"io"

	"github.com/factflow/factflow/storage"
)

// Get implements storage.Store. The returned reader holds the content as it
// was when Get opened it, even if the key is rewritten or deleted meanwhile.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, storage.ObjectInfo, error) {
	if err := storage.ValidateKey(key); err != nil {
		return nil, storage.ObjectInfo{}, err
	}
	if err := ctx.Err(); err != nil {
		return nil, storage.ObjectInfo{}, fmt.Errorf("reading %s: %w", key, err)
	}
	file := name(key)
	l := s.lock(key)
	l.RLock()
	defer l.RUnlock()
	f, err := s.root.Open(file)
	if err != nil {
		return nil, storage.ObjectInfo{}, s.mapErr("reading", key, err)
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, storage.ObjectInfo{}, fmt.Errorf("reading %s: %w", key, err)
	}
	if !fi.Mode().IsRegular() {
		_ = f.Close()
		return nil, storage.ObjectInfo{}, fmt.Errorf("reading %s: %w: it is a folder", key, storage.ErrNotFound)
	}
	sc, ok, err := s.readSidecar(file)
	if err != nil {
		_ = f.Close()
		return nil, storage.ObjectInfo{}, fmt.Errorf("reading %s: %w", key, err)
	}
	return f, objectInfo(key, fi, sc, ok), nil
}

// Stat implements storage.Store.
func (s *Store) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	if err := storage.ValidateKey(key); err != nil {
		return storage.ObjectInfo{}, err
	}
	if err := ctx.Err(); err != nil {
		return storage.ObjectInfo{}, fmt.Errorf("inspecting %s: %w", key, err)
	}
	l := s.lock(key)
	l.RLock()
	defer l.RUnlock()
	return s.stat(key)
}

// stat reads an object's info; the caller holds the key's lock.
func (s *Store) stat(key string) (storage.ObjectInfo, error) {
	file := name(key)
	fi, err := s.root.Stat(file)
	if err != nil {
		return storage.ObjectInfo{}, s.mapErr("inspecting", key, err)
	}
	if !fi.Mode().IsRegular() {
		return storage.ObjectInfo{}, fmt.Errorf("inspecting %s: %w: it is a folder", key, storage.ErrNotFound)
	}
	sc, ok, err := s.readSidecar(file)
	if err != nil {
		return storage.ObjectInfo{}, fmt.Errorf("inspecting %s: %w", key, err)
	}
	return objectInfo(key, fi, sc, ok), nil
}
