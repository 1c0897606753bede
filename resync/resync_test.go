package resync

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/enode-dev/enode/delta"
	"github.com/enode-dev/enode/internal/workload"
	"github.com/enode-dev/enode/term"
	"github.com/stretchr/testify/require"
)

// diverge changes frac of the sessions of s as a workload step would (new
// timestamp and loc X) and returns the result and the encoded size of the
// true change.
func diverge(t testing.TB, s *term.Tuple, frac float64, seed uint64) (*term.Tuple, int) {
	r := rand.New(rand.NewPCG(seed, 7))
	sessions := s.At(workload.FieldSessions).(*term.List)
	n := int(float64(sessions.Len()) * frac)
	for _, i := range r.Perm(sessions.Len())[:n] {
		sess := sessions.At(i).(*term.Tuple)
		ts := sess.At(2).(*term.Tuple)
		sess = sess.Set(2, ts.Set(1, ts.At(1).(term.Int)+term.Int(1+r.IntN(1000))))
		sessions = sessions.Set(i, sess)
	}
	out := s.Set(workload.FieldSessions, sessions)
	enc, err := delta.Encode(delta.Diff(s, out))
	require.NoError(t, err)
	return out, len(enc)
}

func checkSync(t *testing.T, src, cp term.Term) Result {
	t.Helper()
	res, err := Sync(src, cp, DefaultConfig())
	require.NoError(t, err)
	require.True(t, term.Equal(src, res.State), "copy must end equal to the source")
	require.LessOrEqual(t, res.RoundTrips, 3)
	return res
}

func TestReferenceOnePercent(t *testing.T) {
	base := workload.State(workload.Reference, 42)
	src, trueBytes := diverge(t, base, 0.01, 1)
	res := checkSync(t, src, base)
	t.Logf("1%%: rt=%d toSrc=%d toCopy=%d hash=%d delta=%d true=%d kf=%v", res.RoundTrips, res.BytesToSrc, res.BytesToCopy, res.HashBytes, res.Source.DeltaBytes, trueBytes, res.Keyframe)
	require.False(t, res.Keyframe)
}

func TestSmallDivergenceWithCorruption(t *testing.T) {
	st := workload.NewStepper(workload.Reference, 3)
	base := workload.State(workload.Reference, 1)
	src := base
	for i := range 3 {
		src = st.Step(src, int64(1000+i))
	}
	// The copy is behind, and one of its sessions is corrupt.
	sess := base.At(workload.FieldSessions).(*term.List)
	cp := base.Set(workload.FieldSessions, sess.Set(7, term.Atom("garbage")))
	res := checkSync(t, src, cp)
	require.False(t, res.Keyframe)
}

func TestPartitionHeals(t *testing.T) {
	base := workload.State(workload.Small, 1)
	a, b := base, base
	sa, sb := workload.NewStepper(workload.Small, 10), workload.NewStepper(workload.Small, 11)
	for i := range 6 {
		a = sa.Step(a, int64(i))
		b = sb.Step(b, int64(i))
	}
	checkSync(t, a, b)
	checkSync(t, b, a)
}

func TestBrandNewCopyGetsKeyframe(t *testing.T) {
	src := workload.State(workload.Small, 1)
	res := checkSync(t, src, nil)
	require.True(t, res.Keyframe)
	require.Equal(t, 1, res.RoundTrips)
}

func TestEqualIsOneRoundTrip(t *testing.T) {
	src := workload.State(workload.Small, 1)
	res := checkSync(t, src, src)
	require.Equal(t, 1, res.RoundTrips)
	require.Zero(t, res.Source.DeltaBytes)
}

func TestUnrelatedStateIsKeyframe(t *testing.T) {
	src := workload.State(workload.Small, 1)
	res := checkSync(t, src, term.Atom("other"))
	require.True(t, res.Keyframe)
}

// randTerm builds a random term of bounded depth with lists, maps, binaries
// and tuples long enough to be split into ranges and buckets.
func randTerm(r *rand.Rand, depth int) term.Term {
	k := r.IntN(9)
	if depth <= 0 {
		k = r.IntN(3)
	}
	switch k {
	case 0:
		return term.Int(r.IntN(50))
	case 1:
		return term.Atom([]string{"a", "b", "ok", "x"}[r.IntN(4)])
	case 2:
		b := make([]byte, r.IntN(600))
		for i := range b {
			b[i] = byte(r.IntN(4))
		}
		return term.NewBinary(b)
	case 3, 4:
		n := r.IntN(5)
		es := make([]term.Term, n)
		for i := range es {
			es[i] = randTerm(r, depth-1)
		}
		return term.NewTuple(es...)
	case 5, 6:
		n := r.IntN(120)
		es := make([]term.Term, n)
		for i := range es {
			es[i] = randTerm(r, depth-2)
		}
		// ImproperList with no elements gives a *List that is not in
		// normal form (reported to the term owner), so improper lists here
		// always have elements.
		if n > 0 && r.IntN(8) == 0 {
			return term.ImproperList(es, term.Atom("tail"))
		}
		return term.NewList(es...)
	default:
		n := r.IntN(80)
		ps := make([]term.Pair, n)
		for i := range ps {
			ps[i] = term.Pair{Key: term.Int(r.IntN(300)), Value: randTerm(r, depth-2)}
		}
		return term.MapOf(ps...)
	}
}

