package main

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/enode-dev/enode/node"
	"github.com/enode-dev/enode/term"
)

// runCLI runs the command line and returns the exit code, stdout and stderr.
func runCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errOut, make(chan os.Signal))
	return code, out.String(), errOut.String()
}

// TestErrorsAreOneLine covers the error paths: each is one line on stderr
// and a non-zero exit, 2 for bad usage.
func TestErrorsAreOneLine(t *testing.T) {
	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		code  int
		want  string
	}{
		{"no command", "", nil, 2, "usage:"},
		{"unknown command", "", []string{"bogus"}, 2, `unknown command "bogus"`},
		{"bad flag", "", []string{"node", "--frobnicate"}, 2, "flag provided but not defined"},
		{"node without name", "", []string{"node"}, 2, "--name is required"},
		{"bad role", "", []string{"node", "--name", "a@127.0.0.1", "--role", "observer"}, 2, "role"},
		{"bad state", "", []string{"node", "--name", "a@127.0.0.1", "--state", "huge"}, 2, "huge"},
		{"bad keyframe", "", []string{"node", "--name", "a@127.0.0.1", "--keyframe", "every:0"}, 2, "keyframe"},
		{"bad node name", "", []string{"node", "--name", "nohost", "--role", "spare"}, 1, "Name"},
		{"short secret", "", []string{"node", "--name", "a@127.0.0.1", "--secret", "short"}, 1, "Secret"},
		{"both secrets", "", []string{"status", "--join", "127.0.0.1:1", "--secret", "x", "--secret-file", "y"}, 2, "not both"},
		{"status without join", "", []string{"status"}, 2, "--join is required"},
		{"unreachable", "", []string{"status", "--join", "127.0.0.1:1"}, 1, "cannot join 127.0.0.1:1"},
		{"term without verb", "", []string{"term"}, 2, "want decode or encode"},
		{"term bad verb", "", []string{"term", "print"}, 2, `unknown command "print"`},
		{"decode bad hex", "zz", []string{"term", "decode", "--hex"}, 1, "bad hex"},
		{"decode bad etf", "8301", []string{"term", "decode", "--hex"}, 1, "term decode"},
		{"decode missing file", "", []string{"term", "decode", "/nonexistent/x.etf"}, 1, "no such file"},
		{"encode bad text", "{a,", []string{"term", "encode"}, 1, "term encode"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, tc.stdin, tc.args...)
			require.Equal(t, tc.code, code, stderr)
			require.Contains(t, stderr, tc.want)
			if tc.name != "no command" {
				require.Equal(t, 1, strings.Count(stderr, "\n"), "one line: %q", stderr)
				require.True(t, strings.HasPrefix(stderr, "enode: "), stderr)
			}
		})
	}
}

func TestHelpExitsZero(t *testing.T) {
	code, out, _ := runCLI(t, "", "help")
	require.Equal(t, 0, code)
	require.Contains(t, out, "enode status")
	code, _, stderr := runCLI(t, "", "status", "-h")
	require.Equal(t, 0, code)
	require.Contains(t, stderr, "-join")
}

// TestTermRoundTrip encodes text to ETF (hex and raw) and decodes it back.
func TestTermRoundTrip(t *testing.T) {
	for _, text := range []string{
		`{user_info,{timestamp,86996746},[1,2],#{a => <<"x">>}}`,
		`[]`, `'quoted atom'`, `-12345678901234567890123`, `3.5`, `<<1,2,3>>`,
	} {
		code, hexOut, stderr := runCLI(t, "", "term", "encode", "--hex", "--", text+".")
		require.Equal(t, 0, code, stderr)
		want, err := term.Parse(text)
		require.NoError(t, err)
		b, err := hex.DecodeString(strings.TrimSpace(hexOut))
		require.NoError(t, err)
		got, err := term.Decode(b)
		require.NoError(t, err)
		require.True(t, term.Equal(want, got), text)

		code, decoded, stderr := runCLI(t, hexOut, "term", "decode", "--hex")
		require.Equal(t, 0, code, stderr)
		require.Equal(t, term.Format(want)+"\n", decoded)

		// Raw bytes through a file.
		code, raw, stderr := runCLI(t, text, "term", "encode")
		require.Equal(t, 0, code, stderr)
		f := filepath.Join(t.TempDir(), "t.etf")
		require.NoError(t, os.WriteFile(f, []byte(raw), 0o600))
		code, decoded, stderr = runCLI(t, "", "term", "decode", f)
		require.Equal(t, 0, code, stderr)
		require.Equal(t, term.Format(want)+"\n", decoded)
	}
}

// TestStatusWrongSecret: a cluster with a secret refuses a status query
// without it, or with another one, in one line; with it, the query works.
func TestStatusWrongSecret(t *testing.T) {
	secret := "0123456789abcdef-secret"
	cfg := node.LocalConfig("s1@127.0.0.1")
	cfg.Role = node.RoleSpare
	cfg.Secret = []byte(secret)
	n, err := node.Start(cfg)
	require.NoError(t, err)
	defer n.Shutdown()

	code, _, stderr := runCLI(t, "", "status", "--join", n.GossipAddr(), "--secret", "another-secret-of-16+")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "cannot join")
	require.Equal(t, 1, strings.Count(stderr, "\n"), stderr)

	code, _, stderr = runCLI(t, "", "status", "--join", n.GossipAddr())
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "cannot join")

	// The node runs no status service (it is a bare node): the members
	// are listed as not answering, which is an error when none answers.
	secretFile := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(secretFile, []byte(secret+"\n"), 0o600))
	code, _, stderr = runCLI(t, "", "status", "--join", n.GossipAddr(), "--secret-file", secretFile, "--timeout", "2s")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "no member answered")
}
