package term

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Golden cases: terms written by real Erlang/OTP (testdata/gen_golden.escript)
// as name, text and the hex of term_to_binary. See the escript for the
// format of the files.

const goldenDir = "testdata/golden"

// goldenFiles are the files gen_golden.escript writes, default form first.
var goldenFiles = []string{"default.etf.txt", "compressed.etf.txt", "minor0.etf.txt", "minor2.etf.txt"}

type goldenCase struct {
	name  string
	text  string // "=" in the variant files: the text is the default file's
	bytes []byte
	line  int
}

// readGolden reads one golden file and the OTP release it was made with.
func readGolden(path string) (cases []goldenCase, release string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 4<<20)
	seen := map[string]bool{}
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if rel, ok := strings.CutPrefix(line, "# otp_release "); ok {
			release = rel
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, "\t")
		if len(fields) != 3 {
			return nil, "", fmt.Errorf("%s:%d: want 3 tab-separated fields, got %d", path, n, len(fields))
		}
		b, err := hex.DecodeString(fields[2])
		if err != nil {
			return nil, "", fmt.Errorf("%s:%d: %w", path, n, err)
		}
		if seen[fields[0]] {
			return nil, "", fmt.Errorf("%s:%d: duplicate case %q", path, n, fields[0])
		}
		seen[fields[0]] = true
		cases = append(cases, goldenCase{name: fields[0], text: fields[1], bytes: b, line: n})
	}
	if err := sc.Err(); err != nil {
		return nil, "", err
	}
	if release == "" {
		return nil, "", fmt.Errorf("%s: no '# otp_release' header", path)
	}
	return cases, release, nil
}

func mustReadGolden(t *testing.T, file string) []goldenCase {
	t.Helper()
	cases, _, err := readGolden(filepath.Join(goldenDir, file))
	require.NoError(t, err)
	require.NotEmpty(t, cases, file)
	return cases
}

// goldenTerms decodes every default case, keyed by name.
func goldenTerms(t *testing.T) map[string]Term {
	t.Helper()
	out := map[string]Term{}
	for _, c := range mustReadGolden(t, "default.etf.txt") {
		v, err := Decode(c.bytes)
		require.NoError(t, err, "default.etf.txt:%d %s", c.line, c.name)
		out[c.name] = v
	}
	return out
}

// hasBigMap reports whether t holds a map of more than 32 keys anywhere:
// OTP writes those in its internal hash order, not in map-key order, so
// their bytes cannot be compared with ours.
func hasBigMap(t Term) bool {
	found := false
	walkTerm(t, func(x Term) bool {
		if m, ok := x.(*Map); ok && m.Len() > 32 {
			found = true
		}
		return !found
	})
	return found
}

// hasKind reports whether t holds a term of kind k anywhere.
func hasKind(t Term, k Kind) bool {
	found := false
	walkTerm(t, func(x Term) bool {
		if x.Kind() == k {
			found = true
		}
		return !found
	})
	return found
}

// walkTerm calls fn on t and every subterm, depth first, until fn returns
// false.
func walkTerm(t Term, fn func(Term) bool) bool {
	if !fn(t) {
		return false
	}
	switch x := t.(type) {
	case *Tuple:
		for i := range x.Len() {
			if !walkTerm(x.At(i), fn) {
				return false
			}
		}
	case *List:
		for _, e := range x.All() {
			if !walkTerm(e, fn) {
				return false
			}
		}
		if !x.IsProper() {
			return walkTerm(x.Tail(), fn)
		}
	case *Map:
		for k, v := range x.All() {
			if !walkTerm(k, fn) || !walkTerm(v, fn) {
				return false
			}
		}
	case *Fun:
		for _, v := range x.FreeVars {
			if !walkTerm(v, fn) {
				return false
			}
		}
	}
	return true
}

// TestGoldenDecodeEncode: every term OTP wrote decodes, and encodes back to
// exactly OTP's bytes (for maps over 32 keys, to bytes of the same length
// that decode to an Equal term, since OTP's key order there is a hash order).
func TestGoldenDecodeEncode(t *testing.T) {
	for _, c := range mustReadGolden(t, "default.etf.txt") {
		t.Run(c.name, func(t *testing.T) {
			v, err := Decode(c.bytes)
			require.NoError(t, err)
			got, err := Encode(v)
			require.NoError(t, err)
			if hasBigMap(v) {
				require.Len(t, got, len(c.bytes), "encoded size differs from OTP's")
				back, err := Decode(got)
				require.NoError(t, err)
				require.True(t, Equal(v, back), "re-decoded term differs")
			} else {
				require.Equal(t, hex.EncodeToString(c.bytes), hex.EncodeToString(got))
			}
			prefix := []byte("prefix")
			app, err := AppendEncode(bytes.Clone(prefix), v)
			require.NoError(t, err)
			require.Equal(t, prefix, app[:len(prefix)])
			require.Equal(t, got, app[len(prefix):], "AppendEncode differs from Encode")
		})
	}
}

