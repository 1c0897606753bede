package main

import (
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/enode-dev/enode/term"
)

// maxInput bounds what enode term reads (a large workload state is about
// 40 MB as ETF).
const maxInput = 1 << 30

// runTerm converts between ETF bytes and Erlang text.
func runTerm(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: term: want decode or encode", errUsage)
	}
	verb := args[0]
	if verb != "decode" && verb != "encode" {
		return fmt.Errorf("%w: term: unknown command %q (want decode or encode)", errUsage, verb)
	}
	fs := flag.NewFlagSet("term "+verb, flag.ContinueOnError)
	useHex := fs.Bool("hex", false, "ETF bytes as hex text instead of raw bytes")
	if err := parse(fs, args[1:], stderr); err != nil {
		return err
	}
	if fs.NArg() > 1 && verb == "decode" {
		return fmt.Errorf("%w: term decode: one FILE at most, got %v", errUsage, fs.Args())
	}
	if verb == "decode" {
		in, err := readInput(fs.Arg(0), stdin)
		if err != nil {
			return err
		}
		if *useHex {
			clean := strings.Join(strings.Fields(string(in)), "")
			if in, err = hex.DecodeString(clean); err != nil {
				return fmt.Errorf("term decode: bad hex: %w", err)
			}
		}
		t, err := term.Decode(in)
		if err != nil {
			return fmt.Errorf("term decode: %w", err)
		}
		_, err = fmt.Fprintln(stdout, term.Format(t))
		return err
	}
	var text string
	if fs.NArg() == 0 || (fs.NArg() == 1 && fs.Arg(0) == "-") {
		in, err := readInput("-", stdin)
		if err != nil {
			return err
		}
		text = string(in)
	} else {
		text = strings.Join(fs.Args(), " ")
	}
	t, err := term.Parse(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(text), ".")))
	if err != nil {
		return fmt.Errorf("term encode: %w", err)
	}
	b, err := term.Encode(t)
	if err != nil {
		return fmt.Errorf("term encode: %w", err)
	}
	if *useHex {
		_, err = fmt.Fprintln(stdout, hex.EncodeToString(b))
		return err
	}
	_, err = stdout.Write(b)
	return err
}

// readInput reads a file, or stdin for "" or "-".
func readInput(name string, stdin io.Reader) ([]byte, error) {
	var r io.Reader = stdin
	if name != "" && name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxInput+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxInput {
		return nil, fmt.Errorf("input larger than %d bytes", maxInput)
	}
	return b, nil
}
