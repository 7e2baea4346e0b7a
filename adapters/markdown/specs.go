package markdown

import "github.com/factflow/factflow/adapters"

// Specs returns the markdown adapter family.
func Specs() []adapters.Spec {
	return []adapters.Spec{
		storageRetrieverSpec(),
		htmlToMarkdownSpec(),
		markdownStorageWriterSpec(),
		smartSegmenterSpec(),
		segmentPublisherSpec(),
	}
}
