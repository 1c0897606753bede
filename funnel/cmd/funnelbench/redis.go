package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// errNoRedis is returned when redis-server is not installed.
var errNoRedis = errors.New("redis-server not found on PATH (apt-get install -y redis-server)")

// funnelLua is the funnel of the funnel package as a Redis script: the same
// state per key (room and last update), the same arithmetic, and the idle
// TTL as the key's expiry. ARGV: capacity, rate per ms, now in ms, cost,
// ttl in ms. It returns {allowed, remaining room}.
const funnelLua = `
local cap = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local v = redis.call('HMGET', KEYS[1], 'r', 't')
local room = tonumber(v[1])
local last = tonumber(v[2])
if room == nil then room = cap; last = now end
room = math.min(cap, room + (now - last) * rate)
local allowed = 0
if cost <= room then room = room - cost; allowed = 1 end
redis.call('HSET', KEYS[1], 'r', room, 't', now)
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return {allowed, tostring(room)}
`

// redisServer is a redis-server this program started, on a free loopback
// port, with persistence off.
type redisServer struct {
	log     syncBuffer // the server's output, shown when it fails
	cmd     *exec.Cmd
	addr    string
	version string
}

func startRedis(ctx context.Context) (*redisServer, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, errNoRedis
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	cmd := exec.CommandContext(ctx, bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning")
	s := &redisServer{cmd: cmd, addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}
	cmd.Stdout, cmd.Stderr = &s.log, &s.log
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := dialRedis(s.addr)
		if err == nil {
			info, err := c.do("INFO", "server")
			_ = c.close()
			if err == nil {
				s.version = infoField(info, "redis_version")
				return s, nil
			}
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("redis-server on %s did not answer: %w\n%s", s.addr, err, s.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func infoField(info any, name string) string {
	s, _ := info.(string)
	for line := range strings.Lines(s) {
		if v, ok := strings.CutPrefix(line, name+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

func (s *redisServer) stop() {
	if c, err := dialRedis(s.addr); err == nil {
		_ = c.send("SHUTDOWN", "NOSAVE")
		_ = c.flush()
		_ = c.close()
	}
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
}

// syncBuffer is a bytes.Buffer the server's output goroutines may share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// maxReply bounds a bulk reply's length (and an array's elements), so a
// corrupt length cannot make the client allocate without limit.
const maxReply = 1 << 20

// redisConn is a minimal RESP2 client: enough to pipeline commands.
type redisConn struct {
	c net.Conn
	r *bufio.Reader
	w *bufio.Writer
}

func dialRedis(addr string) (*redisConn, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return nil, err
	}
	return &redisConn{c: c, r: bufio.NewReaderSize(c, 1<<16), w: bufio.NewWriterSize(c, 1<<16)}, nil
}

func (rc *redisConn) close() error { return rc.c.Close() }
func (rc *redisConn) flush() error { return rc.w.Flush() }

func (rc *redisConn) send(args ...string) error {
	var buf [24]byte
	rc.w.WriteByte('*')
	rc.w.Write(strconv.AppendInt(buf[:0], int64(len(args)), 10))
	rc.w.WriteString("\r\n")
	for _, a := range args {
		rc.w.WriteByte('$')
		rc.w.Write(strconv.AppendInt(buf[:0], int64(len(a)), 10))
		rc.w.WriteString("\r\n")
		rc.w.WriteString(a)
		_, err := rc.w.WriteString("\r\n")
		if err != nil {
			return err
		}
	}
	return nil
}

func (rc *redisConn) line() (string, error) {
	l, err := rc.r.ReadString('\n')
	if err != nil {
		return "", err
	}
	if len(l) < 3 || l[len(l)-2] != '\r' {
		return "", fmt.Errorf("redis: bad reply line %q", l)
	}
	return l[:len(l)-2], nil
}

// read reads one reply: string, int64, nil, []any, or an error reply as
// the error.
func (rc *redisConn) read() (any, error) {
	l, err := rc.line()
	if err != nil {
		return nil, err
	}
	switch l[0] {
	case '+':
		return l[1:], nil
	case '-':
		return nil, fmt.Errorf("redis: %s", l[1:])
	case ':':
		return strconv.ParseInt(l[1:], 10, 64)
	case '$':
		n, err := strconv.Atoi(l[1:])
		if err != nil || n < 0 {
			return nil, err
		}
		if n > maxReply {
			return nil, fmt.Errorf("redis: %d-byte reply is over %d", n, maxReply)
		}
		b := make([]byte, n+2)
		if _, err := io.ReadFull(rc.r, b); err != nil {
			return nil, err
		}
		return string(b[:n]), nil
	case '*':
		n, err := strconv.Atoi(l[1:])
		if err != nil || n < 0 {
			return nil, err
		}
		if n > maxReply/4 {
			return nil, fmt.Errorf("redis: %d-element reply is over %d", n, maxReply/4)
		}
		out := make([]any, n)
		for i := range out {
			if out[i], err = rc.read(); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("redis: unknown reply %q", l)
}

func (rc *redisConn) do(args ...string) (any, error) {
	if err := rc.send(args...); err != nil {
		return nil, err
	}
	if err := rc.flush(); err != nil {
		return nil, err
	}
	return rc.read()
}
