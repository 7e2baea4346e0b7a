package benchflag

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Main is a harness's main function: it parses the command line with
// parse (exit 0 after -h, 2 on a bad flag), then runs the harness with a
// context that SIGINT and SIGTERM cancel (exit 1 on an error). Errors go
// to stderr prefixed "bench:".
func Main[C any](parse func(args []string, stderr io.Writer) (C, error), run func(ctx context.Context, cfg C, stdout, stderr io.Writer) error) {
	cfg, err := parse(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		stop()
		os.Exit(1)
	}
}
