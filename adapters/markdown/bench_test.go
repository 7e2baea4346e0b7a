package markdown

import (
	"testing"
)

func BenchmarkSegmentGuide(b *testing.B) {
	md := readFixtureB(b, "guide.md")
	b.SetBytes(int64(len(md)))
	for b.Loop() {
		segmentMarkdown(md, segmentOptions{maxTokens: 512, minTokens: 64})
	}
}
