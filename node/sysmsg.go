package node

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/types/known/anypb"
)

// The node's own messages between nodes travel as anypb.Any, a protobuf
// message every protoactor remote already knows, with a type URL that says
// what is inside. Their payloads are small protobuf-wire records written
// with protowire (no generated code).
const (
	urlTerm      = "type.enode.dev/term"             // an ETF-encoded term
	urlMonitor   = "type.enode.dev/enode.Monitor"    // monitorReq
	urlDemonitor = "type.enode.dev/enode.Demonitor"  // demonitorReq
	urlDown      = "type.enode.dev/enode.Down"       // downMsg
	urlAck       = "type.enode.dev/enode.MonitorAck" // monitorAck
)

// monitorReq asks the target's node to watch a process for the origin.
type monitorReq struct {
	Ref        uint64
	Origin     string // the origin node's remote address
	OriginNode string // the origin node's name
	Target     string // a process id, or a registered name when ByName
	ByName     bool
}

// demonitorReq cancels a monitorReq.
type demonitorReq struct {
	Ref    uint64
	Origin string
}

// monitorAck tells the origin that a monitorReq is in place.
type monitorAck struct{ Ref uint64 }

// downMsg tells the origin that a monitored process is gone.
type downMsg struct {
	Ref     uint64
	Reason  Reason
	PIDAddr string // the process's PID, when known
	PIDID   string
}

type wireWriter struct{ b []byte }

func (w *wireWriter) u(num protowire.Number, v uint64) {
	w.b = protowire.AppendTag(w.b, num, protowire.VarintType)
	w.b = protowire.AppendVarint(w.b, v)
}

func (w *wireWriter) s(num protowire.Number, v string) {
	w.b = protowire.AppendTag(w.b, num, protowire.BytesType)
	w.b = protowire.AppendString(w.b, v)
}

// readFields calls fn for each field of a protobuf-wire record: a varint
// (v) or a length-delimited string (s). Unknown wire types are an error.
func readFields(b []byte, fn func(num protowire.Number, v uint64, s string)) error {
	for off := 0; off < len(b); {
		num, typ, n := protowire.ConsumeTag(b[off:])
		if n < 0 {
			return fmt.Errorf("bad tag at byte %d: %w", off, protowire.ParseError(n))
		}
		off += n
		switch typ {
		case protowire.VarintType:
			v, n := protowire.ConsumeVarint(b[off:])
			if n < 0 {
				return fmt.Errorf("bad varint at byte %d: %w", off, protowire.ParseError(n))
			}
			off += n
			fn(num, v, "")
		case protowire.BytesType:
			s, n := protowire.ConsumeString(b[off:])
			if n < 0 {
				return fmt.Errorf("bad string at byte %d: %w", off, protowire.ParseError(n))
			}
			off += n
			fn(num, 0, s)
		default:
			return fmt.Errorf("unexpected wire type %d at byte %d", typ, off)
		}
	}
	return nil
}

func (m monitorReq) wire() *anypb.Any {
	var w wireWriter
	w.u(1, m.Ref)
	w.s(2, m.Origin)
	w.s(3, m.OriginNode)
	w.s(4, m.Target)
	if m.ByName {
		w.u(5, 1)
	}
	return &anypb.Any{TypeUrl: urlMonitor, Value: w.b}
}

func (m demonitorReq) wire() *anypb.Any {
	var w wireWriter
	w.u(1, m.Ref)
	w.s(2, m.Origin)
	return &anypb.Any{TypeUrl: urlDemonitor, Value: w.b}
}

func (m monitorAck) wire() *anypb.Any {
	var w wireWriter
	w.u(1, m.Ref)
	return &anypb.Any{TypeUrl: urlAck, Value: w.b}
}

func (m downMsg) wire() *anypb.Any {
	var w wireWriter
	w.u(1, m.Ref)
	w.u(2, uint64(m.Reason))
	w.s(3, m.PIDAddr)
	w.s(4, m.PIDID)
	return &anypb.Any{TypeUrl: urlDown, Value: w.b}
}

// parseSys decodes one of the node's messages; ok is false for an Any that
// is not one of them.
func parseSys(a *anypb.Any) (msg any, ok bool, err error) {
	switch a.TypeUrl {
	case urlMonitor:
		var m monitorReq
		err = readFields(a.Value, func(num protowire.Number, v uint64, s string) {
			switch num {
			case 1:
				m.Ref = v
			case 2:
				m.Origin = s
			case 3:
				m.OriginNode = s
			case 4:
				m.Target = s
			case 5:
				m.ByName = v != 0
			}
		})
		return m, true, err
	case urlDemonitor:
		var m demonitorReq
		err = readFields(a.Value, func(num protowire.Number, v uint64, s string) {
			switch num {
			case 1:
				m.Ref = v
			case 2:
				m.Origin = s
			}
		})
		return m, true, err
	case urlAck:
		var m monitorAck
		err = readFields(a.Value, func(num protowire.Number, v uint64, _ string) {
			if num == 1 {
				m.Ref = v
			}
		})
		return m, true, err
	case urlDown:
		var m downMsg
		err = readFields(a.Value, func(num protowire.Number, v uint64, s string) {
			switch num {
			case 1:
				m.Ref = v
			case 2:
				m.Reason = Reason(v)
			case 3:
				m.PIDAddr = s
			case 4:
				m.PIDID = s
			}
		})
		if err == nil && !m.Reason.valid() {
			err = fmt.Errorf("unknown reason %d", m.Reason)
		}
		return m, true, err
	}
	return nil, false, nil
}
