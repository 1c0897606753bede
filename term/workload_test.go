package term_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/enode-dev/enode/internal/workload"
	"github.com/enode-dev/enode/term"
)

// The reference workload state (shared/workload.md) as enode encodes it,
// against the same state built and encoded by real Erlang.

// referenceStateBytes is the size of term_to_binary of the reference state
// with OTP 25.
const referenceStateBytes = 3_945_987

func TestWorkloadReferenceSize(t *testing.T) {
	b, err := term.Encode(workload.State(workload.Reference, 42))
	require.NoError(t, err)
	require.Len(t, b, referenceStateBytes)
}

// TestWorkloadMatchesErlang: OTP's bytes for the reference state decode to a
// term Equal to enode's state, and the two encodings are byte-identical
// except inside the 10,000-key counters map, whose keys OTP writes in its
// internal hash order (there the two spans have the same length and decode
// to Equal maps).
func TestWorkloadMatchesErlang(t *testing.T) {
	escript := requireEscript(t)
	out := filepath.Join(t.TempDir(), "state.etf")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	msg, err := exec.CommandContext(ctx, escript, filepath.Join("testdata", "workload_state.escript"), out).CombinedOutput()
	require.NoError(t, err, "workload_state.escript: %s", msg)
	otp, err := os.ReadFile(out)
	require.NoError(t, err)
	require.Len(t, otp, referenceStateBytes, "OTP's size of the reference state")

	state := workload.State(workload.Reference, 42)
	got, err := term.Decode(otp)
	require.NoError(t, err)
	require.True(t, term.Equal(state, got), "OTP's reference state decodes to a different term")

	ours, err := term.Encode(state)
	require.NoError(t, err)
	require.Len(t, ours, len(otp))

	// Where the counters map starts and ends: encode the state with an empty
	// map (MAP_EXT with 0 pairs is 5 bytes) and count back from the end over
	// the blob (BINARY_EXT: 5 bytes of header, then the bytes).
	blob := state.At(workload.FieldBlob).(*term.Binary)
	counters := state.At(workload.FieldCounters).(*term.Map)
	noMap, err := term.Encode(state.Set(workload.FieldCounters, term.EmptyMap()))
	require.NoError(t, err)
	mapStart := len(noMap) - 5 - (5 + blob.Len())
	mapEnd := len(ours) - (5 + blob.Len())
	require.Equal(t, []byte{116, 0, 0, 0x27, 0x10}, ours[mapStart:mapStart+5], "MAP_EXT header with 10,000 pairs")

	require.True(t, bytes.Equal(ours[:mapStart], otp[:mapStart]), "bytes before the counters map differ")
	require.True(t, bytes.Equal(ours[mapEnd:], otp[mapEnd:]), "bytes after the counters map differ")
	otpMap, err := term.Decode(append([]byte{131}, otp[mapStart:mapEnd]...))
	require.NoError(t, err)
	require.True(t, term.Equal(counters, otpMap), "OTP's counters map differs")
}

// requireEscript returns the path of Erlang's escript; without it the test
// fails in CI (CI set) and is skipped loudly elsewhere.
func requireEscript(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("escript")
	if err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatal("escript (Erlang/OTP) is required in CI for the cross-checks against real Erlang: apt-get install -y erlang-base")
	}
	t.Skip("!!! SKIPPED: Erlang/OTP (escript) is not installed, so this check against real Erlang DID NOT RUN. " +
		"Install it with: apt-get install -y erlang-base")
	return ""
}
