package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// errHelp is returned after -h printed a command's flags (exit 0).
var errHelp = errors.New("help")

// parse parses a command's flags; errors are usage errors, printed by run.
func parse(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stderr)
			fmt.Fprintf(stderr, "usage of enode %s:\n", fs.Name())
			fs.PrintDefaults()
			return errHelp
		}
		return fmt.Errorf("%w: %s: %v", errUsage, fs.Name(), err)
	}
	return nil
}

// secretFlags are the two ways of giving the cluster secret.
type secretFlags struct {
	secret string
	file   string
}

func (s *secretFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.secret, "secret", "", "cluster secret (default $ENODE_SECRET; empty: plaintext, for development only)")
	fs.StringVar(&s.file, "secret-file", "", "file holding the cluster secret")
}

// value returns the secret: --secret, else --secret-file, else $ENODE_SECRET.
func (s *secretFlags) value() ([]byte, error) {
	switch {
	case s.secret != "" && s.file != "":
		return nil, fmt.Errorf("%w: give --secret or --secret-file, not both", errUsage)
	case s.secret != "":
		return []byte(s.secret), nil
	case s.file != "":
		b, err := os.ReadFile(s.file)
		if err != nil {
			return nil, fmt.Errorf("secret file: %w", err)
		}
		b = []byte(strings.TrimRight(string(b), "\r\n"))
		if len(b) == 0 {
			return nil, fmt.Errorf("secret file %s is empty", s.file)
		}
		return b, nil
	}
	return []byte(os.Getenv("ENODE_SECRET")), nil
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
