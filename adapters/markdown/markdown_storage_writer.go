package markdown

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/factflow/factflow/adapters"
	"github.com/factflow/factflow/storage"
)

// MarkdownStorageWriterConfig configures markdown_storage_writer.
type MarkdownStorageWriterConfig struct {
	SourceField string `json:"source_field" default:"markdown" doc:"Payload field (dotted path) holding the Markdown to write, e.g. markdown or segment.text."`
	KeyField    string `json:"key_field" default:"markdown_key" doc:"Payload field (dotted path) that receives the storage key written."`
	DropSource  bool   `json:"drop_source" default:"false" doc:"Remove the Markdown field from the payload after writing it; leave false when a later adapter of the chain (smart_segmenter) needs it."`
}

// Validate checks what tags cannot express.
func (c MarkdownStorageWriterConfig) Validate() error {
	return errors.Join(checkFieldPath("source_field", c.SourceField), checkFieldPath("key_field", c.KeyField))
}

func markdownStorageWriterSpec() adapters.Spec {
	s := adapters.Define("markdown_storage_writer", "markdown", "Write Markdown to storage",
		func(cfg MarkdownStorageWriterConfig, deps adapters.Deps) (adapters.Adapter, error) {
			if err := cfg.Validate(); err != nil {
				return nil, err
			}
			if deps.Storage == nil {
				return nil, errors.New("markdown_storage_writer needs a storage provider")
			}
			return &markdownStorageWriter{cfg: cfg, store: deps.Storage}, nil
		})
	s.Description = "Writes the Markdown in `source_field` (default `markdown`; `segment.text` stores " +
		"one segment per message) as a `.md` object under " +
		"`executions/<execution>/<route>/<stage>/<message>.md` and puts the key into `key_field` " +
		"(default `markdown_key`). The object's metadata records the execution, route, stage and " +
		"message, and the document's `url`, `title` and `segment_index` when the payload has them.\n\n" +
		"Rewriting the same message (a retry) replaces the object, so retries are idempotent."
	s.Reads = []string{"markdown", "url", "title", "segment_index"}
	s.Writes = []string{"markdown_key"}
	return s
}

type markdownStorageWriter struct {
	cfg   MarkdownStorageWriterConfig
	store storage.Store
}

func (a *markdownStorageWriter) Process(ctx context.Context, in *adapters.Input) (*adapters.Result, error) {
	v, ok := adapters.Lookup(in.Payload, a.cfg.SourceField)
	md, isString := v.(string)
	if !ok || !isString {
		return nil, adapters.PermanentCoded("MARKDOWN_MISSING",
			fmt.Sprintf("the payload needs Markdown in %q; convert it first (html_to_markdown) or set source_field", a.cfg.SourceField),
			fmt.Errorf("payload field %s is missing or not a string", a.cfg.SourceField))
	}
	out := in.Payload
	key := adapters.ArtefactKey(in.Meta, ".md")
	meta := storage.Metadata{
		storage.MetaContentType: "text/markdown; charset=utf-8",
		storage.MetaExecutionID: in.Meta.ExecutionID,
		storage.MetaRoute:       in.Meta.Route,
		storage.MetaStage:       in.Meta.Stage,
		storage.MetaMessageID:   in.Meta.CorrelationID,
	}
	if u := baseURL(out); u != "" {
		meta[storage.MetaSourceURL] = u
	}
	if t := adapters.StringAt(out, "title"); t != "" {
		meta["title"] = t
	}
	if n, ok := adapters.IntOf(out["segment_index"]); ok {
		meta["segment_index"] = n
	}
	if n, ok := adapters.IntOf(out["segment_count"]); ok {
		meta["segment_count"] = n
	}
	if _, err := a.store.Put(ctx, key, strings.NewReader(md), meta); err != nil {
		if errors.Is(err, storage.ErrInvalidKey) {
			return nil, adapters.PermanentCoded("STORAGE_KEY_INVALID",
				"execution, route and stage names must be valid key segments", err)
		}
		return nil, fmt.Errorf("writing %s to %s: %w", key, a.store.URI(), err)
	}
	if a.cfg.DropSource {
		adapters.Remove(out, a.cfg.SourceField)
	}
	if err := assignField(out, "key_field", a.cfg.KeyField, key); err != nil {
		return nil, err
	}
	return adapters.Pass(out), nil
}
