package resync

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/enode-dev/enode/delta"
	"github.com/enode-dev/enode/term"
)

// Errors returned by the package; test for them with errors.Is.
var (
	// ErrBadConfig is returned by Config.Validate (and the constructors)
	// for a field out of range; the error names the field.
	ErrBadConfig = errors.New("resync: invalid config")

	// ErrProtocol is returned by Source.Handle and Copy.Handle for a
	// message that is not expected in the current state (an Ask after the
	// exchange ended, a Hello to a copy, too many rounds).
	ErrProtocol = errors.New("resync: unexpected message")

	// ErrVerify is returned by Copy.Handle when the state it ends with
	// does not hash to the source's root: the delta did not apply, or a
	// hash collision hid a difference. The copy keeps its old state; the
	// caller asks for a keyframe.
	ErrVerify = errors.New("resync: resynced state does not match the source")

	// ErrCorrupt is returned by DecodeMessage for input that is not a
	// well-formed message; the error says at which byte offset.
	ErrCorrupt = errors.New("resync: corrupt message")
)

// Config tunes the comparison. Both sides must use the same FanOut.
type Config struct {
	// FanOut is the number of children of a list or binary range and of a
	// map bucket split (rounded down to a power of two for maps).
	FanOut int
	// MaxRounds is the number of round trips after which the source stops
	// descending and replaces whatever still differs.
	MaxRounds int
	// HelloDepth is how many levels under the root the copy hashes in its
	// first message, unasked (1: the root's children only).
	HelloDepth int
	// ReplaceBelow is the encoded size (bytes) under which a differing
	// subterm is sent whole rather than compared further.
	ReplaceBelow int
}

// DefaultConfig returns the configuration sized for the reference workload
// (see workload.md). Each round trip compares two levels of the tree (the
// source compares the copy's hashes, the copy the source's), so with two
// levels in the Hello a fan-out of 16 reaches the changed field of a
// session (32,000 sessions are four levels of 16, a session's fields the
// fifth, their parts the sixth) in three round trips, with half the hashes
// per differing node of a fan-out of 32.
func DefaultConfig() Config {
	return Config{
		FanOut:       16, // 16^4 covers 65,536 list elements, 16^5 bytes is 1 MiB
		MaxRounds:    3,  // the target of issue 8 for the reference state
		HelloDepth:   2,  // the root's children and grandchildren: about 50 hashes
		ReplaceBelow: 48, // a tuple of a few small fields is cheaper to send than to hash
	}
}

// Validate reports the first field out of range.
func (c Config) Validate() error {
	switch {
	case c.FanOut < 2 || c.FanOut > 1<<16:
		return fmt.Errorf("%w: FanOut %d not in [2, 65536]", ErrBadConfig, c.FanOut)
	case c.MaxRounds < 1:
		return fmt.Errorf("%w: MaxRounds %d < 1", ErrBadConfig, c.MaxRounds)
	case c.HelloDepth < 0 || c.HelloDepth > 8:
		return fmt.Errorf("%w: HelloDepth %d not in [0, 8]", ErrBadConfig, c.HelloDepth)
	case c.ReplaceBelow < 0:
		return fmt.Errorf("%w: ReplaceBelow %d < 0", ErrBadConfig, c.ReplaceBelow)
	}
	return nil
}

// MsgKind is the kind of a protocol message.
type MsgKind uint8

// The messages. The copy opens with Hello; the source answers each Hello or
// Hashes with Ask (descend further), Done (here is the delta) or Keyframe
// (here is the whole state); the copy answers each Ask with Hashes.
const (
	// MsgHello carries the copy's root hash and its first levels of hashes.
	MsgHello MsgKind = iota + 1
	// MsgHashes carries the copy's answer to an Ask: its expansions of the
	// children that differ from the source's hashes (or of the asked node
	// itself, when it sees the node differently), and of the asked paths.
	MsgHashes
	// MsgAsk carries the source's expansions of the nodes that differ (the
	// copy compares them with its own), and optionally paths whose
	// children the copy should hash without comparing.
	MsgAsk
	// MsgDone carries the delta that turns the copy into the source.
	MsgDone
	// MsgKeyframe carries the whole source state.
	MsgKeyframe
)

