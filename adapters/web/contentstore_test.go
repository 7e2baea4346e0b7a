package web

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/adapters"
	"github.com/factflow/factflow/storage"
	"github.com/factflow/factflow/storage/fs"
)

func newFSStore(t *testing.T) (*fs.Store, string) {
	t.Helper()
	dir := t.TempDir()
	st, err := fs.New(dir, fs.WithSync(false))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	return st, dir
}

func meta(stage, correlation string) adapters.Meta {
	return adapters.Meta{ExecutionID: "exec-1", Route: "fetch", Stage: stage, CorrelationID: correlation}
}

func readObject(t *testing.T, st storage.Store, key string) (string, storage.ObjectInfo) {
	t.Helper()
	rc, info, err := st.Get(t.Context(), key)
	require.NoError(t, err)
	defer rc.Close()
	b, err := io.ReadAll(rc)
	require.NoError(t, err)
	return string(b), info
}

func TestWebContentStorage(t *testing.T) {
	t.Parallel()
	st, dir := newFSStore(t)
	a := build(t, TypeWebContentStorage, WebContentStorageConfig{}, adapters.Deps{Storage: st})

	payload := adapters.Payload{
		"url":          "https://docs.example/a",
		"final_url":    "https://docs.example/a/",
		"content":      "<html><title>Grüße</title></html>",
		"content_type": "text/html",
		"charset":      "utf-8",
		"status_code":  200,
		"fetched_at":   "2025-01-02T03:04:05Z",
		"title":        "Grüße",
	}
	res, err := a.Process(t.Context(), &adapters.Input{Payload: payload, Meta: meta("web_content_storage", "msg-1")})
	require.NoError(t, err)
	want := "executions/exec-1/fetch/web_content_storage/msg-1.html"
	require.Equal(t, want, res.Message["storage_key"])
	require.NotContains(t, res.Message, "content")
	require.Equal(t, "https://docs.example/a", res.Message["url"], "other fields pass through")

	// The object is a real file under the store's root.
	onDisk, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(want)))
	require.NoError(t, err)
	require.Equal(t, "<html><title>Grüße</title></html>", string(onDisk))

	body, info := readObject(t, st, want)
	require.Equal(t, "<html><title>Grüße</title></html>", body)
	md := info.Metadata
	require.Equal(t, "text/html; charset=utf-8", md[storage.MetaContentType])
	require.Equal(t, "https://docs.example/a", md[storage.MetaSourceURL])
	require.Equal(t, "https://docs.example/a/", md["final_url"])
	require.Equal(t, "exec-1", md[storage.MetaExecutionID])
	require.Equal(t, "fetch", md[storage.MetaRoute])
	require.Equal(t, "web_content_storage", md[storage.MetaStage])
	require.Equal(t, "msg-1", md[storage.MetaMessageID])
	require.EqualValues(t, 200, md["status_code"])
	require.Equal(t, "2025-01-02T03:04:05Z", md["fetched_at"])
	require.Equal(t, "Grüße", md["title"])
}

func TestWebContentStorageExtensionsAndOptions(t *testing.T) {
	t.Parallel()
	st, _ := newFSStore(t)
	tests := []struct {
		name        string
		cfg         WebContentStorageConfig
		payload     adapters.Payload
		wantKey     string
		wantBody    string
		keepContent bool
	}{
		{"json", WebContentStorageConfig{}, adapters.Payload{"content": `{"a":1}`, "content_type": "application/json; charset=utf-8"},
			"executions/exec-1/fetch/s/json.json", `{"a":1}`, false},
		{"xml", WebContentStorageConfig{}, adapters.Payload{"content": "<a/>", "content_type": "application/atom+xml"},
			"executions/exec-1/fetch/s/xml.xml", "<a/>", false},
		{"plain", WebContentStorageConfig{}, adapters.Payload{"content": "hi", "content_type": "text/plain"},
			"executions/exec-1/fetch/s/plain.txt", "hi", false},
		{"no type", WebContentStorageConfig{}, adapters.Payload{"content": "hi"},
			"executions/exec-1/fetch/s/notype.txt", "hi", false},
		{"binary", WebContentStorageConfig{}, adapters.Payload{"content": base64.StdEncoding.EncodeToString([]byte{0, 1, 2, 0xff}),
			"content_encoding": "base64", "content_type": "image/png"},
			"executions/exec-1/fetch/s/binary.bin", "\x00\x01\x02\xff", false},
		{"keep content", WebContentStorageConfig{KeepContent: true}, adapters.Payload{"content": "kept", "content_type": "text/markdown"},
			"executions/exec-1/fetch/s/keep.md", "kept", true},
	}
	ids := map[string]string{"json": "json", "xml": "xml", "plain": "plain", "no type": "notype", "binary": "binary", "keep content": "keep"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := build(t, TypeWebContentStorage, tt.cfg, adapters.Deps{Storage: st})
			res, err := a.Process(t.Context(), &adapters.Input{Payload: tt.payload, Meta: meta("s", ids[tt.name])})
			require.NoError(t, err)
			require.Equal(t, tt.wantKey, res.Message["storage_key"])
			body, _ := readObject(t, st, tt.wantKey)
			require.Equal(t, tt.wantBody, body)
			_, has := res.Message["content"]
			require.Equal(t, tt.keepContent, has)
		})
	}
}

