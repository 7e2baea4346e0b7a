package fs

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/factflow/factflow/storage"
)

// tempSuffix ends every temporary file. A name ending in it is neither a
// key (ValidateKey rejects segments ending in .meta.json) nor the sidecar
// of one (that key would end in .meta.json too).
const tempSuffix = storage.MetaSuffix + storage.MetaSuffix

// mkdirRetries bounds how often Put recreates a folder that a concurrent
// Delete pruned between MkdirAll and the temp file's creation.
const mkdirRetries = 16

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 128<<10); return &b }}

// Put implements storage.Store.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, meta storage.Metadata) (storage.ObjectInfo, error) {
	if err := storage.ValidateKey(key); err != nil {
		return storage.ObjectInfo{}, err
	}
	if r == nil {
		return storage.ObjectInfo{}, fmt.Errorf("storing %s: no content reader", key)
	}
	upd, err := encodeMeta(meta)
	if err != nil {
		return storage.ObjectInfo{}, fmt.Errorf("storing %s: %w", key, err)
	}
	if err := ctx.Err(); err != nil {
		return storage.ObjectInfo{}, fmt.Errorf("storing %s: %w", key, err)
	}
	file := name(key)
	dir := filepath.Dir(file)

	tmp, err := s.createTemp(key, dir)
	if err != nil {
		return storage.ObjectInfo{}, err
	}
	tmpName := filepath.Join(dir, filepath.Base(tmp.Name()))
	committed := false
	defer func() {
		if !committed {
			_ = s.root.Remove(tmpName)
		}
	}()

	h := md5.New()
	buf := copyBufs.Get().(*[]byte)
	size, err := io.CopyBuffer(io.MultiWriter(tmp, h), &ctxReader{ctx: ctx, r: r}, *buf)
	copyBufs.Put(buf)
	if err == nil && s.sync {
		err = tmp.Sync()
	}
	var fi fs.FileInfo
	if err == nil {
		fi, err = tmp.Stat()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return storage.ObjectInfo{}, fmt.Errorf("storing %s: %w", key, err)
	}
	etag := hex.EncodeToString(h.Sum(nil))

	l := s.lock(key)
	l.Lock()
	defer l.Unlock()
	// Last chance to back out: after the first rename the write is visible.
	if err := ctx.Err(); err != nil {
		return storage.ObjectInfo{}, fmt.Errorf("storing %s: %w", key, err)
	}
	// Merge only into a live object: a sidecar without content is left over
	// from an interrupted delete and must not leak into a new object. An
	// unreadable sidecar cannot be preserved; the rewrite replaces it.
	var old sidecar
	if cur, err := s.root.Stat(file); err == nil && cur.Mode().IsRegular() {
		if sc, _, err := s.readSidecar(file); err == nil {
			old = sc
		}
	}
	scData, err := mergeSidecar(key, old.raw, upd, size, etag, fi.ModTime())
	if err != nil {
		return storage.ObjectInfo{}, fmt.Errorf("storing %s: encoding metadata: %w", key, err)
	}
	sc, err := parseSidecar(scData)
	if err != nil {
		return storage.ObjectInfo{}, fmt.Errorf("storing %s: encoding metadata: %w", key, err)
	}
	scTmpName, err := s.writeTemp(key, dir, scData)
	if err != nil {
		return storage.ObjectInfo{}, err
	}
	// Content first: if the key cannot take a file (it is a folder), nothing
	// has changed yet.
	if err := s.root.Rename(tmpName, file); err != nil {
		_ = s.root.Remove(scTmpName)
		if errors.Is(err, syscall.EISDIR) || errors.Is(err, syscall.EEXIST) || errors.Is(err, syscall.ENOTEMPTY) {
			return storage.ObjectInfo{}, fmt.Errorf("storing %s: %w: a folder has that name", key, ErrKeyConflict)
		}
		return storage.ObjectInfo{}, s.mapErr("storing", key, err)
	}
	committed = true
	if err := s.root.Rename(scTmpName, file+storage.MetaSuffix); err != nil {
		_ = s.root.Remove(scTmpName)
		return storage.ObjectInfo{}, s.mapErr("storing metadata of", key, err)
	}
	if s.sync {
		if err := s.syncDir(dir); err != nil {
			return storage.ObjectInfo{}, fmt.Errorf("storing %s: %w", key, err)
		}
	}
	return objectInfo(key, fi, sc, true), nil
}

// createTemp creates an empty temporary file in dir, creating dir first.
func (s *Store) createTemp(key, dir string) (*os.File, error) {
	for attempt := 0; ; attempt++ {
		if dir != "." {
			err := s.root.MkdirAll(dir, 0o755)
			switch {
			case err == nil:
			case s.objectInPath(dir):
				return nil, fmt.Errorf("storing %s: %w: an object has the name of one of its folders", key, ErrKeyConflict)
			case (errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrExist) || errors.Is(err, syscall.ENOTDIR)) && attempt < mkdirRetries:
				// A concurrent Delete pruned a folder between two steps of
				// MkdirAll.
				continue
			default:
				return nil, s.mapErr("storing", key, err)
			}
		}
		f, err := s.root.OpenFile(filepath.Join(dir, ".tmp-"+rand.Text()+tempSuffix), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		switch {
		case err == nil:
			return f, nil
		case errors.Is(err, fs.ErrExist), errors.Is(err, fs.ErrNotExist) && attempt < mkdirRetries:
			continue
		default:
			return nil, s.mapErr("storing", key, err)
		}
	}
}

// writeTemp writes data to a new temporary file in dir and returns its name.
func (s *Store) writeTemp(key, dir string, data []byte) (string, error) {
	f, err := s.createTemp(key, dir)
	if err != nil {
		return "", err
	}
	tmpName := filepath.Join(dir, filepath.Base(f.Name()))
	_, err = f.Write(data)
	if err == nil && s.sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = s.root.Remove(tmpName)
		return "", fmt.Errorf("storing metadata of %s: %w", key, err)
	}
	return tmpName, nil
}

func (s *Store) syncDir(dir string) error {
	d, err := s.root.Open(dir)
	if err != nil {
		return fmt.Errorf("syncing folder %s: %w", dir, err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("syncing folder %s: %w", dir, err)
	}
	return nil
}

// ctxReader stops a copy once ctx ends, even if r never returns EOF.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// objectInPath tells whether some component of dir exists as a non-folder.
func (s *Store) objectInPath(dir string) bool {
	for d := dir; d != "." && d != string(filepath.Separator); d = filepath.Dir(d) {
		if fi, err := s.root.Stat(d); err == nil && !fi.IsDir() {
			return true
		}
	}
	return false
}
