package delta

import (
	"testing"

	"github.com/enode-dev/enode/internal/workload"
	"github.com/enode-dev/enode/term"
)

// The measurement behind the choice of wire form (see doc.go): the compact
// form against the same spec with its embedded values in the External Term
// Format, and against the spec written as an Erlang term in ETF.

// specTerm writes a spec as an Erlang term: {tuple, [{retain,N}, ...]} and
// so on.
func specTerm(s Spec) term.Term {
	ops := func(ops []Op) term.Term {
		var l []term.Term
		for _, o := range ops {
			switch o.Kind {
			case OpRetain, OpDelete:
				l = append(l, term.NewTuple(term.Atom(o.Kind.String()), term.Int(o.N)))
			case OpInsert:
				l = append(l, term.NewTuple(term.Atom("insert"), term.NewList(o.Values...)))
			case OpEdit:
				l = append(l, term.NewTuple(term.Atom("edit"), specTerm(o.Spec)))
			}
		}
		return term.NewList(l...)
	}
	switch s := s.(type) {
	case Replace:
		return term.NewTuple(term.Atom("replace"), s.Value)
	case Tuple:
		return term.NewTuple(term.Atom("tuple"), ops(s.Ops))
	case List:
		return term.NewTuple(term.Atom("list"), ops(s.Ops), specTerm(s.Tail))
	case Map:
		var l []term.Term
		for _, e := range s.Entries {
			switch e.Kind {
			case MapPut:
				l = append(l, term.NewTuple(term.Atom("put"), e.Key, e.Value))
			case MapRemove:
				l = append(l, term.NewTuple(term.Atom("remove"), e.Key))
			case MapEdit:
				l = append(l, term.NewTuple(term.Atom("edit"), e.Key, specTerm(e.Spec)))
			}
		}
		return term.NewTuple(term.Atom("map"), term.NewList(l...))
	case Binary:
		var l []term.Term
		for _, o := range s.Ops {
			if o.Kind == OpInsert {
				l = append(l, term.NewTuple(term.Atom("insert"), term.NewBinary(o.Bytes)))
			} else {
				l = append(l, term.NewTuple(term.Atom(o.Kind.String()), term.Int(o.N)))
			}
		}
		return term.NewTuple(term.Atom("binary"), term.NewList(l...))
	}
	return term.Atom("keep")
}

// embeddedSizes returns the sizes of the values a spec embeds, in the
// compact form and in ETF with a version byte each.
func embeddedSizes(s Spec) (compact, etf int) {
	add := func(v term.Term) {
		compact += valueSize(v, infinite)
		n, err := term.EncodedSize(v)
		if err != nil {
			panic(err)
		}
		etf += n
	}
	var walk func(Spec)
	walkOps := func(ops []Op) {
		for _, o := range ops {
			for _, v := range o.Values {
				add(v)
			}
			if o.Kind == OpEdit {
				walk(o.Spec)
			}
		}
	}
	walk = func(s Spec) {
		switch s := s.(type) {
		case Replace:
			add(s.Value)
		case Tuple:
			walkOps(s.Ops)
		case List:
			walkOps(s.Ops)
			walk(s.Tail)
		case Map:
			for _, e := range s.Entries {
				add(e.Key)
				if e.Kind == MapPut {
					add(e.Value)
				}
				if e.Kind == MapEdit {
					walk(e.Spec)
				}
			}
		}
	}
	walk(s)
	return compact, etf
}

func BenchmarkWireForms(b *testing.B) {
	s := workload.State(workload.Reference, 42)
	st := workload.NewStepper(workload.Reference, 1)
	var compact, withETF, asTerm int
	const steps = 20
	for k := range steps {
		n := st.Step(s, int64(k))
		spec := Diff(s, n)
		enc, err := Encode(spec)
		if err != nil {
			b.Fatal(err)
		}
		c, e := embeddedSizes(spec)
		compact += len(enc)
		withETF += len(enc) - c + e
		size, err := term.EncodedSize(specTerm(spec))
		if err != nil {
			b.Fatal(err)
		}
		asTerm += size
		s = n
	}
	for b.Loop() {
		if _, err := Encode(Keep{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(compact)/steps, "compact-B/delta")
	b.ReportMetric(float64(withETF)/steps, "etf-values-B/delta")
	b.ReportMetric(float64(asTerm)/steps, "etf-term-B/delta")
}
