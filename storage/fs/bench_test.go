package fs_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/factflow/factflow/storage"
	"github.com/factflow/factflow/storage/fs"
)

// BenchmarkPut writes 4 KiB objects with typical artefact metadata, each
// under a new key spread over a few folders, as a pipeline stage does.
func BenchmarkPut(b *testing.B) {
	content := bytes.Repeat([]byte("factflow "), 4096/9+1)[:4096]
	for _, sync := range []bool{true, false} {
		b.Run(fmt.Sprintf("sync=%t", sync), func(b *testing.B) {
			s, err := fs.New(b.TempDir(), fs.WithSync(sync))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			meta := storage.Metadata{
				storage.MetaContentType: "text/html; charset=utf-8",
				storage.MetaExecutionID: "0193e0a4-7f1c-7d2e-9a61-2f4b8c1d0e5f",
				storage.MetaRoute:       "crawl",
				storage.MetaStage:       "fetch",
				storage.MetaSourceURL:   "https://example.com/docs/page",
			}
			ctx := b.Context()
			b.SetBytes(int64(len(content)))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				key := storage.ExecutionKey("bench", "crawl", fmt.Sprintf("fetch-%d", i%16), fmt.Sprintf("msg-%d", i), ".html")
				if _, err := s.Put(ctx, key, bytes.NewReader(content), meta); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
