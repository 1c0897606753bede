package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/enode-dev/enode/funnel"
)

func testServer(t *testing.T, clock funnel.Clock) http.Handler {
	t.Helper()
	o, err := parseFlags([]string{"-capacity", "2", "-rate", "0.5", "-ttl", "1m"}, io.Discard)
	require.NoError(t, err)
	cfg := o.limiterConfig()
	cfg.Clock = clock
	lim, err := funnel.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = lim.Close() })
	return limit(lim, http.HandlerFunc(hello), slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func get(h http.Handler, ip string) *http.Response {
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.RemoteAddr = ip + ":40000"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func TestLimitPerClient(t *testing.T) {
	clock := funnel.NewManualClock(0)
	h := testServer(t, clock)

	for i, want := range []struct {
		status    int
		remaining string
		reset     string
	}{
		{http.StatusOK, "1", "2"},
		{http.StatusOK, "0", "4"},
		{http.StatusTooManyRequests, "0", "4"},
	} {
		res := get(h, "203.0.113.7")
		require.Equal(t, want.status, res.StatusCode, "request %d", i)
		require.Equal(t, `"funnel";q=2;w=4`, res.Header.Get("RateLimit-Policy"))
		require.Equal(t, `"funnel";r=`+want.remaining+`;t=`+want.reset, res.Header.Get("RateLimit"))
		require.Equal(t, "2", res.Header.Get("X-RateLimit-Limit"))
		require.Equal(t, want.remaining, res.Header.Get("X-RateLimit-Remaining"))
		require.Equal(t, want.reset, res.Header.Get("X-RateLimit-Reset"))
		if want.status == http.StatusTooManyRequests {
			require.Equal(t, "2", res.Header.Get("Retry-After"), "one request leaks back in 2 s")
		} else {
			require.Empty(t, res.Header.Get("Retry-After"))
		}
	}

	// Another client has its own funnel.
	require.Equal(t, http.StatusOK, get(h, "198.51.100.1").StatusCode)
	require.Equal(t, http.StatusOK, get(h, "2001:db8::1").StatusCode)

	// After Retry-After the first client gets through again.
	clock.Advance(2 * time.Second)
	res := get(h, "203.0.113.7")
	require.Equal(t, http.StatusOK, res.StatusCode)
	body, _ := io.ReadAll(res.Body)
	require.Equal(t, "ok\n", string(body))
}

func TestStoppedLimiterSheds(t *testing.T) {
	lim, err := funnel.New(funnel.DefaultConfig())
	require.NoError(t, err)
	h := limit(lim, http.HandlerFunc(hello), slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, lim.Close())
	res := get(h, "203.0.113.7")
	require.Equal(t, http.StatusServiceUnavailable, res.StatusCode)
	require.Equal(t, "1", res.Header.Get("Retry-After"))
}

func TestFlags(t *testing.T) {
	o, err := parseFlags([]string{"-addr", ":0", "-capacity", "7", "-rate", "3", "-ttl", "10s"}, io.Discard)
	require.NoError(t, err)
	require.Equal(t, options{addr: ":0", capacity: 7, rate: 3, ttl: 10 * time.Second, shards: 1}, o)
	_, err = parseFlags([]string{"-rate", "fast"}, io.Discard)
	require.Error(t, err)
	_, err = parseFlags([]string{"extra"}, io.Discard)
	require.Error(t, err)

	// A bad limit is refused by the limiter's validation, naming the field.
	err = run(context.Background(), []string{"-capacity", "0"}, io.Discard)
	require.ErrorIs(t, err, funnel.ErrConfig)
	require.ErrorContains(t, err, "Capacity")
}

// The command serves on a real socket and stops when its context ends.
func TestRunServes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-addr", "127.0.0.1:0"}, pw) }()
	// The first log line says where it listens.
	buf := make([]byte, 4096)
	n, err := pr.Read(buf)
	require.NoError(t, err)
	line := string(buf[:n])
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	_, rest, ok := strings.Cut(line, "addr=")
	require.True(t, ok, line)
	addr, _, _ := strings.Cut(rest, " ")
	res, err := http.Get("http://" + addr + "/")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, "20", res.Header.Get("X-RateLimit-Limit"))
	_ = res.Body.Close()
	cancel()
	require.NoError(t, <-done)
	_ = pw.Close()
}