// randEdit changes a random place of t.
func randEdit(r *rand.Rand, t term.Term) term.Term {
	switch x := t.(type) {
	case *term.Tuple:
		if x.Len() > 0 && r.IntN(4) != 0 {
			i := r.IntN(x.Len())
			return x.Set(i, randEdit(r, x.At(i)))
		}
	case *term.List:
		if x.Len() > 0 {
			i := r.IntN(x.Len())
			switch r.IntN(5) {
			case 0:
				j := min(x.Len(), i+1+r.IntN(3))
				if i == 0 && j == x.Len() && !x.IsProper() {
					return x // would leave [ | tail], see randTerm
				}
				return x.Delete(i, j)
			case 1:
				return x.Insert(i, randTerm(r, 1))
			case 2:
				return x.Append(randTerm(r, 1))
			default:
				return x.Set(i, randEdit(r, x.At(i)))
			}
		}
	case *term.Map:
		switch r.IntN(4) {
		case 0:
			return x.Put(term.Int(r.IntN(400)), randTerm(r, 1))
		case 1:
			for k := range x.All() {
				if r.IntN(3) == 0 {
					return x.Remove(k)
				}
			}
		default:
			for k, v := range x.All() {
				if r.IntN(4) == 0 {
					return x.Put(k, randEdit(r, v))
				}
			}
		}
	case *term.Binary:
		if x.Len() > 0 {
			if r.IntN(4) == 0 {
				return x.Append([]byte{1, 2, 3})
			}
			off := r.IntN(x.Len())
			p := make([]byte, min(x.Len()-off, 1+r.IntN(40)))
			for i := range p {
				p[i] = byte(r.IntN(256))
			}
			return x.Set(off, p)
		}
	}
	return randTerm(r, 2)
}

func TestPropertyRandomEdits(t *testing.T) {
	r := rand.New(rand.NewPCG(2026, 8))
	for i := range 300 {
		base := randTerm(r, 4)
		a, b := base, base
		for range 1 + r.IntN(6) {
			a = randEdit(r, a)
		}
		for range r.IntN(4) {
			b = randEdit(r, b)
		}
		for _, cfg := range []Config{DefaultConfig(), {FanOut: 4, MaxRounds: 5, HelloDepth: 1, ReplaceBelow: 0}, {FanOut: 2, MaxRounds: 1, HelloDepth: 0, ReplaceBelow: 10}} {
			res, err := Sync(a, b, cfg)
			require.NoError(t, err, "case %d", i)
			require.True(t, term.Equal(a, res.State), "case %d: %s vs %s", i, term.Format(a), term.Format(res.State))
			require.LessOrEqual(t, res.RoundTrips, cfg.MaxRounds)
		}
	}
}

func TestReferenceBounds(t *testing.T) {
	base := workload.State(workload.Reference, 42)
	src, trueBytes := diverge(t, base, 0.01, 1)
	res := checkSync(t, src, base)
	kf, err := term.EncodedSize(src)
	require.NoError(t, err)
	// Everything sent stays far below a keyframe, and within twice the true
	// change plus the hashes.
	require.Less(t, res.BytesToSrc+res.BytesToCopy, kf/20)
	// The delta carries only the differing fields of the differing
	// sessions: within twice the true change (issue 8), hashes apart.
	require.LessOrEqual(t, res.Source.DeltaBytes, 2*trueBytes)
	require.Less(t, res.HashBytes, kf/40)
}

// session is a small record like the reference workload's sessions.
func session(i int, ts int) term.Term {
	return term.NewTuple(term.Atom("session"), term.Int(i), term.NewTuple(term.Atom("timestamp"), term.Int(ts)),
		term.NewBinary([]byte(fmt.Sprintf("user-%010d-with-a-longer-name", i))))
}

func sessions(n int, change map[int]int) *term.List {
	es := make([]term.Term, n)
	for i := range es {
		es[i] = session(i, 1000+i+change[i])
	}
	return term.NewList(es...)
}

// firstAsk starts an exchange and returns both sides and the source's
// first answer, an Ask.
func firstAsk(t *testing.T, src, cp term.Term, cfg Config) (*Source, *Copy, Message) {
	t.Helper()
	s, err := NewSource(src, cfg)
	require.NoError(t, err)
	c, err := NewCopy(cp, cfg)
	require.NoError(t, err)
	ask, err := s.Handle(c.Start())
	require.NoError(t, err)
	require.Equal(t, MsgAsk, ask.Kind)
	return s, c, ask
}