// TestGoldenVariants: the compressed form and the minor_version 0 (FLOAT_EXT)
// and 2 (UTF-8 atoms) forms decode to the same term as the default form.
func TestGoldenVariants(t *testing.T) {
	want := goldenTerms(t)
	for _, file := range goldenFiles[1:] {
		for _, c := range mustReadGolden(t, file) {
			t.Run(file+"/"+c.name, func(t *testing.T) {
				w, ok := want[c.name]
				require.True(t, ok, "case missing from default.etf.txt")
				v, err := Decode(c.bytes)
				require.NoError(t, err)
				require.True(t, Equal(w, v), "decodes to a term that differs from the default form's")
			})
		}
	}
}

// TestGoldenCoverage guards the generator's coverage: every External Term
// Format tag that OTP 25 writes appears in some golden case, in each form
// the encoder must reproduce.
func TestGoldenCoverage(t *testing.T) {
	cases := mustReadGolden(t, "default.etf.txt")
	tags := map[byte]bool{}
	for _, c := range cases {
		require.Equal(t, byte(131), c.bytes[0], c.name)
		tags[c.bytes[1]] = true
	}
	// Top-level tags of the cases named for them (nested tags are covered by
	// the containers' cases).
	for _, tag := range []byte{97, 98, 110, 111, 70, 100, 119, 118, 104, 105, 106, 107, 108, 109, 77, 116, 88, 89, 120, 90, 112, 113} {
		require.True(t, tags[tag], "no golden case starts with tag %d", tag)
	}
	for _, c := range mustReadGolden(t, "compressed.etf.txt") {
		require.Equal(t, []byte{131, 80}, c.bytes[:2], "compressed.etf.txt %s", c.name)
	}
	float0 := false
	for _, c := range mustReadGolden(t, "minor0.etf.txt") {
		float0 = float0 || c.bytes[1] == 99
	}
	require.True(t, float0, "no FLOAT_EXT (99) case in minor0.etf.txt")
}

// TestGoldenUpToDate runs the generator with the erl on this machine and
// checks that it reproduces the committed files exactly, so that the golden
// data cannot drift from its generator.
func TestGoldenUpToDate(t *testing.T) {
	escript := needEscript(t)
	dir := t.TempDir()
	out, err := runEscript(t, escript, filepath.Join("testdata", "gen_golden.escript"), dir)
	require.NoError(t, err, "gen_golden.escript: %s", out)
	for _, file := range goldenFiles {
		committed, relC, err := readGolden(filepath.Join(goldenDir, file))
		require.NoError(t, err)
		fresh, relF, err := readGolden(filepath.Join(dir, file))
		require.NoError(t, err)
		require.Equal(t, relC, relF, "%s was generated with OTP %s but this machine's erl is OTP %s: "+
			"the golden bytes are OTP %s's; run the test with that release", file, relC, relF, relC)
		for i := range min(len(committed), len(fresh)) {
			c, f := committed[i], fresh[i]
			require.Equal(t, c.name, f.name, "%s: case %d", file, i)
			require.Equal(t, c.text, f.text, "%s: text of %s", file, c.name)
			require.Equal(t, hex.EncodeToString(c.bytes), hex.EncodeToString(f.bytes), "%s: bytes of %s", file, c.name)
		}
		require.Equal(t, len(committed), len(fresh), "%s: number of cases "+
			"(regenerate: cd term/testdata && escript gen_golden.escript golden)", file)
		raw, err := os.ReadFile(filepath.Join(goldenDir, file))
		require.NoError(t, err)
		rawFresh, err := os.ReadFile(filepath.Join(dir, file))
		require.NoError(t, err)
		require.True(t, bytes.Equal(raw, rawFresh), "%s differs from the generator's output "+
			"(regenerate: cd term/testdata && escript gen_golden.escript golden)", file)
	}
}
