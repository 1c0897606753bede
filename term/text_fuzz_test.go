package term

import (
	"math/rand/v2"
	"testing"
)

// FuzzParse checks that Parse never panics and that whatever it accepts
// survives a trip through Format: Parse(Format(t)) is Equal to t and
// formats the same way again.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{user_info,{timestamp,86996746},[1,2],#{a => <<"x">>}}`,
		`[a,b|c]`, `"abc"`, `'hello world'`, `'\x{1F600}\^A\101'`, `$\n`, `16#FF`, `-2#1010`,
		`1.5e10`, `-0.0`, `1_000`, `<<>>`, `<<"text">>`, `<<1,2:3>>`, `<<1000:16,-1:4>>`,
		`<<"é"/utf8>>`, `#{1 => a, 1.0 => b}`, `#Pid<'w1@127.0.0.1'.85.0.3>`, `#Port<a@b.5.1>`,
		`#Ref<a@b.3.2.1.9>`, `fun lists:map/2`, `#Float<nan>`,
		`#Fun<m.6.ab000000000000000000000000000001.1>{6,7,_,[x]}`,
		"{a, % comment\n b}.", `[[[[[[]]]]]]`, `9223372036854775808`, `"ab" "c"`,
	} {
		f.Add(s)
	}
	r := rand.New(rand.NewPCG(7, 8))
	for range 32 {
		f.Add(Format(randomTerm(r, 3)))
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := Parse(s)
		if err != nil {
			if v != nil {
				t.Fatalf("Parse(%q) returned a term and an error", s)
			}
			return
		}
		text := Format(v)
		w, err := Parse(text)
		if err != nil {
			t.Fatalf("Parse(%q) gave %s, which does not parse: %v", s, text, err)
		}
		if !Equal(v, w) {
			t.Fatalf("Parse(%q) gave %s, which parses back as %s", s, text, Format(w))
		}
		if again := Format(w); again != text {
			t.Fatalf("Format is not stable: %s then %s", text, again)
		}
	})
}
