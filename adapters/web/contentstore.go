package web

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"strings"

	"github.com/factflow/factflow/adapters"
	"github.com/factflow/factflow/storage"
)

// WebContentStorageConfig configures web_content_storage.
type WebContentStorageConfig struct {
	KeepContent bool `json:"keep_content" default:"false" doc:"Keep content in the message after storing it. Off by default: messages crossing a broker are limited to 1 MiB, so pages travel as storage keys."`
}

type contentStore struct {
	cfg   WebContentStorageConfig
	store storage.Store
}

func newContentStore(cfg WebContentStorageConfig, deps adapters.Deps) (adapters.Adapter, error) {
	if deps.Storage == nil {
		return nil, errors.New("web_content_storage needs an artefact store and none was configured")
	}
	return &contentStore{cfg: cfg, store: deps.Storage}, nil
}

func (c *contentStore) Process(ctx context.Context, in *adapters.Input) (*adapters.Result, error) {
	p := in.Payload
	text, ok := p["content"].(string)
	if !ok {
		return nil, adapters.PermanentCoded(CodeFieldMissing, "run web_scraper (or another step that sets content) before this one",
			fmt.Errorf("payload field content is %T, want a string", p["content"]))
	}
	body := []byte(text)
	if enc, _ := p["content_encoding"].(string); enc == "base64" {
		b, err := base64.StdEncoding.DecodeString(text)
		if err != nil {
			return nil, adapters.PermanentCoded(CodeFieldType, "content_encoding says base64 but content is not",
				fmt.Errorf("decoding base64 content: %w", err))
		}
		body = b
	}
	mediaType, _ := p["content_type"].(string)
	if mt, _, err := mime.ParseMediaType(mediaType); err == nil {
		mediaType = mt
	} else {
		mediaType = ""
	}

	m := in.Meta
	key := storage.ExecutionKey(m.ExecutionID, m.Route, m.Stage, m.CorrelationID, extensionFor(mediaType))
	if err := storage.ValidateKey(key); err != nil {
		return nil, adapters.PermanentCoded(CodeStorageKey, "the message lacks execution, route, stage or correlation ids",
			fmt.Errorf("building the storage key: %w", err))
	}

	meta := storage.Metadata{
		storage.MetaExecutionID: m.ExecutionID,
		storage.MetaRoute:       m.Route,
		storage.MetaStage:       m.Stage,
		storage.MetaMessageID:   m.CorrelationID,
	}
	if mediaType != "" {
		stored := mediaType
		if _, isB64 := p["content_encoding"]; !isB64 && isText(mediaType) {
			// web_scraper decoded the page to UTF-8; say so to whoever
			// serves the object.
			stored += "; charset=utf-8"
		}
		meta[storage.MetaContentType] = stored
	}
	if src, _ := p["url"].(string); src != "" {
		meta[storage.MetaSourceURL] = src
	}
	for _, f := range []string{"final_url", "fetched_at", "title"} {
		if s, _ := p[f].(string); s != "" {
			meta[f] = s
		}
	}
	if code, ok := statusCodeOf(p["status_code"]); ok {
		meta["status_code"] = code
	}

	info, err := c.store.Put(ctx, key, bytes.NewReader(body), meta)
	if err != nil {
		if errors.Is(err, storage.ErrInvalidKey) {
			return nil, adapters.PermanentCoded(CodeStorageKey, "the storage key was refused by the store", err)
		}
		return nil, fmt.Errorf("storing %s: %w", key, err)
	}
	p["storage_key"] = info.Key
	if info.Key == "" {
		p["storage_key"] = key
	}
	if !c.cfg.KeepContent {
		delete(p, "content")
		delete(p, "content_encoding")
	}
	return adapters.Pass(p), nil
}

// extensionFor maps a media type to the stored object's extension.
func extensionFor(mediaType string) string {
	switch {
	case mediaType == "text/html", mediaType == "application/xhtml+xml":
		return ".html"
	case mediaType == "application/json", strings.HasSuffix(mediaType, "+json"):
		return ".json"
	case mediaType == "application/xml", mediaType == "text/xml", strings.HasSuffix(mediaType, "+xml"):
		return ".xml"
	case mediaType == "text/markdown":
		return ".md"
	case mediaType == "text/csv":
		return ".csv"
	case mediaType == "application/pdf":
		return ".pdf"
	case strings.HasPrefix(mediaType, "text/"), mediaType == "":
		return ".txt"
	}
	return ".bin"
}
