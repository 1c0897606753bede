package delta

import (
	"strconv"
	"strings"

	"github.com/enode-dev/enode/term"
)

// Format returns a readable form of spec for logs, tests and the CLI, with
// values in Erlang syntax:
//
//	tuple[retain 1, edit tuple[retain 1, edit =86996817]]
//	list[delete 1, retain 4, insert {session,7}]
//	map[put <<"k">> => 1, remove a, edit b tuple[...]]
//	binary[retain 1000, delete 5, insert <<"hello">>]
//
// "=V" is Replace(V) and "keep" the empty spec. It is not a wire form: use
// Encode for that.
func Format(spec Spec) string {
	var b strings.Builder
	format(&b, spec)
	return b.String()
}

func format(b *strings.Builder, spec Spec) {
	switch s := spec.(type) {
	case nil, Keep:
		b.WriteString("keep")
	case Replace:
		b.WriteByte('=')
		formatTerm(b, s.Value)
	case Tuple:
		b.WriteString("tuple")
		formatOps(b, s.Ops)
	case List:
		b.WriteString("list")
		formatOps(b, s.Ops)
		if !isEmpty(s.Tail) {
			b.WriteString(" tail ")
			format(b, s.Tail)
		}
	case Map:
		b.WriteString("map[")
		for k, e := range s.Entries {
			if k > 0 {
				b.WriteString(", ")
			}
			b.WriteString(e.Kind.String())
			b.WriteByte(' ')
			formatTerm(b, e.Key)
			switch e.Kind {
			case MapPut:
				b.WriteString(" => ")
				formatTerm(b, e.Value)
			case MapEdit:
				b.WriteByte(' ')
				format(b, e.Spec)
			}
		}
		b.WriteByte(']')
	case Binary:
		b.WriteString("binary[")
		for k, op := range s.Ops {
			if k > 0 {
				b.WriteString(", ")
			}
			b.WriteString(op.Kind.String())
			b.WriteByte(' ')
			if op.Kind == OpInsert {
				formatTerm(b, term.NewBinary(op.Bytes))
			} else {
				b.WriteString(strconv.Itoa(op.N))
			}
		}
		b.WriteByte(']')
	case Invalid:
		b.WriteString("invalid(" + strconv.Quote(s.Reason) + ")")
	default:
		b.WriteString("?")
	}
}

func formatOps(b *strings.Builder, ops []Op) {
	b.WriteByte('[')
	for k, op := range ops {
		if k > 0 {
			b.WriteString(", ")
		}
		b.WriteString(op.Kind.String())
		switch op.Kind {
		case OpRetain, OpDelete:
			b.WriteString(" " + strconv.Itoa(op.N))
		case OpInsert:
			for j, v := range op.Values {
				if j > 0 {
					b.WriteByte(',')
				}
				b.WriteByte(' ')
				formatTerm(b, v)
			}
		case OpEdit:
			b.WriteByte(' ')
			format(b, op.Spec)
		}
	}
	b.WriteByte(']')
}

func formatTerm(b *strings.Builder, t term.Term) {
	if t == nil {
		b.WriteString("nil")
		return
	}
	b.WriteString(term.Format(t))
}
