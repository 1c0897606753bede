// Command funnelbench prints, in one run and one table, the figures of the
// funnel limiter and the ets tables next to what they are measured
// against:
//
//   - decisions/s on 1M distinct keys: the funnel with a single owner, the
//     funnel sharded, golang.org/x/time/rate (a map of per-key limiters
//     under a mutex), and Redis running the same funnel as a Lua script (a
//     redis-server it starts on a free loopback port, persistence off);
//   - ets insert and lookup ops/s next to Erlang/OTP's ETS, running
//     ../shared/anchors/ets_bench.escript in the same run, with the same
//     operations mirrored in Go;
//   - memory per idle key at 1M keys, expiry index included, and the time
//     until all of them are gone once their TTL has passed, with the heap
//     that is left.
//
// Run it from the repository root:
//
//	go run ./funnel/cmd/funnelbench
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/enode-dev/enode/funnel"
)

type options struct {
	keys           int
	decisions      int
	shards         int
	producers      int
	batch          int
	redis          bool
	redisDecisions int
	singleCalls    int
	ets            bool
	etsOps         int
	rounds         int
	anchor         string
	memory         bool
	funnel         bool
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("funnelbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.IntVar(&o.keys, "keys", 1<<20, "distinct client keys")
	fs.IntVar(&o.decisions, "decisions", 8<<20, "decisions per in-process contender")
	fs.IntVar(&o.shards, "shards", 4, "owners of the sharded funnel")
	fs.IntVar(&o.producers, "producers", 2, "goroutines asking for decisions")
	fs.IntVar(&o.batch, "batch", 512, "decisions per batch (and Redis pipeline depth)")
	fs.BoolVar(&o.redis, "redis", true, "run the Redis contender (needs redis-server)")
	fs.IntVar(&o.redisDecisions, "redis-decisions", 1<<20, "decisions for the pipelined Redis contender")
	fs.IntVar(&o.singleCalls, "single-calls", 1<<18, "decisions for the one-call-per-decision runs")
	fs.BoolVar(&o.ets, "ets", true, "run the ets figures and the Erlang anchor (needs escript)")
	fs.IntVar(&o.etsOps, "ets-ops", 1000000, "ets operations per figure, as the anchor's argument")
	fs.IntVar(&o.rounds, "rounds", 3, "rounds of the ets figures (the best of each is printed)")
	fs.StringVar(&o.anchor, "anchor", "", "path of ets_bench.escript (default: ../shared/anchors beside the module root)")
	fs.BoolVar(&o.memory, "memory", true, "run the memory and expiry figures")
	fs.BoolVar(&o.funnel, "funnel", true, "run the decisions/s figures (the funnel and its contenders, Redis included)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	for name, v := range map[string]int{"keys": o.keys, "decisions": o.decisions, "shards": o.shards,
		"producers": o.producers, "batch": o.batch, "redis-decisions": o.redisDecisions, "single-calls": o.singleCalls, "ets-ops": o.etsOps, "rounds": o.rounds} {
		if v < 1 {
			return o, fmt.Errorf("-%s must be at least 1, not %d", name, v)
		}
	}
	return o, nil
}

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "funnelbench:", err)
		os.Exit(1)
	}
}

// report collects the table's rows.
type report struct {
	w   io.Writer
	err error
}

