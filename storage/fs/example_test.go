package fs_test

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/factflow/factflow/storage"
	"github.com/factflow/factflow/storage/fs"
)

func Example() {
	dir, err := os.MkdirTemp("", "storage-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	s, err := fs.New(dir)
	if err != nil {
		panic(err)
	}
	defer s.Close()
	ctx := context.Background()

	key := storage.ExecutionKey("exec-1", "docs", "to_markdown", "msg-1", ".md")
	if _, err := s.Put(ctx, key, strings.NewReader("# Title\n"), storage.Metadata{
		storage.MetaContentType: "text/markdown",
		"reviewer":              "kim",
	}); err != nil {
		panic(err)
	}
	// A later rewrite naming only some fields keeps the others.
	info, err := s.Put(ctx, key, strings.NewReader("# Better title\n"), storage.Metadata{"revision": 2})
	if err != nil {
		panic(err)
	}
	fmt.Println(info.Size, info.ContentType, info.Metadata["reviewer"], info.Metadata["revision"])

	for entry, err := range s.List(ctx, "executions/exec-1/", storage.ListOptions{Delimiter: "/"}) {
		if err != nil {
			panic(err)
		}
		fmt.Println(entry.Key, entry.IsPrefix)
	}
	// Output:
	// 15 text/markdown kim 2
	// executions/exec-1/docs/ true
}
