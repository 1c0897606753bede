package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSmoke runs every figure at a small size, Redis excepted (go test
// does not need redis-server; the command itself says loudly when it is
// absent). The Erlang anchor runs when escript is installed, and must be
// under CI=true.
func TestSmoke(t *testing.T) {
	args := []string{"-keys", "5000", "-decisions", "20000", "-single-calls", "2000", "-ets-ops", "2000", "-rounds", "1", "-redis=false"}
	withETS := true
	if _, err := exec.LookPath("escript"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("escript is missing under CI=true: %v", err)
		}
		t.Logf("escript missing (%v): ets figures not run", err)
		args = append(args, "-ets=false")
		withETS = false
	}
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), args, &out, io.Discard))
	text := out.String()
	for _, want := range []string{
		"memory per idle key at 5000 keys",
		"all idle keys gone, after the TTL",
		"enode funnel, single owner, batched",
		"enode funnel, 4 owners, batched",
		"enode funnel, single owner, Allow",
		"golang.org/x/time/rate",
	} {
		require.Contains(t, text, want)
	}
	if withETS {
		for _, want := range []string{"set procs=1", "set procs=2", "ordered_set procs=1", "ordered_set procs=2", "set memory", "ordered_set memory"} {
			require.Contains(t, text, want)
		}
		require.NotContains(t, text, "ABSENT")
	}
}

func TestFlagsRefuseNonsense(t *testing.T) {
	_, err := parseFlags([]string{"-keys", "0"}, io.Discard)
	require.ErrorContains(t, err, "-keys")
	_, err = parseFlags([]string{"-batch", "x"}, io.Discard)
	require.Error(t, err)
}

func TestClientKeysDistinct(t *testing.T) {
	keys := clientKeys(70000)
	seen := map[string]bool{}
	for _, k := range keys {
		require.False(t, seen[k], k)
		seen[k] = true
		require.True(t, strings.HasPrefix(k, "10."))
	}
}

// The RESP client reads what a Redis server writes.
func TestRESPReplies(t *testing.T) {
	in := "+OK\r\n-ERR boom\r\n:42\r\n$5\r\nhello\r\n$-1\r\n*2\r\n:1\r\n$2\r\n99\r\n"
	rc := &redisConn{r: bufio.NewReader(strings.NewReader(in))}
	v, err := rc.read()
	require.NoError(t, err)
	require.Equal(t, "OK", v)
	_, err = rc.read()
	require.ErrorContains(t, err, "boom")
	v, _ = rc.read()
	require.Equal(t, int64(42), v)
	v, _ = rc.read()
	require.Equal(t, "hello", v)
	v, err = rc.read()
	require.NoError(t, err)
	require.Nil(t, v)
	v, _ = rc.read()
	require.Equal(t, []any{int64(1), "99"}, v)
	_, err = rc.read()
	require.ErrorIs(t, err, io.EOF)

	rc = &redisConn{r: bufio.NewReader(strings.NewReader("?what\r\n"))}
	_, err = rc.read()
	require.ErrorContains(t, err, "unknown reply")

	var buf bytes.Buffer
	rc = &redisConn{w: bufio.NewWriter(&buf)}
	require.NoError(t, rc.send("GET", "k"))
	require.NoError(t, rc.flush())
	require.Equal(t, "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n", buf.String())
}

// Whatever the bytes, the reply reader returns (a value or an error); it
// neither panics nor allocates without bound.
func FuzzRESPRead(f *testing.F) {
	for _, seed := range []string{
		"+OK\r\n", "-ERR x\r\n", ":42\r\n", "$5\r\nhello\r\n", "$-1\r\n", "*2\r\n:1\r\n$2\r\n99\r\n",
		"$999999999999\r\n", "*99999999\r\n", "*1\r\n*1\r\n*1\r\n", "$3\r\nab", ":x\r\n", "\r\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		rc := &redisConn{r: bufio.NewReader(bytes.NewReader(in))}
		for range 64 {
			if _, err := rc.read(); err != nil {
				return
			}
		}
	})
}
