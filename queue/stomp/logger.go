package stomp

import (
	"context"
	"fmt"
	"log/slog"
)

// slogLogger routes go-stomp's messages to slog at debug level: the
// library reports every closed subscription of a lost connection, which
// the provider handles itself.
type slogLogger struct{ l *slog.Logger }

func (s slogLogger) log(format string, v ...any) {
	if s.l.Enabled(context.Background(), slog.LevelDebug) {
		s.l.Debug(fmt.Sprintf(format, v...), "component", "go-stomp")
	}
}

func (s slogLogger) Debugf(format string, v ...any)   { s.log(format, v...) }
func (s slogLogger) Infof(format string, v ...any)    { s.log(format, v...) }
func (s slogLogger) Warningf(format string, v ...any) { s.log(format, v...) }
func (s slogLogger) Errorf(format string, v ...any)   { s.log(format, v...) }
func (s slogLogger) Debug(msg string)                 { s.log("%s", msg) }
func (s slogLogger) Info(msg string)                  { s.log("%s", msg) }
func (s slogLogger) Warning(msg string)               { s.log("%s", msg) }
func (s slogLogger) Error(msg string)                 { s.log("%s", msg) }
