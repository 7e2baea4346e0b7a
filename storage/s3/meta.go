package s3

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"mime"
	"path"
	"strconv"
	"strings"

	"github.com/factflow/factflow/storage"
)

// MaxMetadataBytes bounds the compact JSON encoding of an object's
// metadata (content type aside, which travels as Content-Type). Base64url
// and the header names bring it close to the 2 KB S3 and MinIO allow for
// user metadata.
const MaxMetadataBytes = 1500

const (
	metaHeader     = "ffmeta-" // user metadata headers ffmeta-0, ffmeta-1, …
	metaChunk      = 1024      // base64 characters per header
	amzMetaPrefix  = "x-amz-meta-"
	maxUserMetaLen = 2048 // what servers count: header names with prefix, plus values
)

const defaultContentType = "application/octet-stream"

// Fields the store computes in every provider; callers cannot set them.
func storeOwned(field string) bool {
	return field == "size" || field == "etag" || field == "modified_at"
}

// stored is an object's metadata as read from its headers.
type stored struct {
	raw         map[string]json.RawMessage // every field but content_type, verbatim
	contentType string
}

// decodeMeta reads the metadata of an object from its user metadata and
// content type. Headers written by other tools become string fields.
func decodeMeta(user map[string]string, contentType string) (stored, error) {
	st := stored{raw: map[string]json.RawMessage{}, contentType: contentType}
	chunks := map[int]string{}
	for k, v := range user {
		lk := strings.ToLower(k)
		if n, ok := strings.CutPrefix(lk, metaHeader); ok {
			if i, err := strconv.Atoi(n); err == nil && i >= 0 {
				chunks[i] = v
				continue
			}
		}
		st.raw[lk] = mustJSON(v)
	}
	if len(chunks) > 0 {
		var enc strings.Builder
		for i := range len(chunks) {
			c, ok := chunks[i]
			if !ok {
				return stored{}, fmt.Errorf("metadata header %s%d is missing", metaHeader, i)
			}
			enc.WriteString(c)
		}
		data, err := base64.RawURLEncoding.DecodeString(enc.String())
		if err != nil {
			return stored{}, fmt.Errorf("metadata headers: %w", err)
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(data, &fields); err != nil {
			return stored{}, fmt.Errorf("metadata headers: %w", err)
		}
		if fields == nil {
			return stored{}, errors.New("metadata headers: not a JSON object")
		}
		maps.Copy(st.raw, fields)
	}
	delete(st.raw, storage.MetaContentType) // the header is the truth
	return st, nil
}

// metadata returns the caller-visible fields, decoded as JSON decodes them.
func (st stored) metadata() storage.Metadata {
	m := make(storage.Metadata, len(st.raw)+1)
	for k, v := range st.raw {
		var x any
		if json.Unmarshal(v, &x) == nil {
			m[k] = x
		}
	}
	m[storage.MetaContentType] = st.contentType
	return m
}

// update is caller metadata encoded field by field; nil values remove.
type update map[string]json.RawMessage

// encodeUpdate checks every field encodes before any content is sent.
func encodeUpdate(meta storage.Metadata) (update, error) {
	out := make(update, len(meta))
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
			return nil, coded(CodeMetadataInvalid, "metadata values must encode as JSON",
				fmt.Errorf("metadata field %q: %w", k, err))
		}
		out[k] = b
	}
	if ct, ok := out[storage.MetaContentType]; ok && ct != nil {
		var s string
		if json.Unmarshal(ct, &s) != nil {
			return nil, coded(CodeMetadataInvalid, "set content_type to a MIME type string",
				fmt.Errorf("metadata field %q must be a string", storage.MetaContentType))
		}
	}
	return out, nil
}

// merge overlays upd on old and returns the new stored metadata.
func merge(key string, old stored, upd update) stored {
	fields := make(map[string]json.RawMessage, len(old.raw)+len(upd))
	maps.Copy(fields, old.raw)
	ct := old.contentType
	for k, v := range upd {
		switch {
		case k == storage.MetaContentType && v == nil:
			ct = ""
		case k == storage.MetaContentType:
			_ = json.Unmarshal(v, &ct)
		case v == nil:
			delete(fields, k)
		default:
			fields[k] = v
		}
	}
	if ct == "" {
		ct = guessContentType(key)
	}
	return stored{raw: fields, contentType: ct}
}

// headers encodes the fields as user metadata, refusing what does not fit.
func (st stored) headers() (map[string]string, error) {
	if len(st.raw) == 0 {
		return nil, nil
	}
	data, err := json.Marshal(st.raw)
	if err != nil {
		return nil, coded(CodeMetadataInvalid, "metadata values must encode as JSON", err)
	}
	if len(data) > MaxMetadataBytes {
		return nil, coded(CodeMetadataTooLarge,
			fmt.Sprintf("S3 keeps at most %d bytes of metadata as JSON; store large values as objects of their own and reference their keys", MaxMetadataBytes),
			fmt.Errorf("metadata is %d bytes of JSON", len(data)))
	}
	enc := base64.RawURLEncoding.EncodeToString(data)
	out := map[string]string{}
	total := 0
	for i := 0; len(enc) > 0; i++ {
		n := min(len(enc), metaChunk)
		name := metaHeader + strconv.Itoa(i)
		out[name] = enc[:n]
		total += len(amzMetaPrefix) + len(name) + n
		enc = enc[n:]
	}
	if total > maxUserMetaLen {
		// Unreachable with the constants above; kept so a change to them
		// fails loudly instead of at the server.
		return nil, coded(CodeMetadataTooLarge, "store large values as objects of their own",
			fmt.Errorf("metadata needs %d bytes of headers", total))
	}
	return out, nil
}

func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return bytes.TrimSpace(b)
}

func guessContentType(key string) string {
	if ct := mime.TypeByExtension(path.Ext(key)); ct != "" {
		return ct
	}
	return defaultContentType
}