func (k MsgKind) String() string {
	switch k {
	case MsgHello:
		return "hello"
	case MsgHashes:
		return "hashes"
	case MsgAsk:
		return "ask"
	case MsgDone:
		return "done"
	case MsgKeyframe:
		return "keyframe"
	}
	return "invalid"
}

// Message is one message of the comparison. Which fields are used depends
// on Kind; see the MsgKind constants.
type Message struct {
	Kind MsgKind
	// Root is the copy's root hash (Hello) or the source's (Done,
	// Keyframe), which the copy checks its result against.
	Root uint64
	// Empty says the copy has no state at all (Hello).
	Empty bool
	// Expansions are the copy's hashes (Hello, Hashes) or the source's
	// (Ask).
	Expansions []Expansion
	// Ask lists nodes whose children the copy hashes and sends without
	// comparing (Ask); the source sends Expansions instead.
	Ask []Path
	// Delta turns the copy's state into the source's (Done).
	Delta delta.Spec
	// State is the source's whole state (Keyframe).
	State term.Term
}

// Expansion is one side's view of one node: its shape, from which both
// sides derive the same children, and that side's hash of each child. In
// the copy's messages, Kind 0 (no hashes) marks a node the copy does not
// have or wants sent whole.
type Expansion struct {
	Path   Path
	Kind   term.Kind
	Len    uint64   // tuple arity, list length, binary bytes, map size
	Keyed  bool     // a map node whose children are its keys
	Keys   []uint64 // the key hashes of a keyed map node, in child order
	Hashes []uint64 // one per child, in child order
	Tail   uint64   // a whole list's tail hash (term.Hash of [] when proper)
}

// hasTail reports whether an expansion carries a tail hash: a whole list.
func (e Expansion) hasTail() bool { return e.Kind == term.KindList && !isPart(e.Path) }

func isPart(p Path) bool {
	if len(p) == 0 {
		return false
	}
	k := p[len(p)-1].Kind
	return k == StepRange || k == StepBucket
}

func (e Expansion) shape() shape {
	return shape{kind: e.Kind, length: e.Len, keyed: e.Keyed, keys: e.Keys}
}

// Stats counts what one side of an exchange saw.
type Stats struct {
	Rounds      int // round trips completed (copy message + source answer)
	HashesSent  int // child hashes this side sent
	AskedNodes  int // nodes the source asked about
	Replaced    int // subterms (or ranges) the source sent whole
	Keyframe    bool
	DeltaBytes  int // encoded size of the final delta (Done)
	KeyframeEst int // encoded size of the source state, when it was measured
}

// pathKey is a map key for a path.
func pathKey(p Path) string {
	var b strings.Builder
	for _, s := range p {
		b.WriteByte(byte(s.Kind))
		b.WriteString(strconv.FormatUint(s.A, 36))
		b.WriteByte('.')
		b.WriteString(strconv.FormatUint(s.B, 36))
		b.WriteByte('/')
	}
	return b.String()
}

// Copy is the copy side (the replica) of a comparison: a pure state
// machine. Start gives its first message; Handle answers each of the
// source's. It is not safe for concurrent use.
type Copy struct {
	cfg   Config
	state term.Term
	tr    *tree
	done  bool
	stats Stats
}

// NewCopy returns the copy side for state (nil for a copy with no state).
func NewCopy(state term.Term, cfg Config) (*Copy, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Copy{cfg: cfg, state: state, tr: newTree(cfg.FanOut)}, nil
}

// State returns the copy's state: after a successful exchange, the source's.
func (c *Copy) State() term.Term { return c.state }

// Stats returns what the copy counted.
func (c *Copy) Stats() Stats { return c.stats }

// Start returns the Hello: the root hash and HelloDepth levels of hashes.
func (c *Copy) Start() Message {
	if c.state == nil {
		return Message{Kind: MsgHello, Empty: true}
	}
	m := Message{Kind: MsgHello, Root: term.Hash(c.state)}
	level := []Path{{}}
	for d := 0; d < c.cfg.HelloDepth && len(level) > 0; d++ {
		var next []Path
		for _, p := range level {
			e, kids := c.expand(p)
			if len(kids) == 0 {
				continue
			}
			m.Expansions = append(m.Expansions, e)
			next = append(next, kids...)
		}
		level = next
	}
	return m
}

// expand returns the copy's expansion of p and the children's paths.
func (c *Copy) expand(p Path) (Expansion, []Path) {
	e, kids := c.tr.expansion(c.state, p)
	c.stats.HashesSent += len(kids)
	return e, kids
}

