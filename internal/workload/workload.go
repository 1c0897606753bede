// Package workload builds the reference workload of shared/workload.md: a
// worker state of about 4 MB as an Erlang term, and the seeded step that
// changes a small part of it between two replications. Every benchmark and
// demo in enode uses it, so that their figures speak of the same thing.
//
// The state, for worker W:
//
//	{worker_state, W, Version, TimestampMs, Sessions, Counters, Blob}
//
// and a step changes 100 sessions, 50 counters, the version and timestamp,
// and with small probabilities appends a session, drops the first one, or
// overwrites 64 bytes of the blob. Steps use the term package's update
// helpers, so the new state shares everything untouched with the old one.
package workload

import (
	"fmt"
	"math/rand/v2"
	"strconv"

	"github.com/enode-dev/enode/term"
)

// Variant is a size of the workload state.
type Variant int

// The variants: Small is about 40 KB, Reference about 4 MB (3,945,987 bytes
// as ETF), Large about 40 MB. Changes per step are the same for all three.
const (
	Small Variant = iota
	Reference
	Large
)

// Params are the dimensions of a variant's state.
type Params struct {
	Sessions  int // elements of the session list
	Counters  int // keys of the counter map
	BlobBytes int // size of the blob binary
}

// Params returns the dimensions of v.
func (v Variant) Params() Params {
	switch v {
	case Small:
		return Params{Sessions: 320, Counters: 100, BlobBytes: 16 << 10}
	case Large:
		return Params{Sessions: 320_000, Counters: 100_000, BlobBytes: 8 << 20}
	default:
		return Params{Sessions: 32_000, Counters: 10_000, BlobBytes: 1 << 20}
	}
}

func (v Variant) String() string {
	switch v {
	case Small:
		return "small"
	case Reference:
		return "reference"
	case Large:
		return "large"
	}
	return "Variant(" + strconv.Itoa(int(v)) + ")"
}

// ParseVariant reads "small", "reference" or "large".
func ParseVariant(s string) (Variant, error) {
	switch s {
	case "small":
		return Small, nil
	case "reference", "ref":
		return Reference, nil
	case "large":
		return Large, nil
	}
	return 0, fmt.Errorf("workload: unknown state size %q (want small, reference or large)", s)
}

// Positions of the state tuple's fields (0-based).
const (
	FieldWorker    = 1
	FieldVersion   = 2
	FieldTimestamp = 3
	FieldSessions  = 4
	FieldCounters  = 5
	FieldBlob      = 6
)

// InitialTimestampMs is the TimestampMs of the reference state.
const InitialTimestampMs = 1_700_000_000_000

// State returns the initial state of worker w for variant v, at Version 1
// and InitialTimestampMs: for w = 42 and Reference, exactly the term that
// shared/anchors/erl_codec_bench.escript builds.
func State(v Variant, w int) *term.Tuple {
	p := v.Params()
	sessions := make([]term.Term, p.Sessions)
	for i := 1; i <= p.Sessions; i++ {
		sessions[i-1] = Session(i)
	}
	pairs := make([]term.Pair, p.Counters)
	for i := 1; i <= p.Counters; i++ {
		pairs[i-1] = term.Pair{Key: counterKey(i), Value: term.Int(i)}
	}
	blob := make([]byte, p.BlobBytes)
	for i := range blob {
		blob[i] = "0123456789abcdef"[i%16]
	}
	return term.Record("worker_state",
		term.Int(w), term.Int(1), term.Int(InitialTimestampMs),
		term.NewList(sessions...), term.MapOf(pairs...), term.NewBinary(blob))
}

// Session returns session number i of the initial state:
// {session, I, {timestamp, 86996746+I}, {tid, I rem 7}, {loc, {I rem 100, I rem 37}, na}, <<"user-", I:10 digits>>}.
func Session(i int) *term.Tuple {
	return term.Record("session",
		term.Int(i),
		term.Record("timestamp", term.Int(86996746+i)),
		term.Record("tid", term.Int(i%7)),
		term.Record("loc", term.NewTuple(term.Int(i%100), term.Int(i%37)), term.Atom("na")),
		term.BinaryString(fmt.Sprintf("user-%010d", i)))
}

func counterKey(i int) *term.Binary {
	return term.BinaryString("ctr-" + strconv.Itoa(i))
}

