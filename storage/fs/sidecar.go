package fs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"mime"
	"path"
	"time"

	"github.com/factflow/factflow/storage"
)

// Sidecar fields the store computes; callers cannot set them.
const (
	fieldSize       = "size"
	fieldETag       = "etag"
	fieldModifiedAt = "modified_at"
)

func storeOwned(field string) bool {
	return field == fieldSize || field == fieldETag || field == fieldModifiedAt
}

const defaultContentType = "application/octet-stream"

// sidecar is a parsed KEY.meta.json.
type sidecar struct {
	raw         map[string]json.RawMessage // every field, verbatim
	contentType string
	etag        string
	meta        storage.Metadata // caller fields, decoded (content_type included)
}

// readSidecar loads the sidecar of a file; a missing one yields ok=false.
func (s *Store) readSidecar(file string) (sc sidecar, ok bool, err error) {
	data, err := s.root.ReadFile(file + storage.MetaSuffix)
	if errors.Is(err, fs.ErrNotExist) {
		return sidecar{}, false, nil
	}
	if err != nil {
		return sidecar{}, false, err
	}
	sc, err = parseSidecar(data)
	if err != nil {
		return sidecar{}, false, fmt.Errorf("parsing %s%s: %w", file, storage.MetaSuffix, err)
	}
	return sc, true, nil
}

func parseSidecar(data []byte) (sidecar, error) {
	var sc sidecar
	if err := json.Unmarshal(data, &sc.raw); err != nil {
		return sidecar{}, err
	}
	if sc.raw == nil {
		return sidecar{}, errors.New("not a JSON object")
	}
	var all map[string]any
	if err := json.Unmarshal(data, &all); err != nil {
		return sidecar{}, err
	}
	sc.contentType, _ = all[storage.MetaContentType].(string)
	sc.etag, _ = all[fieldETag].(string)
	sc.meta = make(storage.Metadata, len(all))
	for k, v := range all {
		if !storeOwned(k) {
			sc.meta[k] = v
		}
	}
	return sc, nil
}

// encodedMeta is caller metadata encoded field by field, ready to merge.
type encodedMeta map[string]json.RawMessage

// encodeMeta checks that every field encodes as JSON before any content is
// written, so bad metadata fails fast. Nil values stay nil: they remove.
func encodeMeta(meta storage.Metadata) (encodedMeta, error) {
	out := make(encodedMeta, len(meta))
	for k, v := range meta {
		if storeOwned(k) {
			continue
		}
		if v == nil {
			out[k] = nil
			continue
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("metadata field %q: %w", k, err)
		}
		out[k] = b
	}
	if ct, ok := out[storage.MetaContentType]; ok && ct != nil {
		var s string
		if json.Unmarshal(ct, &s) != nil {
			return nil, fmt.Errorf("metadata field %q must be a string", storage.MetaContentType)
		}
	}
	return out, nil
}

// mergeSidecar builds the new sidecar: the stored fields, overlaid with the
// caller's (nil removes), then the computed ones.
func mergeSidecar(key string, old map[string]json.RawMessage, upd encodedMeta, size int64, etag string, mod time.Time) ([]byte, error) {
	fields := make(map[string]json.RawMessage, len(old)+len(upd)+4)
	maps.Copy(fields, old)
	for k, v := range upd {
		if v == nil {
			delete(fields, k)
		} else {
			fields[k] = v
		}
	}
	if ct, ok := fields[storage.MetaContentType]; !ok || bytes.Equal(ct, []byte(`""`)) {
		fields[storage.MetaContentType] = mustJSON(guessContentType(key))
	}
	fields[fieldSize] = mustJSON(size)
	fields[fieldETag] = mustJSON(etag)
	fields[fieldModifiedAt] = mustJSON(mod.UTC().Format(time.RFC3339Nano))
	// Indented so people browsing the tree can read it; keys come out sorted.
	return json.MarshalIndent(fields, "", "  ")
}

// mustJSON encodes the strings and integers the store computes, which
// always encode.
func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

func guessContentType(key string) string {
	if ct := mime.TypeByExtension(path.Ext(key)); ct != "" {
		return ct
	}
	return defaultContentType
}

// objectInfo combines a file's stat with its sidecar.
func objectInfo(key string, fi fs.FileInfo, sc sidecar, hasSidecar bool) storage.ObjectInfo {
	info := storage.ObjectInfo{
		Key:     key,
		Size:    fi.Size(),
		ModTime: fi.ModTime().UTC(),
	}
	if hasSidecar {
		info.ContentType = sc.contentType
		info.ETag = sc.etag
		info.Metadata = sc.meta
	}
	if info.ContentType == "" {
		info.ContentType = guessContentType(key)
	}
	if info.Metadata == nil {
		info.Metadata = storage.Metadata{}
	}
	if _, ok := info.Metadata[storage.MetaContentType]; !ok {
		info.Metadata[storage.MetaContentType] = info.ContentType
	}
	return info
}