// runToEnd passes messages from the copy's m on until the exchange ends
// and returns the source's last message, which the copy has applied.
func runToEnd(t *testing.T, s *Source, c *Copy, m Message) Message {
	t.Helper()
	for {
		out, err := s.Handle(m)
		require.NoError(t, err)
		reply, done, err := c.Handle(out)
		require.NoError(t, err)
		if done {
			return out
		}
		m = reply
	}
}

// TestCopyAnswersWithWhatDiffers follows one exchange message by message:
// the source sends its hashes of the nodes it asks about, and the copy
// answers with only the children that differ, so the delta names the
// changed field, not the whole record.
func TestCopyAnswersWithWhatDiffers(t *testing.T) {
	cfg := DefaultConfig()
	src := term.NewTuple(term.Atom("s"), sessions(64, map[int]int{3: 7, 40: 9}))
	cp := term.NewTuple(term.Atom("s"), sessions(64, nil))
	s, c, ask := firstAsk(t, src, cp, cfg)
	require.Empty(t, ask.Ask, "the source sends its hashes rather than asking for the copy's")
	var pushed []Path
	for _, e := range ask.Expansions {
		pushed = append(pushed, e.Path)
		require.Len(t, e.Hashes, 16)
	}
	// Sessions 3 and 40 are in the ranges [0,16) and [32,48) of the list.
	require.Equal(t, []Path{
		{{Kind: StepElem, A: 1}, {Kind: StepRange, A: 0, B: 16}},
		{{Kind: StepElem, A: 1}, {Kind: StepRange, A: 32, B: 48}},
	}, pushed)
	hashes, done, err := c.Handle(ask)
	require.NoError(t, err)
	require.False(t, done)
	var answered []Path
	for _, e := range hashes.Expansions {
		answered = append(answered, e.Path)
		require.Equal(t, term.KindTuple, e.Kind)
		require.Len(t, e.Hashes, 4, "the differing session's fields")
	}
	require.Equal(t, []Path{
		{{Kind: StepElem, A: 1}, {Kind: StepElem, A: 3}},
		{{Kind: StepElem, A: 1}, {Kind: StepElem, A: 40}},
	}, answered)
	// The source answers with the fields' parts; the copy marks the
	// differing timestamp, and the delta replaces only that.
	m := runToEnd(t, s, c, hashes)
	require.Equal(t, MsgDone, m.Kind)
	require.True(t, term.Equal(src, c.State()))
	enc, err := delta.Encode(m.Delta)
	require.NoError(t, err)
	whole, err := term.EncodedSize(session(3, 0))
	require.NoError(t, err)
	require.Less(t, len(enc), 2*whole, "the delta replaces fields, not sessions")
}

// TestCopyAnswersWithItsOwnShape: when the copy sees an asked node
// differently from the source (here a list one element longer), it
// answers with its own expansion of the node, and the exchange still ends
// equal.
func TestCopyAnswersWithItsOwnShape(t *testing.T) {
	cfg := DefaultConfig()
	src := term.NewTuple(term.Atom("s"), sessions(64, map[int]int{50: 1}))
	cp := term.NewTuple(term.Atom("s"), sessions(64, nil).Append(session(64, 0)))
	s, c, ask := firstAsk(t, src, cp, cfg)
	hashes, _, err := c.Handle(ask)
	require.NoError(t, err)
	require.Len(t, hashes.Expansions, len(ask.Expansions))
	for i, e := range hashes.Expansions {
		require.Equal(t, ask.Expansions[i].Path, e.Path)
		require.Equal(t, uint64(65), e.Len, "the copy's length")
	}
	require.Equal(t, MsgDone, runToEnd(t, s, c, hashes).Kind, "a delta, not a keyframe")
	require.True(t, term.Equal(src, c.State()))
}

// TestCopyExpandsAskedPaths: an Ask that names paths without the source's
// hashes gets the copy's own expansions of those paths.
func TestCopyExpandsAskedPaths(t *testing.T) {
	cp := term.NewTuple(term.Atom("s"), sessions(64, nil))
	c, err := NewCopy(cp, DefaultConfig())
	require.NoError(t, err)
	p := Path{{Kind: StepElem, A: 1}, {Kind: StepRange, A: 16, B: 32}}
	m, done, err := c.Handle(Message{Kind: MsgAsk, Ask: []Path{p}})
	require.NoError(t, err)
	require.False(t, done)
	require.Len(t, m.Expansions, 1)
	require.Equal(t, p, m.Expansions[0].Path)
	require.Len(t, m.Expansions[0].Hashes, 16)
	require.Equal(t, term.Hash(session(16, 1016)), m.Expansions[0].Hashes[0])
}
