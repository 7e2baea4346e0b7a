package tokenize_test

import (
	"fmt"

	"github.com/factflow/factflow/tokenize"
)

func ExampleCount() {
	fmt.Println(tokenize.Count("hello world"))
	// Output: 2
}

func ExampleTruncate() {
	fmt.Printf("%q\n", tokenize.Truncate("Messages are acknowledged after publishing.", 3))
	// Output: "Messages are acknowledged"
}

func ExampleCounter() {
	var c tokenize.Counter
	c.Append("# Title\n\n")
	fmt.Println(c.With("First paragraph."), c.Total())
	// Output: 6 3
}
