package fs

import (
	"errors"
	"fmt"
	"hash/maphash"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/factflow/factflow/storage"
)

// lockStripes bounds the per-key locks: keys hash onto a fixed set of
// mutexes, so memory stays constant however many keys pass through, at the
// cost of unrelated keys occasionally waiting for each other's short commit.
const lockStripes = 64

// Store is a filesystem object store. It is safe for concurrent use.
type Store struct {
	root   *os.Root
	dir    string // absolute root directory
	sync   bool
	escape error // os.Root's "path escapes" error, captured at open
	seed   maphash.Seed
	locks  [lockStripes]sync.RWMutex
}

var _ storage.Store = (*Store)(nil)

// Option tunes a Store.
type Option func(*Store)

// WithSync turns fsync of files and directories on (the default) or off.
func WithSync(on bool) Option {
	return func(s *Store) { s.sync = on }
}

// New opens a store rooted at dir, creating the directory if needed.
func New(dir string, opts ...Option) (*Store, error) {
	if dir == "" {
		return nil, errors.New("filesystem storage: empty root directory")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("filesystem storage: resolving %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("filesystem storage: creating root: %w", err)
	}
	root, err := os.OpenRoot(abs)
	if err != nil {
		return nil, fmt.Errorf("filesystem storage: opening root: %w", err)
	}
	s := &Store{root: root, dir: abs, sync: true, seed: maphash.MakeSeed()}
	// os.Root reports escapes with an unexported error; take it from a
	// lexical escape (no file is touched) so later failures caused by
	// symbolic links pointing outside can be recognised as invalid keys.
	if _, err := root.Lstat(".."); err != nil {
		if pe, ok := errors.AsType[*os.PathError](err); ok {
			s.escape = pe.Err
		}
	}
	for _, o := range opts {
		o(s)
	}
	return s, nil
}

// Open opens the store a file:// URI names: file:///abs/path,
// file://localhost/abs/path, or a path relative to the working directory
// such as file://./output/storage. Reserved characters in the path must be
// percent-encoded, as URI() does.
func Open(uri string, opts ...Option) (*Store, error) {
	dir, err := PathFromURI(uri)
	if err != nil {
		return nil, err
	}
	return New(dir, opts...)
}

// PathFromURI extracts the directory a file:// URI names (see Open).
func PathFromURI(uri string) (string, error) {
	const scheme = "file://"
	if len(uri) < len(scheme) || !strings.EqualFold(uri[:len(scheme)], scheme) {
		return "", fmt.Errorf("filesystem storage: %q is not a file:// URI", uri)
	}
	rest := uri[len(scheme):]
	if after, ok := strings.CutPrefix(rest, "localhost/"); ok {
		rest = "/" + after
	}
	if strings.ContainsAny(rest, "?#") {
		return "", fmt.Errorf("filesystem storage: %q has a query or fragment; percent-encode '?' and '#' in paths", uri)
	}
	p, err := url.PathUnescape(rest)
	if err != nil {
		return "", fmt.Errorf("filesystem storage: %q: %w", uri, err)
	}
	if p == "" {
		return "", fmt.Errorf("filesystem storage: %q names no directory", uri)
	}
	return filepath.FromSlash(p), nil
}

// URI returns file:// and the absolute root, percent-encoded; Open accepts it.
func (s *Store) URI() string {
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(s.dir)}
	if !strings.HasPrefix(u.Path, "/") {
		u.Path = "/" + u.Path // Windows drive paths
	}
	return u.String()
}

// Dir returns the absolute root directory.
func (s *Store) Dir() string { return s.dir }

// Close releases the root directory handle. The store is unusable after.
func (s *Store) Close() error { return s.root.Close() }

func (s *Store) lock(key string) *sync.RWMutex {
	return &s.locks[maphash.String(s.seed, key)%lockStripes]
}

// ErrKeyConflict reports a key that cannot coexist with an existing one on
// a file system: an object where a folder is needed or the reverse.
var ErrKeyConflict = errors.New("key conflicts with an existing object or folder")

// mapErr turns file system errors into the storage sentinels.
func (s *Store) mapErr(op, key string, err error) error {
	switch {
	case errors.Is(err, os.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		// ENOTDIR: a parent of the key is an object, so the key is absent.
		return fmt.Errorf("%s %s: %w", op, key, storage.ErrNotFound)
	case s.escape != nil && errors.Is(err, s.escape):
		return fmt.Errorf("%s %s: %w: it resolves outside the store", op, key, storage.ErrInvalidKey)
	default:
		return fmt.Errorf("%s %s: %w", op, key, err)
	}
}

// name converts a validated key to a root-relative file name.
func name(key string) string { return filepath.FromSlash(key) }
