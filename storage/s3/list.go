package s3

import (
	"context"
	"fmt"
	"iter"
	"strings"
	"unicode/utf8"

	"github.com/minio/minio-go/v7"

	"github.com/factflow/factflow/storage"
)

// groupSkipBudget is how many keys of an already reported group List reads
// before it restarts the server listing past the group: about one page.
const groupSkipBudget = 1000

// afterGroup sorts after every key that starts with a group: no valid
// UTF-8 continuation sorts above the largest code point.
const afterGroup = string(utf8.MaxRune)

// List implements storage.Store. See the package documentation for how it
// groups by delimiter.
func (s *Store) List(ctx context.Context, prefix string, opts storage.ListOptions) iter.Seq2[storage.ObjectInfo, error] {
	return func(yield func(storage.ObjectInfo, error) bool) {
		what := fmt.Sprintf("listing %q", prefix)
		if err := storage.ValidatePrefix(prefix); err != nil {
			yield(storage.ObjectInfo{}, wrapf(what, err))
			return
		}
		if opts.Limit < 0 {
			yield(storage.ObjectInfo{}, fmt.Errorf("%s: negative limit %d", what, opts.Limit))
			return
		}
		if err := ctx.Err(); err != nil {
			yield(storage.ObjectInfo{}, wrapf(what, err))
			return
		}
		l := lister{s: s, ctx: ctx, prefix: prefix, opts: opts, yield: yield}
		l.run(what)
	}
}

type lister struct {
	s       *Store
	ctx     context.Context
	prefix  string
	opts    storage.ListOptions
	yield   func(storage.ObjectInfo, error) bool
	emitted int
	group   string // the last group reported or skipped
}

func (l *lister) run(what string) {
	after := ""
	if l.opts.StartAfter != "" {
		after = l.s.root + l.opts.StartAfter
	}
	maxKeys := 0
	if l.opts.Delimiter == "" && l.opts.Limit > 0 && l.opts.Limit < 1000 && !l.opts.WithMetadata {
		maxKeys = l.opts.Limit
	}
	for {
		restart, done := l.page(what, after, maxKeys)
		if done {
			return
		}
		after = restart
	}
}

// page lists from after on; it returns done, or where to restart after a
// large group.
func (l *lister) page(what, after string, maxKeys int) (restart string, done bool) {
	skipped := 0
	fetchOwner := false
	for obj := range l.s.client.ListObjectsIter(l.ctx, l.s.bucket, minio.ListObjectsOptions{
		Prefix:     l.s.root + l.prefix,
		Recursive:  true,
		StartAfter: after,
		MaxKeys:    maxKeys,
		FetchOwner: &fetchOwner,
	}) {
		if err := l.ctx.Err(); err != nil {
			l.yield(storage.ObjectInfo{}, wrapf(what, err))
			return "", true
		}
		if obj.Err != nil {
			l.yield(storage.ObjectInfo{}, l.s.opErr(l.ctx, obj.Err, what))
			return "", true
		}
		key, ok := strings.CutPrefix(obj.Key, l.s.root)
		if !ok || storage.ValidateKey(key) != nil || !strings.HasPrefix(key, l.prefix) {
			continue // not a key this store could have written
		}
		if l.opts.StartAfter != "" && key <= l.opts.StartAfter {
			continue
		}
		if l.group != "" && strings.HasPrefix(key, l.group) {
			if skipped++; skipped >= l.s.skipBudget {
				return l.s.root + l.group + afterGroup, false
			}
			continue
		}
		if l.opts.Delimiter != "" {
			if i := strings.Index(key[len(l.prefix):], l.opts.Delimiter); i >= 0 {
				l.group = key[:len(l.prefix)+i+len(l.opts.Delimiter)]
				skipped = 0
				// A group at or before StartAfter was on an earlier page.
				if l.opts.StartAfter != "" && l.group <= l.opts.StartAfter {
					continue
				}
				if !l.emit(storage.ObjectInfo{Key: l.group, IsPrefix: true}, nil) {
					return "", true
				}
				continue
			}
		}
		info := storage.ObjectInfo{Key: key, Size: obj.Size, ETag: obj.ETag, ModTime: obj.LastModified.UTC()}
		if l.opts.WithMetadata {
			st, err := l.s.Stat(l.ctx, key)
			if isNotFoundErr(err) {
				continue // deleted since the page was read
			}
			info = st
			if !l.emit(info, err) {
				return "", true
			}
			continue
		}
		if !l.emit(info, nil) {
			return "", true
		}
	}
	// The client ends a listing silently when ctx ends.
	if err := l.ctx.Err(); err != nil {
		l.yield(storage.ObjectInfo{}, wrapf(what, err))
	}
	return "", true
}

// emit yields an entry and tells whether to go on.
func (l *lister) emit(info storage.ObjectInfo, err error) bool {
	if err := l.ctx.Err(); err != nil {
		l.yield(storage.ObjectInfo{}, fmt.Errorf("listing %q: %w", l.prefix, err))
		return false
	}
	l.emitted++
	if !l.yield(info, err) {
		return false
	}
	return err == nil && (l.opts.Limit == 0 || l.emitted < l.opts.Limit)
}
