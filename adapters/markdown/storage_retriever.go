package markdown

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/factflow/factflow/adapters"
	"github.com/factflow/factflow/storage"
)

// StorageRetrieverConfig configures storage_retriever.
type StorageRetrieverConfig struct {
	KeyField    string `json:"key_field" default:"storage_key" doc:"Payload field (dotted path) holding the storage key to load."`
	TargetField string `json:"target_field" default:"content" doc:"Payload field (dotted path) that receives the object's text."`
	MaxBytes    int64  `json:"max_bytes" default:"10485760" minimum:"1" maximum:"1073741824" doc:"Largest object loaded; a larger one fails the message permanently."`
}

// Validate checks what tags cannot express.
func (c StorageRetrieverConfig) Validate() error {
	return errors.Join(checkFieldPath("key_field", c.KeyField), checkFieldPath("target_field", c.TargetField))
}

func storageRetrieverSpec() adapters.Spec {
	s := adapters.Define("storage_retriever", "markdown", "Load a stored object into the payload",
		func(cfg StorageRetrieverConfig, deps adapters.Deps) (adapters.Adapter, error) {
			if err := cfg.Validate(); err != nil {
				return nil, err
			}
			if deps.Storage == nil {
				return nil, errors.New("storage_retriever needs a storage provider")
			}
			return &storageRetriever{cfg: cfg, store: deps.Storage}, nil
		})
	s.Description = "Reads the object named by `key_field` (default `storage_key`, as written by " +
		"`web_content_storage` or `file_source`) and puts its text into `target_field` " +
		"(default `content`) and its MIME type into `content_type`. When the payload has no `url` " +
		"and the object's metadata names a source URL, `url` is set from it.\n\n" +
		"A missing object fails the message permanently with `STORAGE_NOT_FOUND`; an object over " +
		"`max_bytes` with `STORAGE_OBJECT_TOO_LARGE`. Bytes that are not valid UTF-8 are replaced."
	s.Reads = []string{"storage_key"}
	s.Writes = []string{"content", "content_type", "url"}
	return s
}

type storageRetriever struct {
	cfg   StorageRetrieverConfig
	store storage.Store
}

func (a *storageRetriever) Process(ctx context.Context, in *adapters.Input) (*adapters.Result, error) {
	key := adapters.StringAt(in.Payload, a.cfg.KeyField)
	if key == "" {
		return nil, adapters.PermanentCoded("STORAGE_KEY_MISSING",
			fmt.Sprintf("the payload needs a storage key in %q; put a storage writer (web_content_storage, file_source) before this adapter or set key_field", a.cfg.KeyField),
			fmt.Errorf("payload field %s is missing or not a string", a.cfg.KeyField))
	}
	if err := storage.ValidateKey(key); err != nil {
		return nil, adapters.PermanentCoded("STORAGE_KEY_INVALID", "storage keys are relative slash-separated paths", err)
	}
	rc, info, err := a.store.Get(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, adapters.PermanentCoded("STORAGE_NOT_FOUND",
			"the object was deleted or never written; check the key and the execution's storage",
			fmt.Errorf("loading %s: %w", key, err))
	}
	if err != nil {
		return nil, fmt.Errorf("loading %s from %s: %w", key, a.store.URI(), err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, a.cfg.MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", key, err)
	}
	if int64(len(data)) > a.cfg.MaxBytes {
		return nil, adapters.PermanentCoded("STORAGE_OBJECT_TOO_LARGE",
			"raise max_bytes or filter large objects out before this adapter",
			fmt.Errorf("%s is larger than max_bytes (%d)", key, a.cfg.MaxBytes))
	}
	text := string(data)
	text = strings.TrimPrefix(text, "\uFEFF")
	if !utf8.ValidString(text) {
		text = strings.ToValidUTF8(text, "\uFFFD")
	}
	out := in.Payload
	if err := assignField(out, "target_field", a.cfg.TargetField, text); err != nil {
		return nil, err
	}
	ct := info.ContentType
	if ct == "" {
		ct, _ = info.Metadata[storage.MetaContentType].(string)
	}
	if ct != "" {
		out["content_type"] = ct
	}
	if _, ok := out["url"]; !ok {
		if u, _ := info.Metadata[storage.MetaSourceURL].(string); u != "" {
			out["url"] = u
		}
	}
	return adapters.Pass(out), nil
}
