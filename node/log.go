package node

import (
	"bytes"
	"context"
	"log"
	"log/slog"
)

// demoteHandler passes records to the node's handler with Info and Debug
// lowered to Debug: protoactor logs routine events (every connection, every
// actor system start) at Info, which would drown the node's own logs.
// Warnings and errors keep their level.
type demoteHandler struct{ h slog.Handler }

var _ slog.Handler = demoteHandler{}

func (d demoteHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return d.h.Enabled(ctx, demote(l))
}

func (d demoteHandler) Handle(ctx context.Context, r slog.Record) error {
	r2 := slog.NewRecord(r.Time, demote(r.Level), r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool { r2.AddAttrs(a); return true })
	return d.h.Handle(ctx, r2)
}

func (d demoteHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return demoteHandler{d.h.WithAttrs(as)}
}
func (d demoteHandler) WithGroup(g string) slog.Handler { return demoteHandler{d.h.WithGroup(g)} }

func demote(l slog.Level) slog.Level {
	if l < slog.LevelWarn {
		return slog.LevelDebug
	}
	return l
}

// memberlistWriter turns memberlist's log lines ("[DEBUG] memberlist: ...")
// into debug records of the node's logger, keeping memberlist's own level
// as an attribute. memberlist reports routine trouble (a failed probe, a
// refused push/pull during a partition) as [WARN]/[ERR]; the node reports
// what matters of it as node events, so all of it stays at debug.
type memberlistWriter struct{ l *slog.Logger }

func (w memberlistWriter) Write(p []byte) (int, error) {
	line := bytes.TrimRight(p, "\r\n")
	level := ""
	if len(line) > 0 && line[0] == '[' {
		if i := bytes.IndexByte(line, ']'); i > 0 {
			level = string(line[1:i])
			line = bytes.TrimLeft(line[i+1:], " ")
		}
	}
	line = bytes.TrimPrefix(line, []byte("memberlist: "))
	w.l.Debug(string(line), slog.String("lib", "memberlist"), slog.String("level", level))
	return len(p), nil
}

// memberlistLogger returns the *log.Logger memberlist writes to.
func memberlistLogger(l *slog.Logger) *log.Logger {
	return log.New(memberlistWriter{l}, "", 0)
}
