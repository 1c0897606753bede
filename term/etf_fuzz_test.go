package term_test

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/enode-dev/enode/term"
)

// FuzzDecode checks that no input makes Decode panic or hang, and that
// whatever decodes re-encodes to bytes that decode to an equal term and
// re-encode to themselves.
func FuzzDecode(f *testing.F) {
	for _, c := range etfGolden {
		full := unhex(f, c.hex)
		f.Add(full)
		f.Add(full[:len(full)/2])
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 40 {
		enc, err := term.Encode(genETFTerm(r, 3))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(enc)
	}
	for _, s := range []string{
		"835000000067789CCB664861A003000052E800D0",   // compressed
		"836C000000016101" + "6C000000016102" + "6A", // list tail chain
		"8363312E35303030303030303030303030303030303030303065" + "2B303000000000000000",
		"837302" + "6F6B", "837301FF", "83760002D0B6", // old atoms
		"836764000D6E6F6E6F6465406E6F686F7374000000550000000303",
		"836564000D6E6F6E6F6465406E6F686F73740000002A01",
		"8372000264000D6E6F6E6F6465406E6F686F7374020000002A0000002B",
		"8374000000026400016261026400016161" + "01", // unsorted map
		"836CFFFFFFFF6101610161", "8352", "834D0000000103FF",
	} {
		f.Add(unhex(f, s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		x, err := term.Decode(in)
		if err != nil {
			return
		}
		enc, err := term.Encode(x)
		if err != nil {
			t.Fatalf("decoded %x but cannot encode it: %v", in, err)
		}
		y, err := term.Decode(enc)
		if err != nil {
			t.Fatalf("re-encoding %x does not decode: %v", enc, err)
		}
		if !term.Equal(x, y) {
			t.Fatalf("%x: decode(encode(decode(in))) differs", in)
		}
		enc2, err := term.Encode(y)
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("%x: re-encoding is not stable", in)
		}
	})
}