// answer compares the source's expansion of a node with the copy's own and
// returns what the source needs to go on: the copy's expansions of the
// children that differ, or for a differing child that is a leaf or small
// (see tree.leaf) a bare marker (Kind 0: send it whole). When the two
// sides see the node differently (another kind, length, key set or list
// tail), or none of its children differ, the answer is instead the copy's
// own expansion of the node, which the source compares as it would a
// Hashes answer; a node the copy does not have, or has as a bitstring, is
// answered with a marker.
func (c *Copy) answer(src Expansion) ([]Expansion, error) {
	n := c.tr.resolve(c.state, src.Path)
	if n.t == nil || isBitstring(n) {
		return []Expansion{{Path: src.Path}}, nil
	}
	mine, kids := c.tr.children(src.Path, n)
	own := func() []Expansion {
		e, _ := c.expand(src.Path)
		return []Expansion{e}
	}
	if !sameShape(mine, src.shape()) || len(kids) == 0 {
		return own(), nil
	}
	if len(kids) != len(src.Hashes) {
		return nil, fmt.Errorf("%w: %d hashes for %d children", ErrProtocol, len(src.Hashes), len(kids))
	}
	if l, ok := n.t.(*term.List); ok && n.part == 0 && term.Hash(l.Tail()) != src.Tail {
		return own(), nil
	}
	var out []Expansion
	for i, kp := range kids {
		kn := c.tr.resolve(c.state, kp)
		if c.tr.hash(kn) == src.Hashes[i] {
			continue
		}
		if c.tr.leaf(kp, kn, c.cfg.ReplaceBelow) {
			out = append(out, Expansion{Path: kp})
			continue
		}
		e, _ := c.expand(kp)
		out = append(out, e)
	}
	if len(out) == 0 {
		return own(), nil
	}
	return out, nil
}

// Handle answers one source message. It returns done once the exchange has
// ended (the reply is then empty and State is the source's state).
func (c *Copy) Handle(m Message) (reply Message, done bool, err error) {
	if c.done {
		return Message{}, true, fmt.Errorf("%w: %s after the exchange ended", ErrProtocol, m.Kind)
	}
	c.stats.Rounds++
	switch m.Kind {
	case MsgAsk:
		reply = Message{Kind: MsgHashes, Expansions: make([]Expansion, 0, len(m.Ask)+len(m.Expansions))}
		for _, p := range m.Ask {
			e, _ := c.expand(p)
			reply.Expansions = append(reply.Expansions, e)
		}
		for _, e := range m.Expansions {
			a, err := c.answer(e)
			if err != nil {
				return Message{}, false, err
			}
			reply.Expansions = append(reply.Expansions, a...)
		}
		return reply, false, nil
	case MsgKeyframe:
		if m.State == nil || term.Hash(m.State) != m.Root {
			return Message{}, false, fmt.Errorf("%w: keyframe does not hash to its root", ErrVerify)
		}
		c.state, c.done, c.stats.Keyframe = m.State, true, true
		return Message{}, true, nil
	case MsgDone:
		next := c.state
		if m.Delta != nil && !m.Delta.IsEmpty() {
			if next == nil {
				return Message{}, false, fmt.Errorf("%w: a delta for a copy with no state", ErrVerify)
			}
			var err error
			if next, err = delta.Apply(c.state, m.Delta); err != nil {
				return Message{}, false, fmt.Errorf("%w: %w", ErrVerify, err)
			}
		}
		if next == nil || term.Hash(next) != m.Root {
			return Message{}, false, ErrVerify
		}
		c.state, c.done = next, true
		return Message{}, true, nil
	}
	return Message{}, false, fmt.Errorf("%w: %s to the copy", ErrProtocol, m.Kind)
}

// Source is the source side (the worker) of a comparison: a pure state
// machine that answers the copy's messages. It is not safe for concurrent
// use.
type Source struct {
	cfg   Config
	state term.Term
	tr    *tree
	round int
	done  bool
	stats Stats

	asked    map[string]Path   // nodes asked about in the last answer
	kidOf    map[string]string // children of the asked nodes -> the asked node
	replaced map[string]Path   // nodes to send whole
	copyLen  map[string]uint64 // the copy's length of list/binary/map nodes
	tails    map[string]bool   // lists/binaries whose source tail past the copy's length is new
	tailDiff map[string]bool   // lists whose improper tail differs
	resent   int               // bytes of the subterms replaced so far
	kfSize   int
}

