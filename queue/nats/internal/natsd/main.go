// Command natsd runs the embedded NATS server as a process of its own, so
// tests can reach it over TCP the way they reach an external server, and
// restart or kill it. It prints the client URL on stdout once it is ready
// and stops on SIGINT or SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/factflow/factflow/queue/nats"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "host:port to listen on (port 0 picks a free one)")
	store := flag.String("store", "", "JetStream store directory (required)")
	syncAlways := flag.Bool("sync-always", false, "fsync every JetStream write")
	flag.Parse()
	if err := run(*listen, *store, *syncAlways); err != nil {
		fmt.Fprintln(os.Stderr, "natsd:", err)
		os.Exit(1)
	}
}

func run(listen, store string, syncAlways bool) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := nats.StartServer(ctx, nats.ServerOptions{StoreDir: store, Listen: listen, SyncAlways: syncAlways, Logger: log})
	if err != nil {
		return err
	}
	fmt.Println(srv.ClientURL())
	<-ctx.Done()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}
