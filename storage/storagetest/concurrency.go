package storagetest

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/factflow/factflow/storage"
)

var concurrencyChecks = []check{
	{"ConcurrentWritersDifferentKeys", testConcurrentDifferentKeys},
	{"ConcurrentWritersSameKey", testConcurrentSameKey},
	{"GetDuringRewrite", testGetDuringRewrite},
}

func testConcurrentDifferentKeys(t *testing.T, s storage.Store, p string) {
	const writers, each = 8, 6
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				key := fmt.Sprintf("%sw%d/obj%d", p, w, i)
				_, err := s.Put(t.Context(), key, bytes.NewReader([]byte(key)), storage.Metadata{"w": w, "i": i})
				if err != nil {
					errs <- fmt.Errorf("put %s: %w", key, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	var want []string
	for w := range writers {
		for i := range each {
			want = append(want, fmt.Sprintf("%sw%d/obj%d", p, w, i))
		}
	}
	slices.Sort(want)
	require.Equal(t, want, keysOf(list(t, s, p, storage.ListOptions{})))
	for _, key := range want {
		content, info := get(t, s, key)
		require.Equal(t, key, content)
		var w, i int
		_, err := fmt.Sscanf(key[len(p):], "w%d/obj%d", &w, &i)
		require.NoError(t, err)
		require.EqualValues(t, w, info.Metadata["w"], "metadata of %s", key)
		require.EqualValues(t, i, info.Metadata["i"], "metadata of %s", key)
	}
}

// fill is a version of an object whose content and metadata both say which
// writer made it, so a mix of two writes is detectable.
func fill(writer int) ([]byte, storage.Metadata) {
	size := 64<<10 + writer*4099 // versions differ in length too
	return bytes.Repeat([]byte{byte('A' + writer)}, size), storage.Metadata{"writer": writer, storage.MetaContentType: "text/plain"}
}

// checkVersion asserts that what Get returned is exactly one writer's
// version: uniform content of that writer's length and that writer's
// metadata.
func checkVersion(content []byte, info storage.ObjectInfo) error {
	if len(content) == 0 || !uniform(content) {
		return fmt.Errorf("torn object: %d bytes, not uniform", len(content))
	}
	writer := int(content[0] - 'A')
	want, _ := fill(writer)
	if len(content) != len(want) {
		return fmt.Errorf("torn object: writer %d content has %d bytes, want %d", writer, len(content), len(want))
	}
	if info.Size != int64(len(content)) {
		return fmt.Errorf("info size %d for %d bytes of writer %d", info.Size, len(content), writer)
	}
	if w, ok := info.Metadata["writer"].(float64); !ok || int(w) != writer {
		return fmt.Errorf("content of writer %d with metadata %v", writer, info.Metadata)
	}
	return nil
}

func testConcurrentSameKey(t *testing.T, s storage.Store, p string) {
	key := p + "contended"
	const writers, rounds = 6, 5
	var wg sync.WaitGroup
	errs := make(chan error, writers*rounds)
	for w := range writers {
		wg.Go(func() {
			content, meta := fill(w)
			for range rounds {
				if _, err := s.Put(t.Context(), key, bytes.NewReader(content), meta); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	content, info := get(t, s, key)
	require.NoError(t, checkVersion([]byte(content), info), "the surviving object is one writer's, whole")
	require.Equal(t, []string{key}, keysOf(list(t, s, p, storage.ListOptions{})), "no stray objects")
}

func testGetDuringRewrite(t *testing.T, s storage.Store, p string) {
	key := p + "rewritten"
	content, meta := fill(0)
	put(t, s, key, string(content), meta)

	const rewrites, readers = 40, 4
	done := make(chan struct{})
	var wg sync.WaitGroup
	readErrs := make(chan error, readers)
	for range readers {
		wg.Go(func() {
			for reads := 0; ; reads++ {
				select {
				case <-done:
					if reads > 0 {
						return
					}
				default:
				}
				rc, info, err := s.Get(t.Context(), key)
				if err != nil {
					readErrs <- fmt.Errorf("get during rewrite: %w", err)
					return
				}
				b, err := io.ReadAll(rc)
				_ = rc.Close()
				if err == nil {
					err = checkVersion(b, info)
				}
				if err != nil {
					readErrs <- err
					return
				}
			}
		})
	}
	var writeErr error
	for i := range rewrites {
		content, meta := fill(i % 3)
		if _, writeErr = s.Put(t.Context(), key, bytes.NewReader(content), meta); writeErr != nil {
			break
		}
	}
	close(done)
	wg.Wait()
	close(readErrs)
	require.NoError(t, writeErr)
	for err := range readErrs {
		require.NoError(t, err)
	}
}
