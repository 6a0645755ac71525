package badger

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	badgerdb "github.com/dgraph-io/badger/v4"
)

// badgerLogger passes Badger's warnings and errors to slog and drops the
// rest: Badger logs every compaction and table open at info level.
type badgerLogger struct{ l *slog.Logger }

var _ badgerdb.Logger = badgerLogger{}

func (b badgerLogger) log(level slog.Level, format string, args ...any) {
	if !b.l.Enabled(context.Background(), level) {
		return
	}
	b.l.Log(context.Background(), level, strings.TrimSpace(fmt.Sprintf(format, args...)), "component", "badger")
}

func (b badgerLogger) Errorf(format string, args ...any)   { b.log(slog.LevelError, format, args...) }
func (b badgerLogger) Warningf(format string, args ...any) { b.log(slog.LevelWarn, format, args...) }
func (b badgerLogger) Infof(string, ...any)                {}
func (b badgerLogger) Debugf(string, ...any)               {}
