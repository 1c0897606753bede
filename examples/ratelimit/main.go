// Command ratelimit is an HTTP service that limits each client IP with a
// funnel (leaky bucket): bursts of up to -capacity requests, -rate a
// second sustained, and clients idle for -ttl forgotten.
//
// Every response carries the limit in three vocabularies: the IETF draft
// fields (RateLimit-Policy: "funnel";q=<capacity>;w=<seconds to drain>,
// RateLimit: "funnel";r=<remaining>;t=<seconds until full room>), and the
// common X-RateLimit-Limit, X-RateLimit-Remaining and X-RateLimit-Reset
// (seconds until full room). A refused request gets 429 Too Many Requests
// with Retry-After in seconds.
//
//	go run ./examples/ratelimit -addr 127.0.0.1:8080 -capacity 20 -rate 5
//	curl -i http://127.0.0.1:8080/
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/enode-dev/enode/funnel"
)

// options are the command's flags.
type options struct {
	addr     string
	capacity float64
	rate     float64
	ttl      time.Duration
	shards   int
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("ratelimit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "address to listen on")
	fs.Float64Var(&o.capacity, "capacity", 20, "requests a client may burst (the funnel's room)")
	fs.Float64Var(&o.rate, "rate", 5, "requests a second a client may sustain (the leak rate)")
	fs.DurationVar(&o.ttl, "ttl", 5*time.Minute, "how long an idle client is remembered")
	fs.IntVar(&o.shards, "shards", 1, "limiter owners (1: a single writer)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	return o, nil
}

func (o options) limiterConfig() funnel.Config {
	cfg := funnel.DefaultConfig()
	cfg.Capacity, cfg.Rate, cfg.TTL, cfg.Shards = o.capacity, o.rate, o.ttl, o.shards
	return cfg
}

// limit wraps next so that each client IP goes through lim first.
func limit(lim *funnel.Limiter, next http.Handler, log *slog.Logger) http.Handler {
	cfg := lim.Config()
	policy := fmt.Sprintf(`"funnel";q=%s;w=%d`, number(cfg.Capacity), ceilSeconds(time.Duration(cfg.Capacity/cfg.Rate*float64(time.Second))))
	limitValue := number(cfg.Capacity)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip := clientIP(r)
		d, err := lim.Allow(ip)
		if err != nil {
			// The limiter is stopping or its owner just restarted: shed
			// the request rather than let it through unmetered.
			log.Warn("rate limiter unavailable", "client", ip, "err", err)
			w.Header().Set("Retry-After", "1")
			http.Error(w, "rate limiter unavailable", http.StatusServiceUnavailable)
			return
		}
		h := w.Header()
		remaining := strconv.FormatInt(int64(math.Floor(d.Remaining)), 10)
		reset := strconv.FormatInt(ceilSeconds(d.ResetAfter), 10)
		h.Set("RateLimit-Policy", policy)
		h.Set("RateLimit", fmt.Sprintf(`"funnel";r=%s;t=%s`, remaining, reset))
		h.Set("X-RateLimit-Limit", limitValue)
		h.Set("X-RateLimit-Remaining", remaining)
		h.Set("X-RateLimit-Reset", reset)
		if !d.Allowed {
			h.Set("Retry-After", strconv.FormatInt(max(1, ceilSeconds(d.RetryAfter)), 10))
			http.Error(w, "too many requests", http.StatusTooManyRequests)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// clientIP is the request's peer address without the port.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func ceilSeconds(d time.Duration) int64 {
	return int64(math.Ceil(d.Seconds()))
}

// number prints a capacity as an integer when it is one.
func number(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func hello(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "ok\n")
}

func run(ctx context.Context, args []string, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	lim, err := funnel.New(o.limiterConfig())
	if err != nil {
		return err
	}
	defer lim.Close()
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           limit(lim, http.HandlerFunc(hello), log),
		ReadHeaderTimeout: 5 * time.Second,
	}
	log.Info("listening", "addr", ln.Addr().String(), "capacity", o.capacity, "rate", o.rate, "ttl", o.ttl)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "ratelimit:", err)
		os.Exit(1)
	}
}