// NewSource returns the source side for state.
func NewSource(state term.Term, cfg Config) (*Source, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if state == nil {
		return nil, fmt.Errorf("%w: nil source state", ErrBadConfig)
	}
	return &Source{
		cfg: cfg, state: state, tr: newTree(cfg.FanOut), kfSize: -1,
		asked: map[string]Path{}, kidOf: map[string]string{}, replaced: map[string]Path{},
		copyLen: map[string]uint64{}, tails: map[string]bool{}, tailDiff: map[string]bool{},
	}, nil
}

// Stats returns what the source counted.
func (s *Source) Stats() Stats { return s.stats }

// keyframeSize is the encoded size of the whole state, measured once.
func (s *Source) keyframeSize() int {
	if s.kfSize < 0 {
		n, err := term.EncodedSize(s.state)
		if err != nil {
			n = 0
		}
		s.kfSize = n
		s.stats.KeyframeEst = n
	}
	return s.kfSize
}

func (s *Source) keyframe() Message {
	s.done, s.stats.Keyframe = true, true
	return Message{Kind: MsgKeyframe, Root: term.Hash(s.state), State: s.state}
}

// Handle answers one copy message (Hello or Hashes) with Ask, Done or
// Keyframe.
func (s *Source) Handle(m Message) (Message, error) {
	if s.done {
		return Message{}, fmt.Errorf("%w: %s after the exchange ended", ErrProtocol, m.Kind)
	}
	switch m.Kind {
	case MsgHello:
		if s.round != 0 {
			return Message{}, fmt.Errorf("%w: hello in round %d", ErrProtocol, s.round)
		}
		s.round, s.stats.Rounds = 1, 1
		if m.Empty {
			return s.keyframe(), nil
		}
		if m.Root == term.Hash(s.state) {
			s.done = true
			return Message{Kind: MsgDone, Root: m.Root, Delta: delta.Keep{}}, nil
		}
		if len(m.Expansions) == 0 || len(m.Expansions[0].Path) != 0 {
			// The copy's root has no parts to compare (an atom, a
			// number): there is nothing to keep.
			return s.keyframe(), nil
		}
		s.asked[pathKey(nil)] = Path{}
	case MsgHashes:
		if s.round == 0 {
			return Message{}, fmt.Errorf("%w: hashes before hello", ErrProtocol)
		}
		s.round++
		s.stats.Rounds = s.round
	default:
		return Message{}, fmt.Errorf("%w: %s to the source", ErrProtocol, m.Kind)
	}
	last := s.round >= s.cfg.MaxRounds
	// Expansions answer the nodes asked last time, either whole (the copy's
	// own expansion of the node) or by the children that differ from the
	// hashes the source sent; in a Hello, whose levels come in order, they
	// also answer nodes that earlier expansions of the same message show to
	// differ.
	pending := s.asked
	answered := map[string]bool{} // answered whole, or a child answered
	byKids := map[string]bool{}   // asked nodes answered by their children
	for _, e := range m.Expansions {
		k := pathKey(e.Path)
		if answered[k] {
			continue // answered twice: not ours to trust
		}
		if _, ok := pending[k]; ok && !byKids[k] {
			answered[k] = true
		} else if parent, ok := s.kidOf[k]; ok && !answered[parent] {
			if !byKids[parent] {
				byKids[parent] = true
				s.agreed(pending[parent])
			}
			answered[k] = true
		} else {
			continue // not asked
		}
		sub, err := s.compare(e, last)
		if err != nil {
			return Message{}, err
		}
		for _, p := range sub {
			pending[pathKey(p)] = p
		}
	}
	var ask []Path
	for _, k := range slices.Sorted(mapKeys(pending)) {
		if answered[k] || byKids[k] {
			continue
		}
		if p := pending[k]; last {
			s.replace(p)
		} else {
			ask = append(ask, p)
		}
	}
	if len(ask) == 0 {
		return s.finish()
	}
	// The source sends its own hashes of the asked nodes' children; the
	// copy compares them with its own and answers with the children that
	// differ, so each round trip compares two levels.
	push := make([]Expansion, 0, len(ask))
	next := make(map[string]Path, len(ask))
	kidOf := map[string]string{}
	hashBytes := 0
	for _, p := range ask {
		e, kids := s.tr.expansion(s.state, p)
		k := pathKey(p)
		next[k] = p
		for _, kp := range kids {
			kidOf[pathKey(kp)] = k
		}
		push = append(push, e)
		s.stats.HashesSent += len(kids)
		hashBytes += (len(e.Hashes) + len(e.Keys)) * HashBytes
	}
	s.asked, s.kidOf = next, kidOf
	// Measured divergence: if what is already resent plus the hashes of
	// this answer reach the size of a keyframe, send the keyframe.
	if s.resent+hashBytes >= s.keyframeSize() {
		return s.keyframe(), nil
	}
	s.stats.AskedNodes += len(ask)
	return Message{Kind: MsgAsk, Expansions: push}, nil
}

