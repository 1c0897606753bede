package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/enode-dev/enode/internal/demo"
)

// errNodeExited is the failure of a node process that ended while the demo
// still needed it (and was not killed on purpose).
var errNodeExited = errors.New("node process exited")

// proc is one node process of the cluster, as the coordinator sees it.
type proc struct {
	name   string
	role   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	killed bool // killed on purpose

	mu      sync.Mutex
	gossip  string
	status  *demo.Status // newest status line
	ready   chan struct{}
	settled chan line // settled or error answers
	exited  chan struct{}
	waitErr error
}

// latest returns the newest status the node reported (nil before the first).
func (p *proc) latest() *demo.Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.status
}

// cluster is the set of node processes and how to start more.
type cluster struct {
	opts   options
	exe    string
	stderr io.Writer

	mu    sync.Mutex
	procs []*proc
}

// start starts a node process and waits for its ready line.
func (c *cluster) start(name, role string, workers int, join []string) (*proc, error) {
	args := []string{
		"-name", name, "-role", role, "-workers", strconv.Itoa(workers),
		"-state", c.opts.state, "-step", c.opts.step.String(), "-keyframe", c.opts.keyframe,
		"-delta=" + strconv.FormatBool(c.opts.delta), "-seed", strconv.FormatUint(c.opts.seed, 10),
		"-v=" + strconv.FormatBool(c.opts.verbose),
	}
	if len(join) > 0 {
		args = append(args, "-join", strings.Join(join, ","))
	}
	cmd := exec.Command(c.exe, args...)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	detach(cmd)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	p := &proc{name: name, role: role, cmd: cmd, stdin: stdin,
		ready: make(chan struct{}), settled: make(chan line, 1), exited: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c.mu.Lock()
	c.procs = append(c.procs, p)
	c.mu.Unlock()

	var pipes sync.WaitGroup
	pipes.Add(2)
	go func() {
		defer pipes.Done()
		c.readLines(p, stdout)
	}()
	go func() {
		defer pipes.Done()
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			fmt.Fprintf(c.stderr, "[%s] %s\n", name, sc.Text())
		}
	}()
	go func() {
		pipes.Wait()
		err := cmd.Wait()
		p.mu.Lock()
		p.waitErr = err
		p.mu.Unlock()
		close(p.exited)
	}()

	select {
	case <-p.ready:
		return p, nil
	case <-p.exited:
		return nil, fmt.Errorf("%s: %w before it was ready: %v", name, errNodeExited, p.waitErr)
	case <-time.After(2 * time.Minute):
		return nil, fmt.Errorf("%s: not ready after 2 minutes", name)
	}
}

// readLines reads a node's JSON lines.
func (c *cluster) readLines(p *proc, r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<16), 64<<20)
	readyOnce := sync.Once{}
	for sc.Scan() {
		var l line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			fmt.Fprintf(c.stderr, "[%s] %s\n", p.name, sc.Text())
			continue
		}
		switch l.Type {
		case "ready":
			p.mu.Lock()
			p.gossip = l.Gossip
			p.mu.Unlock()
			readyOnce.Do(func() { close(p.ready) })
		case "status":
			p.mu.Lock()
			p.status = l.Status
			p.mu.Unlock()
		case "settled", "error":
			select {
			case p.settled <- l:
			default:
				fmt.Fprintf(c.stderr, "[%s] unexpected %s: %s\n", p.name, l.Type, l.Error)
			}
		}
	}
}

// live returns the node processes that were not killed on purpose.
func (c *cluster) live() []*proc {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*proc
	for _, p := range c.procs {
		if !p.killed {
			out = append(out, p)
		}
	}
	return out
}

// all returns every node process ever started, in start order.
func (c *cluster) all() []*proc {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*proc(nil), c.procs...)
}

// gossipAddrs returns the gossip addresses of the live nodes (seeds for a
// node that joins).
func (c *cluster) gossipAddrs() []string {
	var out []string
	for _, p := range c.live() {
		p.mu.Lock()
		out = append(out, p.gossip)
		p.mu.Unlock()
	}
	return out
}

// kill kills one node with SIGKILL, as a crash would.
func (c *cluster) kill(p *proc) error {
	c.mu.Lock()
	p.killed = true
	c.mu.Unlock()
	return killHard(p.cmd)
}

// exitedUnexpectedly returns the first live node whose process ended.
func (c *cluster) exitedUnexpectedly() *proc {
	for _, p := range c.live() {
		select {
		case <-p.exited:
			return p
		default:
		}
	}
	return nil
}

// settle asks every live node to settle and returns their settled statuses.
// Nodes without workers (the spares) are asked twice: their first answer
// may predate the last states the workers had acknowledged, so their
// replicas are read again once every worker's node has settled.
func (c *cluster) settle(timeout time.Duration) ([]demo.Status, error) {
	out, err := c.settleNodes(c.live(), timeout)
	if err != nil {
		return out, err
	}
	var again []*proc
	var keep []demo.Status
	for _, st := range out {
		if len(st.Workers) > 0 {
			keep = append(keep, st)
			continue
		}
		for _, p := range c.live() {
			if p.name == st.Node {
				again = append(again, p)
			}
		}
	}
	second, err := c.settleNodes(again, timeout)
	return append(keep, second...), err
}

// settleNodes asks the given nodes to settle and returns their statuses.
func (c *cluster) settleNodes(live []*proc, timeout time.Duration) ([]demo.Status, error) {
	for _, p := range live {
		if _, err := io.WriteString(p.stdin, "settle\n"); err != nil {
			return nil, fmt.Errorf("%s: settle: %w", p.name, err)
		}
	}
	deadline := time.After(timeout)
	var out []demo.Status
	var errs []error
	for _, p := range live {
		select {
		case l := <-p.settled:
			if l.Type == "error" || l.Status == nil {
				errs = append(errs, fmt.Errorf("%s: %s", p.name, l.Error))
				continue
			}
			out = append(out, *l.Status)
		case <-p.exited:
			errs = append(errs, fmt.Errorf("%s: %w while settling", p.name, errNodeExited))
		case <-deadline:
			errs = append(errs, fmt.Errorf("%s: no settled status after %v", p.name, timeout))
		}
	}
	return out, errors.Join(errs...)
}

// shutdown kills every node process and waits for them to end; nothing is
// left behind.
func (c *cluster) shutdown() {
	for _, p := range c.all() {
		_ = p.stdin.Close()
		_ = killHard(p.cmd)
	}
	for _, p := range c.all() {
		<-p.exited
	}
}
