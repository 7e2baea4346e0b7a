package nats

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// DefaultMaxPayload is the embedded server's message size limit: room for
// a 1 MiB Factflow payload plus its headers.
const DefaultMaxPayload = 8 << 20

const startTimeout = 30 * time.Second

// ServerOptions configure the embedded NATS server.
type ServerOptions struct {
	// StoreDir holds JetStream's file store (conventionally <data-dir>/nats).
	// Required; created when missing.
	StoreDir string
	// Listen, when set, also accepts TCP clients on host:port
	// ("127.0.0.1:0" picks a free port), for NATS tools or other processes.
	// Empty means in-process connections only.
	Listen string
	// SyncAlways makes JetStream fsync every write before acknowledging it.
	//
	// By default (false) JetStream writes every message to the file store
	// before acknowledging it but lets the operating system flush it to
	// disk, forcing a sync every two minutes: acknowledged messages survive
	// a crash or kill of the process, not a power cut or kernel crash
	// within that window. SyncAlways also survives those, at a large cost
	// in throughput (about 30 times slower on our machines).
	SyncAlways bool
	// MaxPayload caps one message including headers. Default
	// DefaultMaxPayload.
	MaxPayload int32
	// Logger receives the server's warnings and errors (notices at debug
	// level). Nil discards them.
	Logger *slog.Logger
}

// Server is an embedded NATS server with JetStream.
type Server struct {
	ns  *server.Server
	url string
}

// StartServer starts an embedded NATS server with JetStream and waits
// until it accepts connections.
func StartServer(ctx context.Context, opts ServerOptions) (*Server, error) {
	if opts.StoreDir == "" {
		return nil, codedError(codeServer, "set the data directory", errors.New("embedded NATS needs a store directory"))
	}
	if err := os.MkdirAll(opts.StoreDir, 0o750); err != nil {
		return nil, codedError(codeServer, "check that the data directory is writable", fmt.Errorf("creating NATS store directory: %w", err))
	}
	so := &server.Options{
		ServerName: "factflow",
		JetStream:  true,
		StoreDir:   opts.StoreDir,
		SyncAlways: opts.SyncAlways,
		MaxPayload: opts.MaxPayload,
		NoSigs:     true,
		NoLog:      opts.Logger == nil,
		DontListen: opts.Listen == "",
	}
	if so.MaxPayload <= 0 {
		so.MaxPayload = DefaultMaxPayload
	}
	if opts.Listen != "" {
		host, port, err := net.SplitHostPort(opts.Listen)
		if err != nil {
			return nil, codedError(codeServer, `use host:port, e.g. "127.0.0.1:4222"`, fmt.Errorf("embedded NATS listen address %q: %w", opts.Listen, err))
		}
		so.Host = host
		so.Port, err = strconv.Atoi(port)
		if err != nil {
			return nil, codedError(codeServer, `use host:port, e.g. "127.0.0.1:4222"`, fmt.Errorf("embedded NATS listen port %q: %w", port, err))
		}
		if so.Port == 0 {
			so.Port = server.RANDOM_PORT
		}
	}
	ns, err := server.NewServer(so)
	if err != nil {
		return nil, codedError(codeServer, "check the embedded NATS options", fmt.Errorf("configuring embedded NATS: %w", err))
	}
	if opts.Logger != nil {
		ns.SetLoggerV2(serverLogger{opts.Logger}, false, false, false)
	}
	ns.Start()
	// A listener that cannot bind never gets ready; the bound keeps that
	// from hanging a caller whose ctx has no deadline.
	giveUp := time.Now().Add(startTimeout)
	for !ns.ReadyForConnections(50 * time.Millisecond) {
		err := ctx.Err()
		if err == nil && time.Now().After(giveUp) {
			err = fmt.Errorf("not ready after %s", startTimeout)
		}
		if err != nil {
			ns.Shutdown()
			ns.WaitForShutdown()
			return nil, codedError(codeServer, "check that the listen address is free and the store directory is writable",
				fmt.Errorf("waiting for embedded NATS to start: %w", err))
		}
	}
	if !ns.JetStreamEnabled() {
		ns.Shutdown()
		ns.WaitForShutdown()
		return nil, codedError(codeServer, "check that the store directory is writable and has free space",
			fmt.Errorf("embedded NATS started without JetStream (store %s)", opts.StoreDir))
	}
	s := &Server{ns: ns}
	if opts.Listen != "" {
		s.url = ns.ClientURL()
	}
	return s, nil
}

// ClientURL is the nats:// URL of the TCP listener, or "" when the server
// only takes in-process connections.
func (s *Server) ClientURL() string { return s.url }

// Shutdown stops the server, waiting for it until ctx is done. JetStream
// flushes its store on the way down.
func (s *Server) Shutdown(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		s.ns.Shutdown()
		s.ns.WaitForShutdown()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("shutting down embedded NATS: %w", ctx.Err())
	}
}

// serverLogger forwards the server's log to slog. The server's notices
// (startup banners, config summaries) are routine, so they go to debug.
type serverLogger struct{ l *slog.Logger }

func (s serverLogger) Noticef(format string, v ...any) { s.l.Debug(fmt.Sprintf(format, v...)) }
func (s serverLogger) Warnf(format string, v ...any)   { s.l.Warn(fmt.Sprintf(format, v...)) }
func (s serverLogger) Fatalf(format string, v ...any)  { s.l.Error(fmt.Sprintf(format, v...)) }
func (s serverLogger) Errorf(format string, v ...any)  { s.l.Error(fmt.Sprintf(format, v...)) }
func (s serverLogger) Debugf(format string, v ...any)  { s.l.Debug(fmt.Sprintf(format, v...)) }
func (s serverLogger) Tracef(string, ...any)           {}
