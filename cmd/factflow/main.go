// Command factflow is the Factflow server and CLI.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// Exit codes (documented in the CLI reference).
const (
	exitOK          = 0
	exitFailed      = 1
	exitUsage       = 2
	exitUnreachable = 3
	exitTimeout     = 4
	exitInterrupted = 5
)

// exitError carries a process exit code out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

func withExit(code int, err error) error { return &exitError{code: code, err: err} }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string) int {
	return runWith(ctx, args, os.Stdout, os.Stderr)
}

// runWith runs the CLI with explicit output streams (tests capture them).
func runWith(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(stderr, "Error:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "Error:", err)
	return exitUsage
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "factflow",
		Short:         "Factflow runs YAML pipelines of adapters over real message brokers",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newConfigCmd(), newRunCmd(), newServeCmd(),
		newExecutionCmd(), newPipelineCmd(), newStorageCmd(), newSystemCmd(), newDLQCmd(), newLineageCmd(),
		newSearchCmd(), newIndexCmd(), newChatCmd(), newWebhookCmd(),
		newTokenCmd(), newWhoamiCmd(), newAuditCmd())
	addClientFlags(root)
	return root
}

func newConfigCmd() *cobra.Command {
	c := &cobra.Command{Use: "config", Short: "Validate and manage pipeline configs"}
	c.AddCommand(withRemoteValidation(newConfigValidateCmd()), newConfigCreateCmd(), newConfigListCmd(),
		newConfigGetCmd(), newConfigEditCmd(), newConfigRunCmd(), newConfigDeleteCmd(), newConfigVersionsCmd(), newConfigTestCmd())
	return c
}
