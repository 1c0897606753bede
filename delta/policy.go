package delta

import (
	"errors"
	"fmt"
)

// History is what a keyframe policy knows when it decides about the next
// frame of a stream.
type History struct {
	// Deltas is the number of deltas sent since the last keyframe.
	Deltas int
	// DeltaBytes is the sum of their payload sizes.
	DeltaBytes int
	// KeyframeBytes is the payload size of the last keyframe.
	KeyframeBytes int
	// NextDeltaBytes is the payload size of the delta that would be sent
	// now if the policy does not ask for a keyframe.
	NextDeltaBytes int
}

// KeyframePolicy decides whether the next frame of a stream is a keyframe.
// It is only asked when a delta is possible: the first frame, and a frame
// after the decoder asked for a keyframe, are keyframes whatever the
// policy. Implementations are pure functions of the History: they must not
// block and may be shared between streams.
type KeyframePolicy interface {
	Keyframe(h History) bool
}

// Every is the original system's rule: a keyframe every n sends (a keyframe
// then n-1 deltas). Every(10) is what the Erlang system did. n <= 1 sends
// only keyframes.
type Every int

// Keyframe implements KeyframePolicy.
func (n Every) Keyframe(h History) bool { return h.Deltas+1 >= int(n) }

// Adaptive is a byte-cost keyframe policy after x264's scenecut rule: it
// sends a keyframe when the deltas sent since the last keyframe, with the
// next one, add up to a fraction of the keyframe's size, and that fraction
// falls from Start, right after a keyframe, to End, at MaxInterval deltas,
// where a keyframe is sent whatever the bytes. A delta that is no smaller
// than the last keyframe is never sent: a keyframe is cheaper.
//
// The idea: a keyframe costs K bytes once; deltas cost d each. Sending a
// keyframe when the deltas since the last one reach f·K gives an amortized
// cost per send of d·(1 + 1/f), so with f ≥ 1 the amortized cost stays
// within twice the mean delta, and keyframes come as often as that bound
// allows: often when deltas are large (the state is churning, a keyframe
// resets a long, expensive chain), rarely when they are small. The falling
// fraction makes a burst of large deltas right after a keyframe less likely
// to trigger another one than the same bytes late in the interval.
type Adaptive struct {
	// MaxInterval is the largest number of sends between two keyframes.
	MaxInterval int
	// Start is the fraction of the keyframe size that the cumulative delta
	// bytes must reach right after a keyframe.
	Start float64
	// End is that fraction at MaxInterval deltas. Keep it at 1 or more to
	// keep the amortized cost within twice the mean delta.
	End float64
}

// ErrPolicy is returned by Adaptive.Validate for a policy that cannot work.
var ErrPolicy = errors.New("delta: invalid keyframe policy")

// DefaultAdaptive returns the adaptive policy streams use by default:
//   - MaxInterval 10,000: the checksum carried by every frame already
//     detects a diverged replica at once, so periodic keyframes are not
//     needed for correctness; the interval only bounds how long a chain can
//     grow. At the reference workload's about 3 KB per delta, the byte rule
//     triggers after about 2,000 deltas, well before the bound.
//   - Start 2, End 1: the fraction falls from twice the keyframe size to
//     once, so the amortized cost stays between 1.5 and 2 times the mean
//     delta.
func DefaultAdaptive() Adaptive { return Adaptive{MaxInterval: 10_000, Start: 2, End: 1} }

// DefaultPolicy is the policy of a stream whose config names none: the
// adaptive byte-cost policy (DefaultAdaptive). It is the default because its
// cost follows the deltas: Every(10) on a 4 MB state whose deltas are 3 KB
// sends about 400 KB per step on average, over a hundred times the deltas,
// while the adaptive policy keeps the average within twice the mean delta
// and still sends keyframes quickly when the state churns.
func DefaultPolicy() KeyframePolicy { return DefaultAdaptive() }

// Validate reports whether the policy's fields make sense.
func (p Adaptive) Validate() error {
	switch {
	case p.MaxInterval < 1:
		return fmt.Errorf("%w: Adaptive.MaxInterval %d < 1", ErrPolicy, p.MaxInterval)
	case !(p.Start > 0) || !(p.End > 0):
		return fmt.Errorf("%w: Adaptive.Start and End must be positive", ErrPolicy)
	case p.End > p.Start:
		return fmt.Errorf("%w: Adaptive.End %v above Start %v", ErrPolicy, p.End, p.Start)
	}
	return nil
}

// Fraction returns the fraction of the keyframe size that the cumulative
// delta bytes must reach for a keyframe when n deltas have been sent since
// the last keyframe.
func (p Adaptive) Fraction(n int) float64 {
	if p.MaxInterval < 1 {
		return p.End
	}
	x := float64(min(max(n, 0), p.MaxInterval)) / float64(p.MaxInterval)
	return p.Start + (p.End-p.Start)*x
}

// Keyframe implements KeyframePolicy.
func (p Adaptive) Keyframe(h History) bool {
	n := h.Deltas + 1
	if n >= p.MaxInterval || h.NextDeltaBytes >= h.KeyframeBytes {
		return true
	}
	return float64(h.DeltaBytes+h.NextDeltaBytes) >= p.Fraction(n)*float64(h.KeyframeBytes)
}

var (
	_ KeyframePolicy = Every(10)
	_ KeyframePolicy = Adaptive{}
)