// agreed records that the copy sees the asked node at p as the source does
// (it answered with the node's children): for a whole list or binary, the
// copy's length is the source's.
func (s *Source) agreed(p Path) {
	n := s.tr.resolve(s.state, p)
	if n.part != 0 {
		return
	}
	switch x := n.t.(type) {
	case *term.List:
		s.copyLen[pathKey(p)] = uint64(x.Len())
	case *term.Binary:
		s.copyLen[pathKey(p)] = uint64(x.Len())
	}
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func parsePathKey(k string) Path {
	var p Path
	for _, part := range strings.Split(k, "/") {
		if part == "" {
			continue
		}
		kind := StepKind(part[0])
		ab := strings.SplitN(part[1:], ".", 2)
		a, _ := strconv.ParseUint(ab[0], 36, 64)
		var b uint64
		if len(ab) == 2 {
			b, _ = strconv.ParseUint(ab[1], 36, 64)
		}
		p = append(p, Step{Kind: kind, A: a, B: b})
	}
	return p
}

// compare handles the copy's expansion of one asked node: children that
// hash the same are done, differing ones are asked about or replaced.
func (s *Source) compare(e Expansion, last bool) ([]Path, error) {
	n := s.tr.resolve(s.state, e.Path)
	if n.t == nil {
		// The source has nothing here: the parent is replaced (a key the
		// copy has that the source removed, or an index past the end).
		s.replace(e.Path)
		return nil, nil
	}
	mine, _ := s.tr.children(e.Path, n)
	if e.Kind != mine.kind || (e.Kind == term.KindTuple && e.Len != mine.length) ||
		(e.Kind == term.KindBinary && n.part == 0 && !n.t.(*term.Binary).IsBinary()) {
		s.replace(e.Path)
		return nil, nil
	}
	kids := deriveKids(e.Path, e.shape(), s.cfg.FanOut)
	if len(kids) != len(e.Hashes) {
		return nil, fmt.Errorf("%w: %d hashes for %d children", ErrProtocol, len(e.Hashes), len(kids))
	}
	if len(kids) == 0 {
		// The copy's node is a leaf (a short binary, an empty list): it
		// differed, so send it whole.
		s.replace(e.Path)
		return nil, nil
	}
	key := pathKey(e.Path)
	if n.part == 0 {
		s.copyLen[key] = e.Len
	}
	var ask []Path
	changed := false
	for i, kp := range kids {
		kn := s.tr.resolve(s.state, kp)
		if s.tr.hash(kn) == e.Hashes[i] {
			continue
		}
		changed = true
		if kn.t == nil && len(kp) > 0 && kp[len(kp)-1].Kind == StepKey {
			// The copy has a key the source does not: the delta must
			// remove it, and only the source's whole map can say so
			// without the key itself.
			s.replace(mapPath(kp))
			return nil, nil
		}
		if last || s.leaf(kp, kn) {
			s.replace(kp)
			continue
		}
		ask = append(ask, kp)
	}
	switch e.Kind {
	case term.KindMap:
		if e.Keyed {
			// Keys the source has and the copy did not list are new.
			have := make(map[uint64]bool, len(e.Keys))
			for _, k := range e.Keys {
				have[k] = true
			}
			bitsN, prefix := uint64(0), uint64(0)
			if n.part == StepBucket {
				bitsN, prefix = n.a, n.b
			}
			base := wholePrefix(e.Path)
			for _, me := range s.tr.bucket(n.t.(*term.Map), bitsN, prefix) {
				if !have[me.kh] {
					s.replace(base.child(Step{Kind: StepKey, A: me.kh}))
					changed = true
				}
			}
		}
	case term.KindList, term.KindBinary:
		if l, ok := n.t.(*term.List); ok && n.part == 0 && term.Hash(l.Tail()) != e.Tail {
			s.tailDiff[key] = true
			changed = true
		}
		if n.part == 0 && mine.length > e.Len {
			s.tails[key] = true
			changed = true
		}
	}
	if !changed {
		// The node differed but none of its parts do (an improper tail,
		// or a bucket hash collision): send it whole.
		s.replace(e.Path)
	}
	return ask, nil
}

// mapPath returns the path of the whole map that a key or bucket path is in.
func mapPath(p Path) Path {
	q := p[:len(p)-1]
	if len(q) > 0 && q[len(q)-1].Kind == StepBucket {
		q = q[:len(q)-1]
	}
	return q
}

// leaf reports whether a differing node is sent whole rather than compared
// further (see tree.leaf).
func (s *Source) leaf(p Path, n node) bool { return s.tr.leaf(p, n, s.cfg.ReplaceBelow) }

func (s *Source) replace(p Path) {
	if len(p) > 0 && p[len(p)-1].Kind == StepBucket {
		p = p[:len(p)-1] // a bucket cannot be named in a delta: send its map
	}
	k := pathKey(p)
	if _, ok := s.replaced[k]; ok {
		return
	}
	s.replaced[k] = p
	s.stats.Replaced++
	n := s.tr.resolve(s.state, p)
	if sz, err := s.partSize(n); err == nil {
		s.resent += sz
	}
}

// partSize is the encoded size of what replacing n sends.
func (s *Source) partSize(n node) (int, error) {
	if n.t == nil {
		return 0, nil
	}
	if n.part == StepRange {
		switch x := n.t.(type) {
		case *term.List:
			lo, hi := clip(n.a, n.b, x.Len())
			return term.EncodedSize(x.Slice(lo, hi))
		case *term.Binary:
			lo, hi := clip(n.a, n.b, x.Len())
			return hi - lo, nil
		}
	}
	return term.EncodedSize(n.t)
}

// finish builds the delta from the replaced nodes, or the keyframe when
// that is smaller.
func (s *Source) finish() (Message, error) {
	if _, whole := s.replaced[pathKey(nil)]; whole {
		return s.keyframe(), nil
	}
	b := &specBuilder{s: s, next: map[string][]Step{}, seen: map[string]bool{}}
	for _, p := range s.replaced {
		b.add(p)
	}
	for k := range s.tails {
		b.add(parsePathKey(k))
	}
	for k := range s.tailDiff {
		b.add(parsePathKey(k))
	}
	spec, err := b.build(nil, s.state)
	if err != nil {
		return Message{}, err
	}
	enc, err := delta.Encode(spec)
	if err != nil {
		return Message{}, fmt.Errorf("resync: encoding the delta: %w", err)
	}
	if len(enc) >= s.keyframeSize() {
		return s.keyframe(), nil
	}
	s.done = true
	s.stats.DeltaBytes = len(enc)
	return Message{Kind: MsgDone, Root: term.Hash(s.state), Delta: spec}, nil
}

// specBuilder turns the set of replaced paths into a delta spec, walking
// down from the root along the whole-term ancestors of those paths.
type specBuilder struct {
	s    *Source
	next map[string][]Step // whole-term path -> the distinct steps below it that lead to a change
	seen map[string]bool
}

func (b *specBuilder) add(p Path) {
	for i := 0; i < len(p); i++ {
		if i > 0 && (p[i-1].Kind == StepRange || p[i-1].Kind == StepBucket) {
			return
		}
		k := pathKey(p[:i+1])
		if b.seen[k] {
			continue
		}
		b.seen[k] = true
		pk := pathKey(p[:i])
		b.next[pk] = append(b.next[pk], p[i])
	}
}

func (b *specBuilder) build(prefix Path, t term.Term) (delta.Spec, error) {
	key := pathKey(prefix)
	if _, ok := b.s.replaced[key]; ok {
		return delta.Replace{Value: t}, nil
	}
	steps := b.next[key]
	if len(steps) == 0 && !b.s.tails[key] && !b.s.tailDiff[key] {
		return delta.Keep{}, nil
	}
	switch x := t.(type) {
	case *term.Tuple:
		slices.SortFunc(steps, func(p, q Step) int { return cmpU(p.A, q.A) })
		var ops []delta.Op
		pos := 0
		for _, st := range steps {
			if st.Kind != StepElem || st.A >= uint64(x.Len()) {
				return nil, fmt.Errorf("%w: step %d into a tuple", ErrProtocol, st.Kind)
			}
			i := int(st.A)
			sub, err := b.build(prefix.child(st), x.At(i))
			if err != nil {
				return nil, err
			}
			if i > pos {
				ops = append(ops, delta.Retain(i-pos))
			}
			ops, pos = append(ops, delta.Edit(sub)), i+1
		}
		return delta.Tuple{Ops: ops}, nil
	case *term.List:
		return b.buildList(prefix, key, x, steps)
	case *term.Binary:
		return b.buildBinary(key, x, steps)
	case *term.Map:
		ix := b.s.tr.index(x)
		var es []delta.MapEntry
		for _, st := range steps {
			if st.Kind != StepKey {
				return nil, fmt.Errorf("%w: step %d into a map", ErrProtocol, st.Kind)
			}
			found := b.s.tr.bucket(x, 64, st.A)
			if len(found) != 1 {
				return delta.Replace{Value: t}, nil
			}
			e := found[0]
			sub, err := b.build(prefix.child(st), e.v)
			if err != nil {
				return nil, err
			}
			if r, ok := sub.(delta.Replace); ok {
				es = append(es, delta.PutKey(e.k, r.Value))
			} else {
				es = append(es, delta.EditKey(e.k, sub))
			}
		}
		_ = ix
		return delta.Map{Entries: es}, nil
	}
	return delta.Replace{Value: t}, nil
}

func cmpU(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// seqItem is one edit of a list or binary: it consumes the copy's
// elements [cLo, cHi) and produces ops.
type seqItem struct {
	cLo, cHi int
	sLo      uint64
	ops      []delta.Op
	bops     []delta.ByteOp
}

func (b *specBuilder) buildList(prefix Path, key string, x *term.List, steps []Step) (delta.Spec, error) {
	lc, ok := b.s.copyLen[key]
	if !ok {
		return delta.Replace{Value: x}, nil
	}
	ls := x.Len()
	items := make([]seqItem, 0, len(steps))
	for _, st := range steps {
		switch st.Kind {
		case StepElem:
			i := st.A
			cLo, cHi := clip(i, i+1, int(lc))
			it := seqItem{cLo: cLo, cHi: cHi, sLo: i}
			switch {
			case i < uint64(ls) && cHi > cLo:
				sub, err := b.build(prefix.child(st), x.At(int(i)))
				if err != nil {
					return nil, err
				}
				it.ops = []delta.Op{delta.Edit(sub)}
			case i < uint64(ls):
				it.ops = []delta.Op{delta.Insert(x.At(int(i)))}
			case cHi > cLo:
				it.ops = []delta.Op{delta.Delete(1)}
			}
			items = append(items, it)
		case StepRange:
			cLo, cHi := clip(st.A, st.B, int(lc))
			sLo, sHi := clip(st.A, st.B, ls)
			it := seqItem{cLo: cLo, cHi: cHi, sLo: st.A}
			if cHi > cLo {
				it.ops = append(it.ops, delta.Delete(cHi-cLo))
			}
			if sHi > sLo {
				it.ops = append(it.ops, delta.Insert(x.Slice(sLo, sHi).Elems()...))
			}
			items = append(items, it)
		default:
			return nil, fmt.Errorf("%w: step %d into a list", ErrProtocol, st.Kind)
		}
	}
	slices.SortFunc(items, func(p, q seqItem) int {
		if c := p.cLo - q.cLo; c != 0 {
			return c
		}
		return cmpU(p.sLo, q.sLo)
	})
	var ops []delta.Op
	pos := 0
	for _, it := range items {
		if it.cLo < pos {
			return nil, fmt.Errorf("%w: overlapping list edits", ErrProtocol)
		}
		if it.cLo > pos {
			ops = append(ops, delta.Retain(it.cLo-pos))
		}
		ops, pos = append(ops, it.ops...), it.cHi
	}
	if b.s.tails[key] && uint64(ls) > lc {
		if int(lc) > pos {
			ops = append(ops, delta.Retain(int(lc)-pos))
		}
		ops = append(ops, delta.Insert(x.Slice(int(lc), ls).Elems()...))
	}
	out := delta.List{Ops: coalesce(ops)}
	if b.s.tailDiff[key] {
		out.Tail = delta.Replace{Value: x.Tail()}
	}
	return out, nil
}

func (b *specBuilder) buildBinary(key string, x *term.Binary, steps []Step) (delta.Spec, error) {
	lc, ok := b.s.copyLen[key]
	if !ok || !x.IsBinary() {
		return delta.Replace{Value: x}, nil
	}
	ls := x.Len()
	items := make([]seqItem, 0, len(steps))
	for _, st := range steps {
		if st.Kind != StepRange {
			return nil, fmt.Errorf("%w: step %d into a binary", ErrProtocol, st.Kind)
		}
		cLo, cHi := clip(st.A, st.B, int(lc))
		sLo, sHi := clip(st.A, st.B, ls)
		it := seqItem{cLo: cLo, cHi: cHi, sLo: st.A}
		if cHi > cLo {
			it.bops = append(it.bops, delta.DeleteBytes(cHi-cLo))
		}
		if sHi > sLo {
			it.bops = append(it.bops, delta.InsertBytes(x.Slice(sLo, sHi).Bytes()))
		}
		items = append(items, it)
	}
	slices.SortFunc(items, func(p, q seqItem) int {
		if c := p.cLo - q.cLo; c != 0 {
			return c
		}
		return cmpU(p.sLo, q.sLo)
	})
	var ops []delta.ByteOp
	pos := 0
	for _, it := range items {
		if it.cLo < pos {
			return nil, fmt.Errorf("%w: overlapping binary edits", ErrProtocol)
		}
		if it.cLo > pos {
			ops = append(ops, delta.RetainBytes(it.cLo-pos))
		}
		ops, pos = append(ops, it.bops...), it.cHi
	}
	if b.s.tails[key] && uint64(ls) > lc {
		if int(lc) > pos {
			ops = append(ops, delta.RetainBytes(int(lc)-pos))
		}
		ops = append(ops, delta.InsertBytes(x.Slice(int(lc), ls).Bytes()))
	}
	return delta.Binary{Ops: coalesceBytes(ops)}, nil
}

// coalesce merges each run of adjacent deletes and inserts into one delete
// followed by one insert (the wire form refuses adjacent ops of a kind).
func coalesce(ops []delta.Op) []delta.Op {
	out := make([]delta.Op, 0, len(ops))
	for i := 0; i < len(ops); {
		if k := ops[i].Kind; k != delta.OpDelete && k != delta.OpInsert {
			out = append(out, ops[i])
			i++
			continue
		}
		del, ins := 0, []term.Term(nil)
		for ; i < len(ops) && (ops[i].Kind == delta.OpDelete || ops[i].Kind == delta.OpInsert); i++ {
			if ops[i].Kind == delta.OpDelete {
				del += ops[i].N
			} else {
				ins = append(ins, ops[i].Values...)
			}
		}
		if del > 0 {
			out = append(out, delta.Delete(del))
		}
		if len(ins) > 0 {
			out = append(out, delta.Insert(ins...))
		}
	}
	return out
}

// coalesceBytes is coalesce for byte ops.
func coalesceBytes(ops []delta.ByteOp) []delta.ByteOp {
	out := make([]delta.ByteOp, 0, len(ops))
	for i := 0; i < len(ops); {
		if k := ops[i].Kind; k != delta.OpDelete && k != delta.OpInsert {
			out = append(out, ops[i])
			i++
			continue
		}
		del, ins := 0, []byte(nil)
		for ; i < len(ops) && (ops[i].Kind == delta.OpDelete || ops[i].Kind == delta.OpInsert); i++ {
			if ops[i].Kind == delta.OpDelete {
				del += ops[i].N
			} else {
				ins = append(ins, ops[i].Bytes...)
			}
		}
		if del > 0 {
			out = append(out, delta.DeleteBytes(del))
		}
		if len(ins) > 0 {
			out = append(out, delta.InsertBytes(ins))
		}
	}
	return out
}

// wholePrefix drops a final range or bucket step.
func wholePrefix(p Path) Path {
	if len(p) > 0 {
		if k := p[len(p)-1].Kind; k == StepRange || k == StepBucket {
			return p[:len(p)-1]
		}
	}
	return p
}

// HashBytes is the size of one hash on the wire.
const HashBytes = 8
