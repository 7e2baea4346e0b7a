package storage

import (
	"context"
	"errors"
	"io"
	"iter"
	"time"
)

// Metadata is free-form object metadata. Providers persist every field,
// including ones they do not know, so a rewrite never loses information.
type Metadata map[string]any

// Well-known metadata keys.
const (
	MetaContentType = "content_type"
	MetaExecutionID = "execution_id"
	MetaRoute       = "route"
	MetaStage       = "stage"
	MetaMessageID   = "message_id"
	MetaSourceURL   = "source_url"
)

// ObjectInfo describes a stored object or, in a delimited listing, a common
// prefix (IsPrefix true, only Key set).
type ObjectInfo struct {
	Key         string    `json:"key"`
	Size        int64     `json:"size"`
	ContentType string    `json:"content_type,omitempty"`
	ETag        string    `json:"etag,omitempty"`
	ModTime     time.Time `json:"modified_at,omitzero"`
	Metadata    Metadata  `json:"metadata,omitempty"`
	IsPrefix    bool      `json:"is_prefix,omitempty"`
}

// ListOptions shape a listing.
type ListOptions struct {
	// Delimiter groups keys sharing the part after the prefix up to the
	// delimiter into one IsPrefix entry ("/" for a folder view).
	Delimiter string
	// StartAfter skips keys up to and including this one (pagination).
	StartAfter string
	// Limit stops after this many entries (0 = all).
	Limit int
	// WithMetadata loads each object's metadata (costs a read per object
	// on some providers).
	WithMetadata bool
}

var (
	// ErrNotFound: no object under that key.
	ErrNotFound = errors.New("object not found")
	// ErrInvalidKey: the key is empty, absolute, escapes its root, or holds
	// forbidden characters.
	ErrInvalidKey = errors.New("invalid storage key")
)

// Store is an object store. Keys are slash-separated relative paths;
// listings are in lexical key order. All methods are safe for concurrent use.
type Store interface {
	// Put streams r to key, replacing any object there, and stores meta
	// (content type in meta[MetaContentType]). Metadata is merged into what
	// the key already holds, one level deep: fields in meta replace stored
	// ones, a field set to nil is removed, and stored fields absent from
	// meta (including ones this code does not know) survive the rewrite.
	// Values come back as JSON would decode them (numbers as float64).
	// Readers see the old object or the new one, never a mix; if ctx ends
	// or r fails before the end, nothing changes.
	Put(ctx context.Context, key string, r io.Reader, meta Metadata) (ObjectInfo, error)
	// Get streams an object; the caller closes the reader.
	Get(ctx context.Context, key string) (io.ReadCloser, ObjectInfo, error)
	Stat(ctx context.Context, key string) (ObjectInfo, error)
	List(ctx context.Context, prefix string, opts ListOptions) iter.Seq2[ObjectInfo, error]
	// Delete removes an object and its metadata; deleting a missing key
	// is not an error.
	Delete(ctx context.Context, key string) error
	// URI names the store (file:///…, s3://bucket) for logs and info.
	URI() string
}
