package resync

import (
	"fmt"

	"github.com/enode-dev/enode/delta"
	"github.com/enode-dev/enode/term"
)

// Result is what Sync measured of one exchange.
type Result struct {
	State       term.Term  // the copy's state at the end: the source's
	RoundTrips  int        // copy message + source answer pairs
	BytesToSrc  int        // wire bytes the copy sent
	BytesToCopy int        // wire bytes the source sent
	HashBytes   int        // of which hashes and paths (everything but the final payload)
	Keyframe    bool       // the source chose to send its whole state
	Delta       delta.Spec // the delta the source sent (Done), nil for a keyframe
	Source      Stats
	Copy        Stats
}

// Sync runs a whole comparison between a source state and a copy state in
// memory, passing every message through the wire encoding, and reports the
// round trips and bytes. It is the reference driver for tests, benchmarks
// and tools; a networked driver sends the same messages.
func Sync(source, copyState term.Term, cfg Config) (Result, error) {
	src, err := NewSource(source, cfg)
	if err != nil {
		return Result{}, err
	}
	cp, err := NewCopy(copyState, cfg)
	if err != nil {
		return Result{}, err
	}
	var res Result
	out := cp.Start()
	for range cfg.MaxRounds + 1 {
		wire, err := AppendMessage(nil, out)
		if err != nil {
			return res, err
		}
		res.BytesToSrc += len(wire)
		res.HashBytes += len(wire)
		in, err := DecodeMessage(wire)
		if err != nil {
			return res, err
		}
		ans, err := src.Handle(in)
		if err != nil {
			return res, err
		}
		wire, err = AppendMessage(nil, ans)
		if err != nil {
			return res, err
		}
		res.RoundTrips++
		res.BytesToCopy += len(wire)
		if ans.Kind == MsgAsk {
			res.HashBytes += len(wire)
		}
		back, err := DecodeMessage(wire)
		if err != nil {
			return res, err
		}
		reply, done, err := cp.Handle(back)
		if err != nil {
			return res, err
		}
		if done {
			res.State, res.Keyframe, res.Delta = cp.State(), ans.Kind == MsgKeyframe, back.Delta
			res.Source, res.Copy = src.Stats(), cp.Stats()
			return res, nil
		}
		out = reply
	}
	return res, fmt.Errorf("%w: no end after %d rounds", ErrProtocol, cfg.MaxRounds)
}
