// Command enode works with enode clusters by hand.
//
//	enode node   --name a@127.0.0.1 --role active|spare [--bind HOST:PORT] [--join HOST:PORT,...]
//	             [--secret S | --secret-file F] [--workers N --state small|reference|large]
//	enode status --join HOST:PORT [--secret S | --secret-file F] [--json]
//	enode term decode [--hex] [FILE|-]
//	enode term encode [--hex] [TEXT|-]
//
// enode node runs one node until Ctrl-C; an active node runs demo workers
// (the reference workload's state, stepped and replicated to a spare) so that
// a cluster can be watched and broken by hand. enode status joins the cluster
// for a moment and asks every member's enode_status service what it runs and
// keeps. enode term converts between the External Term Format and Erlang text.
// Errors are one line on stderr and a non-zero exit: 2 for bad usage, 1 for
// everything else.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// errUsage marks an error in the command line (exit 2).
var errUsage = errors.New("usage")

const usage = `usage:
  enode node   --name NAME@HOST [--role active|spare] [--bind HOST:PORT] [--remote HOST:PORT]
               [--join HOST:PORT,...] [--secret S | --secret-file FILE]
               [--workers N] [--state small|reference|large] [--step 100ms]
               [--keyframe adaptive|every:N] [--delta=false] [--seed N] [--lan]
  enode status --join HOST:PORT[,...] [--secret S | --secret-file FILE] [--json] [--timeout 10s]
  enode term decode [--hex] [FILE|-]     ETF bytes (raw, or hex with --hex) -> Erlang text
  enode term encode [--hex] [TEXT|-]     Erlang text -> ETF bytes (raw, or hex with --hex)
Run "enode COMMAND -h" for a command's flags.`

func main() {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, sig))
}

// run runs one command and returns the exit code. stop ends enode node.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer, stop <-chan os.Signal) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "node":
		err = runNode(args[1:], stdout, stderr, stop)
	case "status":
		err = runStatus(args[1:], stdout, stderr)
	case "term":
		err = runTerm(args[1:], stdin, stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, usage)
		return 0
	default:
		err = fmt.Errorf("%w: unknown command %q (want node, status or term)", errUsage, args[0])
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintln(stderr, "enode:", oneLine(err))
		return 2
	default:
		fmt.Fprintln(stderr, "enode:", oneLine(err))
		return 1
	}
}

// oneLine is an error's message on one line (memberlist's are several).
func oneLine(err error) string { return strings.Join(strings.Fields(err.Error()), " ") }
