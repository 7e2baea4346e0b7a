package fs

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"slices"
	"strings"
	"syscall"

	"github.com/factflow/factflow/storage"
)

// List implements storage.Store. It walks the tree depth-first, reading one
// folder at a time, in an order that equals lexical key order: a folder
// sorts as its name plus "/", which is how every key inside it continues.
// Folders that cannot hold a wanted key (outside the prefix, wholly before
// StartAfter, or inside a delimiter group already reported) are not read.
func (s *Store) List(ctx context.Context, prefix string, opts storage.ListOptions) iter.Seq2[storage.ObjectInfo, error] {
	return func(yield func(storage.ObjectInfo, error) bool) {
		if err := storage.ValidatePrefix(prefix); err != nil {
			yield(storage.ObjectInfo{}, fmt.Errorf("listing %q: %w", prefix, err))
			return
		}
		if opts.Limit < 0 {
			yield(storage.ObjectInfo{}, fmt.Errorf("listing %q: negative limit %d", prefix, opts.Limit))
			return
		}
		start := prefix[:strings.LastIndexByte(prefix, '/')+1] // folder part, "" or "a/b/"
		w := walker{s: s, prefix: prefix, startAfter: opts.StartAfter}
		entries, err := s.readDir(start)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
				yield(storage.ObjectInfo{}, s.mapErr("listing", prefix, err))
			}
			return
		}
		w.stack = append(w.stack, frame{dir: start, entries: entries})

		emitted := 0
		for opts.Limit == 0 || emitted < opts.Limit {
			if err := ctx.Err(); err != nil {
				yield(storage.ObjectInfo{}, fmt.Errorf("listing %q: %w", prefix, err))
				return
			}
			key, de, err := w.next()
			if err != nil {
				yield(storage.ObjectInfo{}, s.mapErr("listing", prefix, err))
				return
			}
			if key == "" {
				return
			}
			if opts.Delimiter != "" {
				if i := strings.Index(key[len(prefix):], opts.Delimiter); i >= 0 {
					group := key[:len(prefix)+i+len(opts.Delimiter)]
					w.skipGroup(group)
					if group <= opts.StartAfter {
						continue
					}
					emitted++
					if !yield(storage.ObjectInfo{Key: group, IsPrefix: true}, nil) {
						return
					}
					continue
				}
			}
			info, err := s.listInfo(key, de, opts.WithMetadata)
			if errors.Is(err, storage.ErrNotFound) {
				continue // deleted since the folder was read
			}
			emitted++
			if !yield(info, err) {
				return
			}
		}
	}
}

func (s *Store) listInfo(key string, de fs.DirEntry, withMeta bool) (storage.ObjectInfo, error) {
	if withMeta {
		l := s.lock(key)
		l.RLock()
		defer l.RUnlock()
		return s.stat(key)
	}
	fi, err := de.Info()
	if err != nil {
		return storage.ObjectInfo{}, s.mapErr("listing", key, err)
	}
	return storage.ObjectInfo{Key: key, Size: fi.Size(), ModTime: fi.ModTime().UTC()}, nil
}

type entry struct {
	de      fs.DirEntry
	sortKey string // the name, plus "/" for a folder
}

type frame struct {
	dir     string // key prefix of the folder: "" or "a/b/"
	entries []entry
	next    int
}

type walker struct {
	s          *Store
	prefix     string
	startAfter string
	skip       string // a delimiter group already reported
	stack      []frame
}

// next returns the next key in lexical order, or "" when the walk is done.
func (w *walker) next() (string, fs.DirEntry, error) {
	for len(w.stack) > 0 {
		top := &w.stack[len(w.stack)-1]
		if top.next == len(top.entries) {
			w.stack = w.stack[:len(w.stack)-1]
			continue
		}
		e := top.entries[top.next]
		top.next++
		key := top.dir + e.sortKey
		if e.de.IsDir() {
			if w.pruned(key) {
				continue
			}
			entries, err := w.s.readDir(key)
			if errors.Is(err, fs.ErrNotExist) {
				continue // removed since its parent was read
			}
			if err != nil {
				return "", nil, err
			}
			w.stack = append(w.stack, frame{dir: key, entries: entries})
			continue
		}
		if !strings.HasPrefix(key, w.prefix) || key <= w.startAfter ||
			(w.skip != "" && strings.HasPrefix(key, w.skip)) {
			continue
		}
		return key, e.de, nil
	}
	return "", nil, nil
}

// pruned tells whether folder dir ("a/b/") can hold no wanted key.
func (w *walker) pruned(dir string) bool {
	switch {
	case !strings.HasPrefix(dir, w.prefix) && !strings.HasPrefix(w.prefix, dir):
		return true
	case w.startAfter > dir && !strings.HasPrefix(w.startAfter, dir):
		// Every key in dir differs from startAfter within dir's name and
		// sorts before it.
		return true
	case w.skip != "" && strings.HasPrefix(dir, w.skip):
		return true
	}
	return false
}

// skipGroup stops the walk from returning keys that begin with group and
// leaves the folders lying wholly inside it.
func (w *walker) skipGroup(group string) {
	w.skip = group
	for len(w.stack) > 0 && strings.HasPrefix(w.stack[len(w.stack)-1].dir, group) {
		w.stack = w.stack[:len(w.stack)-1]
	}
}

// readDir returns the entries of folder dir ("" or "a/b/") that can hold or
// be objects, sorted so a depth-first walk yields keys in lexical order.
// Sidecars, temporary files, symbolic links and names no key could have
// are left out.
func (s *Store) readDir(dir string) ([]entry, error) {
	d, err := s.root.Open(cmp.Or(name(strings.TrimSuffix(dir, "/")), "."))
	if err != nil {
		return nil, err
	}
	des, err := d.ReadDir(-1)
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	entries := make([]entry, 0, len(des))
	for _, de := range des {
		n := de.Name()
		switch {
		case de.IsDir():
			if storage.ValidateKey(dir+n) == nil {
				entries = append(entries, entry{de: de, sortKey: n + "/"})
			}
		case de.Type().IsRegular():
			// Sidecars and temporary files end in .meta.json, which
			// ValidateKey refuses.
			if storage.ValidateKey(dir+n) == nil {
				entries = append(entries, entry{de: de, sortKey: n})
			}
		}
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.sortKey, b.sortKey) })
	return entries, nil
}