// Stepper applies the workload's steps from a seeded random generator, so
// that a run can be repeated exactly.
type Stepper struct {
	rng *rand.Rand
	// Counters is the number of keys in the counter map (they are never
	// added or removed by a step).
	counters int
}

// NewStepper returns a Stepper for states of variant v, seeded with seed.
func NewStepper(v Variant, seed uint64) *Stepper {
	return &Stepper{rng: rand.New(rand.NewPCG(seed, seed^0x5DEECE66D)), counters: v.Params().Counters}
}

// Step returns the state after one step at time nowMs. The result shares
// every untouched subterm with s. It panics if s is not a workload state.
func (st *Stepper) Step(s *term.Tuple, nowMs int64) *term.Tuple {
	r := st.rng
	sessions := s.At(FieldSessions).(*term.List)
	n := sessions.Len()

	// 100 distinct random sessions: timestamp +1..1000, loc X set anew.
	touched := min(100, n)
	for _, i := range distinct(r, touched, n) {
		sess := sessions.At(i).(*term.Tuple)
		ts := sess.At(2).(*term.Tuple)
		ts = ts.Set(1, ts.At(1).(term.Int)+term.Int(1+r.IntN(1000)))
		loc := sess.At(4).(*term.Tuple)
		xy := loc.At(1).(*term.Tuple)
		x := int(xy.At(0).(term.Int))
		xy = xy.Set(0, term.Int((x+1+r.IntN(99))%100))
		sess = sess.Set(2, ts).Set(4, loc.Set(1, xy))
		sessions = sessions.Set(i, sess)
	}

	// 50 random counters: +1.
	counters := s.At(FieldCounters).(*term.Map)
	for _, i := range distinct(r, min(50, st.counters), st.counters) {
		k := counterKey(i + 1)
		counters = counters.Update(k, func(v term.Term, ok bool) term.Term {
			if !ok {
				return term.Int(1)
			}
			return v.(term.Int) + 1
		})
	}

	// 5%: append a session; 2%: drop the first one.
	if r.IntN(100) < 5 {
		next := 1
		if n > 0 {
			next = int(sessions.At(sessions.Len()-1).(*term.Tuple).At(1).(term.Int)) + 1
		}
		sessions = sessions.Append(Session(next))
	}
	if r.IntN(100) < 2 && sessions.Len() > 0 {
		sessions = sessions.Delete(0, 1)
	}

	// 10%: overwrite 64 bytes of the blob at a random offset.
	blob := s.At(FieldBlob).(*term.Binary)
	if r.IntN(100) < 10 && blob.Len() >= 64 {
		var p [64]byte
		for i := range p {
			p[i] = byte(r.Uint32())
		}
		blob = blob.Set(r.IntN(blob.Len()-63), p[:])
	}

	version := s.At(FieldVersion).(term.Int)
	return s.Set(FieldVersion, version+1).
		Set(FieldTimestamp, term.Int(nowMs)).
		Set(FieldSessions, sessions).
		Set(FieldCounters, counters).
		Set(FieldBlob, blob)
}

// distinct returns k distinct random indexes in [0, n).
func distinct(r *rand.Rand, k, n int) []int {
	seen := make(map[int]struct{}, k)
	out := make([]int, 0, k)
	for len(out) < k {
		i := r.IntN(n)
		if _, dup := seen[i]; dup {
			continue
		}
		seen[i] = struct{}{}
		out = append(out, i)
	}
	return out
}

// Diverge returns s with frac of its sessions changed as a step changes
// them (timestamp +1..1000, in place: no session added or dropped), chosen
// by seed, sharing everything else with s. It makes a state that differs
// from s by a known share, for resync tests and figures.
func Diverge(s *term.Tuple, frac float64, seed uint64) *term.Tuple {
	r := rand.New(rand.NewPCG(seed, 7))
	sessions := s.At(FieldSessions).(*term.List)
	n := int(float64(sessions.Len()) * frac)
	for _, i := range r.Perm(sessions.Len())[:n] {
		sess := sessions.At(i).(*term.Tuple)
		ts := sess.At(2).(*term.Tuple)
		sessions = sessions.Set(i, sess.Set(2, ts.Set(1, ts.At(1).(term.Int)+term.Int(1+r.IntN(1000)))))
	}
	return s.Set(FieldSessions, sessions)
}
