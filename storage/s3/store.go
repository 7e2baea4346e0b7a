package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/factflow/factflow/storage"
)

// Put implements storage.Store.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, meta storage.Metadata) (storage.ObjectInfo, error) {
	if err := storage.ValidateKey(key); err != nil {
		return storage.ObjectInfo{}, err
	}
	what := "storing " + key
	if r == nil {
		return storage.ObjectInfo{}, fmt.Errorf("%s: no content reader", what)
	}
	upd, err := encodeUpdate(meta)
	if err != nil {
		return storage.ObjectInfo{}, wrapf(what, err)
	}
	if err := ctx.Err(); err != nil {
		return storage.ObjectInfo{}, wrapf(what, err)
	}
	// The merge needs what the key holds now; it must be known before the
	// upload starts, since metadata travels with the first request.
	var old stored
	cur, err := s.core.StatObject(ctx, s.bucket, s.object(key), minio.StatObjectOptions{})
	switch {
	case err == nil:
		// Unreadable metadata cannot be preserved; the rewrite replaces it.
		if st, err := decodeMeta(cur.UserMetadata, cur.ContentType); err == nil {
			old = st
		} else {
			s.log.Warn("replacing unreadable object metadata", "key", key, "error", err)
		}
	case isNotFound(err):
	default:
		return storage.ObjectInfo{}, s.opErr(ctx, err, what)
	}
	next := merge(key, old, upd)
	headers, err := next.headers()
	if err != nil {
		return storage.ObjectInfo{}, wrapf(what, err)
	}
	opts := minio.PutObjectOptions{
		ContentType:  next.contentType,
		UserMetadata: headers,
		PartSize:     s.partSize,
	}

	src := &sourceReader{ctx: ctx, r: r}
	// Read up to one part: a body that ends within it goes in a single PUT
	// holding only its own size, not a whole part buffer.
	var head bytes.Buffer
	n, _ := head.ReadFrom(io.LimitReader(src, int64(s.partSize)))
	if err := src.failure(); err != nil {
		return storage.ObjectInfo{}, wrapf(what, err)
	}
	var up minio.UploadInfo
	if n < int64(s.partSize) {
		up, err = s.client.PutObject(ctx, s.bucket, s.object(key), bytes.NewReader(head.Bytes()), n, opts)
	} else {
		// Unknown length: minio-go uploads part by part and aborts the
		// upload on any error, leaving the old object in place.
		up, err = s.client.PutObject(ctx, s.bucket, s.object(key), io.MultiReader(&head, src), -1, opts)
	}
	if rerr := src.failure(); rerr != nil {
		return storage.ObjectInfo{}, wrapf(what, rerr)
	}
	if err != nil {
		return storage.ObjectInfo{}, s.opErr(ctx, err, what)
	}

	info := storage.ObjectInfo{
		Key:         key,
		Size:        up.Size,
		ContentType: next.contentType,
		ETag:        up.ETag,
		Metadata:    next.metadata(),
	}
	// S3 does not return the modification time of an upload; read it back,
	// unless a concurrent writer already replaced this version.
	info.ModTime = time.Now().UTC()
	if st, err := s.client.StatObject(ctx, s.bucket, s.object(key), minio.StatObjectOptions{}); err == nil && st.ETag == up.ETag {
		info.ModTime = st.LastModified.UTC()
	}
	return info, nil
}

// sourceReader stops an upload once ctx ends, even if r never returns EOF,
// and remembers why reading stopped so Put reports the cause rather than
// what the client made of it.
type sourceReader struct {
	ctx context.Context
	r   io.Reader
	err error
}

func (c *sourceReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if err := c.ctx.Err(); err != nil {
		c.err = err
		return 0, err
	}
	n, err := c.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		c.err = fmt.Errorf("reading the content: %w", err)
		return n, c.err
	}
	return n, err
}

func (c *sourceReader) failure() error {
	if c.err != nil {
		return c.err
	}
	return c.ctx.Err()
}

// opErr maps a failed request: a missing object to storage.ErrNotFound, an
// ended context to its error, the rest through classify.
func (s *Store) opErr(ctx context.Context, err error, what string) error {
	switch {
	case isNotFound(err):
		return fmt.Errorf("%s: %w", what, storage.ErrNotFound)
	case ctx.Err() != nil:
		return fmt.Errorf("%s: %w", what, ctx.Err())
	}
	return s.classify(err, what)
}

// Get implements storage.Store. Content and info come from one response,
// so they always describe the same version.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, storage.ObjectInfo, error) {
	if err := storage.ValidateKey(key); err != nil {
		return nil, storage.ObjectInfo{}, err
	}
	what := "reading " + key
	if err := ctx.Err(); err != nil {
		return nil, storage.ObjectInfo{}, wrapf(what, err)
	}
	rc, oi, _, err := s.core.GetObject(ctx, s.bucket, s.object(key), minio.GetObjectOptions{})
	if err != nil {
		return nil, storage.ObjectInfo{}, s.opErr(ctx, err, what)
	}
	info, err := s.info(key, oi)
	if err != nil {
		_ = rc.Close()
		return nil, storage.ObjectInfo{}, wrapf(what, err)
	}
	return rc, info, nil
}

// Stat implements storage.Store.
func (s *Store) Stat(ctx context.Context, key string) (storage.ObjectInfo, error) {
	if err := storage.ValidateKey(key); err != nil {
		return storage.ObjectInfo{}, err
	}
	what := "inspecting " + key
	if err := ctx.Err(); err != nil {
		return storage.ObjectInfo{}, wrapf(what, err)
	}
	oi, err := s.client.StatObject(ctx, s.bucket, s.object(key), minio.StatObjectOptions{})
	if err != nil {
		return storage.ObjectInfo{}, s.opErr(ctx, err, what)
	}
	info, err := s.info(key, oi)
	if err != nil {
		return storage.ObjectInfo{}, wrapf(what, err)
	}
	return info, nil
}

func (s *Store) info(key string, oi minio.ObjectInfo) (storage.ObjectInfo, error) {
	ct := oi.ContentType
	if ct == "" {
		ct = guessContentType(key)
	}
	st, err := decodeMeta(oi.UserMetadata, ct)
	if err != nil {
		return storage.ObjectInfo{}, err
	}
	return storage.ObjectInfo{
		Key:         key,
		Size:        oi.Size,
		ContentType: ct,
		ETag:        oi.ETag,
		ModTime:     oi.LastModified.UTC(),
		Metadata:    st.metadata(),
	}, nil
}

// Delete implements storage.Store. S3 reports success for a missing key.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := storage.ValidateKey(key); err != nil {
		return err
	}
	what := "deleting " + key
	if err := ctx.Err(); err != nil {
		return wrapf(what, err)
	}
	if err := s.client.RemoveObject(ctx, s.bucket, s.object(key), minio.RemoveObjectOptions{}); err != nil {
		if isNotFound(err) {
			return nil
		}
		return s.opErr(ctx, err, what)
	}
	return nil
}

func isNotFoundErr(err error) bool { return err != nil && errors.Is(err, storage.ErrNotFound) }