func TestWebContentStorageFailures(t *testing.T) {
	t.Parallel()
	st, _ := newFSStore(t)
	a := build(t, TypeWebContentStorage, WebContentStorageConfig{}, adapters.Deps{Storage: st})

	_, err := a.Process(t.Context(), &adapters.Input{Payload: adapters.Payload{"url": "x"}, Meta: meta("s", "m")})
	requireCode(t, err, adapters.ClassPermanent, CodeFieldMissing)

	_, err = a.Process(t.Context(), &adapters.Input{Payload: adapters.Payload{"content": "x"}, Meta: adapters.Meta{Route: "r"}})
	requireCode(t, err, adapters.ClassPermanent, CodeStorageKey)

	_, err = a.Process(t.Context(), &adapters.Input{Payload: adapters.Payload{"content": "x"}, Meta: meta("../escape", "m")})
	requireCode(t, err, adapters.ClassPermanent, CodeStorageKey)

	_, err = a.Process(t.Context(), &adapters.Input{
		Payload: adapters.Payload{"content": "%%%", "content_encoding": "base64"}, Meta: meta("s", "m")})
	requireCode(t, err, adapters.ClassPermanent, CodeFieldType)

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = a.Process(ctx, &adapters.Input{Payload: adapters.Payload{"content": "x"}, Meta: meta("s", "cancelled")})
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, adapters.ClassRetryable, adapters.Classify(err))

	_, err = buildErr(TypeWebContentStorage, WebContentStorageConfig{}, adapters.Deps{})
	require.ErrorContains(t, err, "artefact store")
}

// TestWebChain runs the discovery and fetch routes of the documentation
// pipeline over the generated site: sitemap_parser → url_expander, then
// web_scraper → web_content_storage for every emitted message, in
// parallel, into a real filesystem store.
func TestWebChain(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	st, _ := newFSStore(t)
	deps := s.deps(t)
	deps.Storage = st

	cfg := sitemapConfig()
	cfg.SameHostOnly = true
	parser := build(t, TypeSitemapParser, cfg, deps)
	expander := build(t, TypeURLExpander, URLExpanderConfig{Carry: []string{"tenant"}}, deps)
	scr := build(t, TypeWebScraper, scraperConfig(), deps)
	store := build(t, TypeWebContentStorage, WebContentStorageConfig{}, deps)

	res, err := process(t, parser, adapters.Payload{"sitemap_url": s.URL + "/", "tenant": "acme"})
	require.NoError(t, err)
	res, err = process(t, expander, roundTrip(t, res.Message))
	require.NoError(t, err)
	require.Len(t, res.Emitted, len(wantSiteURLs(s.URL, false)))

	type outcome struct {
		url string
		key string
		err error
	}
	out := make(chan outcome, len(res.Emitted))
	var wg sync.WaitGroup
	for i, msg := range res.Emitted {
		wg.Go(func() {
			m := adapters.Meta{ExecutionID: "exec-1", Route: "fetch", CorrelationID: fmt.Sprintf("msg-%02d", i)}
			msg = roundTrip(t, msg)
			m.Stage = "web_scraper"
			r, err := scr.Process(t.Context(), &adapters.Input{Payload: msg, Meta: m})
			if err != nil {
				out <- outcome{url: msg["url"].(string), err: err}
				return
			}
			m.Stage = "web_content_storage"
			r, err = store.Process(t.Context(), &adapters.Input{Payload: r.Message, Meta: m})
			if err != nil {
				out <- outcome{url: msg["url"].(string), err: err}
				return
			}
			if r.Message["tenant"] != "acme" {
				out <- outcome{url: msg["url"].(string), err: fmt.Errorf("tenant not carried: %v", r.Message)}
				return
			}
			out <- outcome{url: msg["url"].(string), key: r.Message["storage_key"].(string)}
		})
	}
	wg.Wait()
	close(out)
	stored, failed := 0, map[string]string{}
	for o := range out {
		if o.err != nil {
			var ce *adapters.CodedError
			require.ErrorAs(t, o.err, &ce, "%s: %v", o.url, o.err)
			failed[o.url] = ce.Code
			continue
		}
		body, info := readObject(t, st, o.key)
		require.Contains(t, body, "<html")
		require.Equal(t, o.url, info.Metadata[storage.MetaSourceURL])
		stored++
	}
	// Every listed page exists but the relative one.
	require.Equal(t, map[string]string{s.URL + "/relative/page": "WEB_HTTP_404"}, failed)
	require.Equal(t, len(res.Emitted)-1, stored)
}
