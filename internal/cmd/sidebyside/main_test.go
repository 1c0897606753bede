package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// anchorOutput is erl_codec_bench.escript's output as OTP 25 printed it on
// the development machine.
const anchorOutput = `otp_release 25
state_bytes 3945987
encode_us 3274.0  (1205.2 MB/s)
decode_us 18534.0  (212.9 MB/s)
terms_only_bytes 2897411 encode_us 3177.0 (912.0 MB/s) decode_us 18665.0 (155.2 MB/s)
`

func TestParseCodecAnchor(t *testing.T) {
	f, err := parseCodecAnchor(anchorOutput)
	require.NoError(t, err)
	require.Equal(t, codecFigures{
		Release: "25", StateBytes: 3945987, TermsOnlyBytes: 2897411,
		EncodeUs: 3274.0, DecodeUs: 18534.0, TermsOnlyEncodeUs: 3177.0, TermsOnlyDecodeUs: 18665.0,
	}, f)
}

func TestParseCodecAnchorErrors(t *testing.T) {
	lines := strings.Split(strings.TrimSpace(anchorOutput), "\n")
	for i := range lines { // each line missing in turn
		out := strings.Join(append(append([]string(nil), lines[:i]...), lines[i+1:]...), "\n")
		_, err := parseCodecAnchor(out)
		require.ErrorIs(t, err, ErrAnchorOutput, "without line %d", i)
	}
	for _, bad := range []struct{ from, to string }{
		{"encode_us 3274.0", "encode_us fast"},
		{"decode_us 18534.0", "decode_us -1"},
		{"decode_us 18534.0", "decode_us 0"},
		{"state_bytes 3945987", "state_bytes 3.9MB"},
		{"terms_only_bytes 2897411", "terms_only_bytes x"},
		{"decode_us 18665.0 (155.2 MB/s)", ""},
		{"encode_us 3177.0 (912.0 MB/s) ", "encode_us NaN "},
	} {
		out := strings.Replace(anchorOutput, bad.from, bad.to, 1)
		require.NotEqual(t, anchorOutput, out)
		_, err := parseCodecAnchor(out)
		require.ErrorIs(t, err, ErrAnchorOutput, "%q -> %q", bad.from, bad.to)
	}
}

func TestPrintCodec(t *testing.T) {
	otp, err := parseCodecAnchor(anchorOutput)
	require.NoError(t, err)
	ours := codecFigures{StateBytes: 3945987, TermsOnlyBytes: 2897411,
		EncodeUs: 1637.0, DecodeUs: 9267.0, TermsOnlyEncodeUs: 3177.0, TermsOnlyDecodeUs: 37330.0}
	var b bytes.Buffer
	require.NoError(t, printCodec(&b, otp, ours, 0, 20))
	out := b.String()
	for _, want := range []string{
		"OTP 25 (best of 20) vs enode (best of 20)",
		"OTP µs", "enode µs", "OTP/enode",
		"3274.0", "1637.0", "2.00", // encode: enode twice as fast
		"18665.0", "37330.0", "0.50", // terms-only decode: half as fast
		"state bytes: OTP 3945987, enode 3945987",
		"allocs per encode into a reused buffer: 0",
	} {
		require.Contains(t, out, want)
	}
	rows := 0
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "encode") && strings.ContainsAny(l, "0123456789") && !strings.Contains(l, "allocs") {
			rows++
		}
	}
	require.Equal(t, 2, rows, "encode and terms-only encode rows:\n%s", out)

	ours.StateBytes++
	require.Error(t, printCodec(&bytes.Buffer{}, otp, ours, 0, 20), "different states must not be compared")
}

func TestAnchorsFrom(t *testing.T) {
	root := t.TempDir()
	repo := filepath.Join(root, "enode")
	deep := filepath.Join(repo, "internal", "cmd", "sidebyside")
	require.NoError(t, os.MkdirAll(deep, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(repo, "go.mod"), []byte("module x\n"), 0o644))

	_, err := anchorsFrom(deep)
	require.ErrorContains(t, err, "-anchors DIR", "no shared/anchors yet")

	anchors := filepath.Join(root, "shared", "anchors")
	require.NoError(t, os.MkdirAll(anchors, 0o755))
	got, err := anchorsFrom(deep)
	require.NoError(t, err)
	require.Equal(t, anchors, got)

	_, err = anchorsFrom(root) // above the repository: no go.mod
	require.ErrorContains(t, err, "no go.mod")
}

func TestRunUsageErrors(t *testing.T) {
	for _, args := range [][]string{nil, {"nosuch"}, {"-reps", "0", "codec"}, {"codec", "extra"}, {"-bogus"}} {
		var stdout, stderr bytes.Buffer
		require.Equal(t, 2, run(args, &stdout, &stderr), "%q", args)
		require.NotEmpty(t, stderr.String(), "%q", args)
		require.Empty(t, stdout.String(), "%q", args)
	}
}

func TestRunMissingAnchorScript(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run([]string{"-anchors", t.TempDir(), "codec"}, &stdout, &stderr)
	require.Equal(t, 1, code)
	if _, err := exec.LookPath("escript"); err != nil {
		require.Contains(t, stderr.String(), "escript not found")
	} else {
		require.Contains(t, stderr.String(), "erl_codec_bench.escript")
	}
}