func (r *report) printf(format string, args ...any) {
	if r.err == nil {
		_, r.err = fmt.Fprintf(r.w, format, args...)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	keys := clientKeys(o.keys)
	rep := &report{w: stdout}
	rep.printf("funnelbench: %s, GOMAXPROCS=%d, %d distinct keys, batches of %d, %d producers\n\n",
		runtime.Version(), runtime.GOMAXPROCS(0), len(keys), o.batch, o.producers)

	// Memory first, while the heap holds nothing but the keys.
	if o.memory {
		if err := memoryFigures(rep, keys); err != nil {
			return err
		}
		rep.printf("\n")
	}
	if o.funnel {
		if err := decisionFigures(ctx, rep, keys, o); err != nil {
			return err
		}
	}
	if o.ets {
		rep.printf("\n")
		if err := etsFigures(rep, o); err != nil {
			return err
		}
	}
	return rep.err
}

// decisionFigures prints decisions/s of the funnel and its contenders.
func decisionFigures(ctx context.Context, rep *report, keys []string, o options) error {
	rep.printf("%-44s %14s %s\n", "decisions/s (1 unit each, 100 burst, 10/s)", "decisions/s", "note")
	single, err := funnelRate(keys, o, 1, true)
	if err != nil {
		return err
	}
	rep.printf("%-44s %14s target >= 2M/s\n", "enode funnel, single owner, batched", mps(single))
	sharded, err := funnelRate(keys, o, o.shards, true)
	if err != nil {
		return err
	}
	rep.printf("%-44s %14s target >= 5M/s\n", fmt.Sprintf("enode funnel, %d owners, batched", o.shards), mps(sharded))
	singleCall, err := funnelRate(keys, o, 1, false)
	if err != nil {
		return err
	}
	rep.printf("%-44s %14s one Allow call per decision\n", "enode funnel, single owner, Allow", mps(singleCall))
	xr := xrateRate(keys, o)
	rep.printf("%-44s %14s batched single owner is %.1fx\n", "golang.org/x/time/rate, map under a mutex", mps(xr), single/xr)
	if o.redis {
		piped, perCall, version, err := redisRate(ctx, keys, o)
		switch {
		case errors.Is(err, errNoRedis):
			rep.printf("%-44s %14s !!! REDIS ABSENT: %v !!!\n", "redis Lua funnel", "-", err)
		case err != nil:
			return fmt.Errorf("redis: %w", err)
		default:
			rep.printf("%-44s %14s batched single owner is %.0fx (target >= 100x)\n",
				fmt.Sprintf("redis %s Lua funnel, pipelined", version), mps(piped), single/piped)
			rep.printf("%-44s %14s Allow is %.0fx, batched single owner %.0fx\n",
				fmt.Sprintf("redis %s Lua funnel, one call each", version), mps(perCall), singleCall/perCall, single/perCall)
		}
	}
	return nil
}

// clientKeys returns n distinct keys shaped like IPv4 addresses, in random
// order, their bytes laid out one after another in that order: a producer
// walking them reads keys as a server reads fresh requests (from cache),
// while the keys land on random places in every contender's table.
func clientKeys(n int) []string {
	r := rand.New(rand.NewPCG(1, 1))
	var b strings.Builder
	offs := make([]int, n+1)
	for i, p := range r.Perm(n) {
		fmt.Fprintf(&b, "10.%d.%d.%d", p>>16&255, p>>8&255, p&255)
		offs[i+1] = b.Len()
	}
	all := b.String()
	keys := make([]string, n)
	for i := range keys {
		keys[i] = all[offs[i]:offs[i+1]]
	}
	return keys
}

func mps(perSecond float64) string {
	switch {
	case perSecond >= 1e6:
		return fmt.Sprintf("%.2fM", perSecond/1e6)
	case perSecond >= 1e3:
		return fmt.Sprintf("%.1fk", perSecond/1e3)
	}
	return fmt.Sprintf("%.0f", perSecond)
}

// produce runs total decisions split over producers goroutines, each
// walking keys in batches from its own offset, and returns decisions/s.
func produce(keys []string, o options, total int, decide func(batch []string) error) (float64, error) {
	var wg sync.WaitGroup
	errs := make(chan error, o.producers)
	per := total / o.producers
	start := time.Now()
	for p := range o.producers {
		wg.Go(func() {
			at := p * len(keys) / o.producers
			for done := 0; done < per; {
				n := min(o.batch, per-done, len(keys)-at)
				if err := decide(keys[at : at+n]); err != nil {
					errs <- err
					return
				}
				done += n
				at = (at + n) % len(keys)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		return 0, err
	}
	return float64(per*o.producers) / elapsed.Seconds(), nil
}

func benchConfig() funnel.Config {
	cfg := funnel.DefaultConfig()
	cfg.Capacity, cfg.Rate = 100, 10
	return cfg
}

// funnelRate measures the funnel with shards owners on keys that all
// exist already (the figure is for decisions, not first sightings),
// batched or one Allow call per decision.
func funnelRate(keys []string, o options, shards int, batched bool) (float64, error) {
	cfg := benchConfig()
	cfg.Shards = shards
	lim, err := funnel.New(cfg)
	if err != nil {
		return 0, err
	}
	defer lim.Close()
	if err := lim.DecideBatch(keys, make([]Decision, len(keys))); err != nil {
		return 0, err
	}
	if !batched {
		return produce(keys, o, o.singleCalls, func(batch []string) error {
			for _, k := range batch {
				if _, err := lim.Allow(k); err != nil {
					return err
				}
			}
			return nil
		})
	}
	outs := sync.Pool{New: func() any { return make([]Decision, o.batch) }}
	return produce(keys, o, o.decisions, func(batch []string) error {
		out := outs.Get().([]Decision)
		err := lim.DecideBatch(batch, out)
		outs.Put(out)
		return err
	})
}

// Decision is the funnel's decision.
type Decision = funnel.Decision

// rateMap is the usual golang.org/x/time/rate per-key limiter: a map of
// token buckets under one mutex.
type rateMap struct {
	mu sync.Mutex
	m  map[string]*rate.Limiter
}

func (rm *rateMap) allow(key string, now time.Time) bool {
	rm.mu.Lock()
	l := rm.m[key]
	if l == nil {
		l = rate.NewLimiter(10, 100)
		rm.m[key] = l
	}
	rm.mu.Unlock()
	return l.AllowN(now, 1)
}

func xrateRate(keys []string, o options) float64 {
	rm := &rateMap{m: make(map[string]*rate.Limiter, len(keys))}
	now := time.Now()
	for _, k := range keys {
		rm.allow(k, now)
	}
	r, _ := produce(keys, o, o.decisions, func(batch []string) error {
		now := time.Now() // one clock read per batch, as the funnel's owner does
		for _, k := range batch {
			rm.allow(k, now)
		}
		return nil
	})
	return r
}

// redisRate measures the Lua funnel on a redis-server started for it, one
// connection per producer: pipelining a batch of EVALSHA calls per round
// trip, then one call per round trip (as a limiter in a request path).
func redisRate(ctx context.Context, keys []string, o options) (piped, perCall float64, version string, err error) {
	srv, err := startRedis(ctx)
	if err != nil {
		return 0, 0, "", err
	}
	defer srv.stop()
	c, err := dialRedis(srv.addr)
	if err != nil {
		return 0, 0, "", err
	}
	defer c.close()
	shaReply, err := c.do("SCRIPT", "LOAD", funnelLua)
	if err != nil {
		return 0, 0, "", err
	}
	sha, _ := shaReply.(string)
	// Every key exists first, as for the other contenders.
	for i := 0; i < len(keys); i += o.batch {
		for _, k := range keys[i:min(i+o.batch, len(keys))] {
			if err := c.send("HSET", k, "r", "100", "t", "0"); err != nil {
				return 0, 0, "", err
			}
		}
		if err := c.flush(); err != nil {
			return 0, 0, "", err
		}
		for range keys[i:min(i+o.batch, len(keys))] {
			if _, err := c.read(); err != nil {
				return 0, 0, "", err
			}
		}
	}
	conns := make(chan *redisConn, o.producers)
	for range o.producers {
		pc, err := dialRedis(srv.addr)
		if err != nil {
			return 0, 0, "", err
		}
		defer pc.close()
		conns <- pc
	}
	origin := time.Now()
	ttl := strconv.FormatInt((5 * time.Minute).Milliseconds(), 10)
	// call pipelines the funnel script for each key of batch on one
	// connection, flushing after every depth calls.
	call := func(batch []string, depth int) error {
		pc := <-conns
		defer func() { conns <- pc }()
		now := strconv.FormatInt(time.Since(origin).Milliseconds(), 10)
		for i := 0; i < len(batch); i += depth {
			part := batch[i:min(i+depth, len(batch))]
			for _, k := range part {
				if err := pc.send("EVALSHA", sha, "1", k, "100", "0.01", now, "1", ttl); err != nil {
					return err
				}
			}
			if err := pc.flush(); err != nil {
				return err
			}
			for range part {
				v, err := pc.read()
				if err != nil {
					return err
				}
				if res, ok := v.([]any); !ok || len(res) != 2 {
					return fmt.Errorf("funnel script returned %v", v)
				}
			}
		}
		return nil
	}
	piped, err = produce(keys, o, o.redisDecisions, func(batch []string) error { return call(batch, len(batch)) })
	if err != nil {
		return 0, 0, "", err
	}
	perCall, err = produce(keys, o, o.singleCalls, func(batch []string) error { return call(batch, 1) })
	return piped, perCall, srv.version, err
}
