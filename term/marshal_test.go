package term

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	mrand "math/rand"
	"reflect"
	"strings"
	"testing"
	"testing/quick"

	"github.com/stretchr/testify/require"
)

type Timestamp struct{ Ms int64 }

type Loc struct {
	_    struct{} `term:"loc"`
	X, Y int
	Zone string `term:",atom"`
}

type Session struct {
	I      int
	TS     Timestamp
	Tid    *Timestamp
	Loc    Loc
	Name   string
	Secret string `term:"-"`
	Data   []byte
	hidden int
}

type WorkerState struct {
	_        struct{} `term:"worker_state"`
	W        uint64
	Version  int32
	Sessions []Session
	Counters map[string]int
	Blob     []byte
	Extra    any
	Big      *big.Int
	Ratio    float64
	Ok       bool
	Tags     [2]string
	Hash     [4]byte
	Raw      Term
	Node     Atom
}

type Config struct {
	_       struct{} `term:",map"`
	Workers int
	Backup  string `term:"spare,omitempty"`
	Limits  map[Atom]float64
	Nested  *Config `term:",omitempty"`
}

// Celsius converts itself: a tagged tuple {celsius, Tenths}.
type Celsius float64

func (c Celsius) MarshalTerm() (Term, error) {
	return NewTuple(Atom("celsius"), Int(math.Round(float64(c)*10))), nil
}

func (c *Celsius) UnmarshalTerm(t Term) error {
	tup, ok := t.(*Tuple)
	if !ok || tup.Len() != 2 || tup.At(0) != Atom("celsius") {
		return errors.New("want {celsius, Tenths}")
	}
	n, ok := tup.At(1).(Int)
	if !ok {
		return errors.New("want integer tenths")
	}
	*c = Celsius(float64(n) / 10)
	return nil
}

type Reading struct {
	Temp  Celsius
	Temps []Celsius
	Ptr   *Celsius
}

func TestMarshalFormats(t *testing.T) {
	c := Celsius(21.5)
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"nil", nil, `undefined`},
		{"bool", true, `true`},
		{"int", -5, `-5`},
		{"int8", int8(-128), `-128`},
		{"uint64 max", uint64(math.MaxUint64), `18446744073709551615`},
		{"uint64 small", uint64(7), `7`},
		{"float", 1.5, `1.5`},
		{"float32", float32(0.5), `0.5`},
		{"string", "héllo", `<<104,195,169,108,108,111>>`},
		{"ascii string", "hi", `<<"hi">>`},
		{"bytes", []byte{1, 2}, `<<1,2>>`},
		{"nil bytes", []byte(nil), `<<>>`},
		{"byte array", [3]byte{1, 2, 3}, `<<1,2,3>>`},
		{"int slice", []int{1, 2}, `[1,2]`},
		{"nil slice", []string(nil), `[]`},
		{"array", [2]bool{true, false}, `[true,false]`},
		{"map", map[string]int{"b": 2, "a": 1}, `#{<<"a">> => 1,<<"b">> => 2}`},
		{"nil map", map[int]int(nil), `#{}`},
		{"atom", Atom("ok"), `ok`},
		{"term", NewTuple(Atom("a"), Nil()), `{a,[]}`},
		{"nil term pointer", (*Tuple)(nil), `undefined`},
		{"nil pointer", (*int)(nil), `undefined`},
		{"pointer", &c, `{celsius,215}`},
		{"big", big.NewInt(-3), `-3`},
		{"huge", new(big.Int).Lsh(big.NewInt(1), 70), `1180591620717411303424`},
		{"record", Timestamp{Ms: 86996746}, `{timestamp,86996746}`},
		{"named record", Loc{X: 1, Y: 2, Zone: "eu"}, `{loc,1,2,eu}`},
		{"record with skips", Session{I: 1, Tid: &Timestamp{2}, Name: "n", Secret: "s", Data: []byte{1}, hidden: 3},
			`{session,1,{timestamp,0},{timestamp,2},{loc,0,0,''},<<"n">>,<<1>>}`},
		{"map struct", Config{Workers: 4}, `#{limits => #{},workers => 4}`},
		{"map struct full", Config{Workers: 4, Backup: "rep", Limits: map[Atom]float64{"cpu": 0.5}, Nested: &Config{}},
			`#{limits => #{cpu => 0.5},nested => #{limits => #{},workers => 0},spare => <<"rep">>,workers => 4}`},
		{"anonymous struct", struct {
			A    int
			BigX string
		}{1, "x"}, `#{a => 1,big_x => <<"x">>}`},
		{"marshaler", Reading{Temp: 21.5, Temps: []Celsius{1}}, `{reading,{celsius,215},[{celsius,10}],undefined}`},
		{"interface slice", []any{1, "a", Atom("b"), nil, []any{}}, `[1,<<"a">>,b,undefined,[]]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Marshal(tt.in)
			require.NoError(t, err)
			require.Equal(t, tt.want, Format(got))
		})
	}
}

func TestSnakeCase(t *testing.T) {
	for in, want := range map[string]string{
		"UserInfo": "user_info", "HTTPServer": "http_server", "UserID": "user_id", "ID": "id",
		"A": "a", "Field2": "field2", "A1B": "a1_b", "userInfo": "user_info", "My_Field": "my_field",
		"WorkerState": "worker_state", "ÉtatGlobal": "état_global",
	} {
		require.Equal(t, want, snakeCase(in), in)
	}
}

func sampleState() WorkerState {
	return WorkerState{
		W: 42, Version: 1,
		Sessions: []Session{
			{I: 1, TS: Timestamp{86996747}, Loc: Loc{X: 1, Y: 1, Zone: "na"}, Name: "user-0000000001", Data: []byte{}},
			{I: 2, TS: Timestamp{86996748}, Tid: &Timestamp{5}, Loc: Loc{X: 2, Y: 2, Zone: "eu"}, Name: "user-0000000002", Data: []byte{1}},
		},
		Counters: map[string]int{"ctr-1": 1, "ctr-2": 2},
		Blob:     []byte("0123456789abcdef"),
		Extra:    NewTuple(Atom("x"), Int(1)),
		Big:      new(big.Int).Lsh(big.NewInt(-1), 100),
		Ratio:    0.25,
		Ok:       true,
		Tags:     [2]string{"a", "b"},
		Hash:     [4]byte{1, 2, 3, 4},
		Raw:      MapOf(Pair{Atom("k"), BinaryString("v")}),
		Node:     "w1@127.0.0.1",
	}
}

func TestMarshalRoundTripNested(t *testing.T) {
	var m Marshaler
	in := sampleState()
	x, err := m.Marshal(in)
	require.NoError(t, err)
	tag, ok := x.(*Tuple).Tag()
	require.True(t, ok)
	require.Equal(t, Atom("worker_state"), tag)

	// Through the text form and back, to be sure the term is self-contained.
	x2, err := Parse(Format(x))
	require.NoError(t, err)
	require.True(t, Equal(x, x2))

	var out WorkerState
	require.NoError(t, m.Unmarshal(x2, &out))
	require.Equal(t, in.Sessions, out.Sessions)
	require.Equal(t, in.Counters, out.Counters)
	require.Equal(t, in.Blob, out.Blob)
	require.True(t, Equal(in.Extra.(Term), out.Extra.(Term)))
	require.Equal(t, 0, in.Big.Cmp(out.Big))
	require.Equal(t, in.Ratio, out.Ratio)
	require.Equal(t, in.Ok, out.Ok)
	require.Equal(t, in.Tags, out.Tags)
	require.Equal(t, in.Hash, out.Hash)
	require.True(t, Equal(in.Raw, out.Raw))
	require.Equal(t, in.Node, out.Node)
	require.Equal(t, in.W, out.W)

	// The package-level functions give the same results.
	y, err := Marshal(in)
	require.NoError(t, err)
	require.True(t, Equal(x, y))
	var out2 WorkerState
	require.NoError(t, Unmarshal(y, &out2))
	require.Equal(t, Format(x), Format(mustMarshal(t, out2)))
}

func mustMarshal(t *testing.T, v any) Term {
	t.Helper()
	x, err := Marshal(v)
	require.NoError(t, err)
	return x
}

func TestMarshalRoundTripMapStruct(t *testing.T) {
	in := Config{Workers: 3, Backup: "rep", Limits: map[Atom]float64{"cpu": 0.75, "mem": 1e9}, Nested: &Config{Workers: 1}}
	x := mustMarshal(t, in)
	var out Config
	require.NoError(t, Unmarshal(x, &out))
	require.Equal(t, normalize(in), normalize(out))

	// Absent keys leave fields alone; unknown keys are ignored.
	out = Config{Backup: "keep"}
	require.NoError(t, Unmarshal(MapOf(Pair{Atom("workers"), Int(9)}, Pair{Atom("other"), Int(1)}), &out))
	require.Equal(t, Config{Workers: 9, Backup: "keep"}, out)
}

func TestUnmarshalIntoInterfaceAndTerms(t *testing.T) {
	x := NewTuple(Atom("a"), Int(1))
	var a any
	require.NoError(t, Unmarshal(x, &a))
	require.Same(t, x, a)

	var tt Term
	require.NoError(t, Unmarshal(x, &tt))
	require.Same(t, x, tt)

	var tup *Tuple
	require.NoError(t, Unmarshal(x, &tup))
	require.Same(t, x, tup)
	require.NoError(t, Unmarshal(Undefined, &tup))
	require.Nil(t, tup)

	var p *int
	require.NoError(t, Unmarshal(Int(5), &p))
	require.Equal(t, 5, *p)
	require.NoError(t, Unmarshal(Undefined, &p))
	require.Nil(t, p)

	var s string
	for _, in := range []Term{BinaryString("héllo"), Atom("héllo"), Charlist("héllo")} {
		require.NoError(t, Unmarshal(in, &s))
		require.Equal(t, "héllo", s)
	}
	var f float32
	require.NoError(t, Unmarshal(Int(3), &f))
	require.Equal(t, float32(3), f)
	var u uint64
	require.NoError(t, Unmarshal(mustMarshal(t, uint64(math.MaxUint64)), &u))
	require.Equal(t, uint64(math.MaxUint64), u)
	var bi big.Int
	require.NoError(t, Unmarshal(Int(-7), &bi))
	require.Equal(t, int64(-7), bi.Int64())

	var c Celsius
	require.NoError(t, Unmarshal(NewTuple(Atom("celsius"), Int(-15)), &c))
	require.Equal(t, Celsius(-1.5), c)
}

func TestUnmarshalErrors(t *testing.T) {
	type Pair2 struct {
		_    struct{} `term:"pair"`
		A, B int8
	}
	type Holder struct {
		Items []Pair2
		Fixed [2]int
		Temp  Celsius
		Zone  string `term:",atom"`
	}
	good := func(items ...Term) Term {
		return Record("holder", NewList(items...), NewList(Int(1), Int(2)), NewTuple(Atom("celsius"), Int(1)), Atom("z"))
	}
	tests := []struct {
		name   string
		in     Term
		target any
		cause  error
		path   string
		kind   Kind
		typ    string
	}{
		{"not a pointer", Int(1), 1, ErrInvalidTarget, "$", KindInt, "int"},
		{"nil pointer", Int(1), (*int)(nil), ErrInvalidTarget, "$", KindInt, "*int"},
		{"nil term", nil, new(int), ErrInvalidTarget, "$", 0, "*int"},
		{"int from atom", Atom("x"), new(int), ErrMismatch, "$", KindAtom, "int"},
		{"int8 overflow", Int(128), new(int8), ErrOverflow, "$", KindInt, "int8"},
		{"int64 from big", bigTerm("9223372036854775808"), new(int64), ErrOverflow, "$", KindInt, "int64"},
		{"uint negative", Int(-1), new(uint), ErrOverflow, "$", KindInt, "uint"},
		{"uint8 overflow", Int(256), new(uint8), ErrOverflow, "$", KindInt, "uint8"},
		{"uint64 from huge", bigTerm("18446744073709551616"), new(uint64), ErrOverflow, "$", KindInt, "uint64"},
		{"float32 overflow", Float(1e300), new(float32), ErrOverflow, "$", KindFloat, "float32"},
		{"bool from int", Int(1), new(bool), ErrMismatch, "$", KindInt, "bool"},
		{"string from int", Int(1), new(string), ErrMismatch, "$", KindInt, "string"},
		{"string from bitstring", NewBitstring([]byte{1}, 3), new(string), ErrMismatch, "$", KindBinary, "string"},
		{"bytes from list", NewList(Int(1)), new([]byte), ErrMismatch, "$", KindList, "[]uint8"},
		{"slice from improper", ImproperList([]Term{Int(1)}, Int(2)), new([]int), ErrMismatch, "$", KindList, "[]int"},
		{"array length", NewList(Int(1)), new([2]int), ErrArity, "$", KindList, "[2]int"},
		{"byte array length", NewBinary([]byte{1}), new([2]byte), ErrArity, "$", KindBinary, "[2]uint8"},
		{"map from list", Nil(), new(map[string]int), ErrMismatch, "$", KindList, "map[string]int"},
		{"map value", MapOf(Pair{BinaryString("k"), Atom("v")}), new(map[string]int), ErrMismatch, `$[<<"k">>]`, KindAtom, "int"},
		{"map key", MapOf(Pair{Int(1), Int(1)}), new(map[string]int), ErrMismatch, `$[key 1]`, KindInt, "string"},
		{"term type", Int(1), new(*Tuple), ErrMismatch, "$", KindInt, "*term.Tuple"},
		{"interface", Int(1), new(error), ErrMismatch, "$", KindInt, "error"},
		{"record not tuple", Atom("x"), new(Holder), ErrMismatch, "$", KindAtom, "term.Holder"},
		{"record arity", Record("holder", Nil()), new(Holder), ErrArity, "$", KindTuple, "term.Holder"},
		{"record tag", Record("other", Nil(), Nil(), Nil(), Atom("z")), new(Holder), ErrRecordTag, "$", KindTuple, "term.Holder"},
		{"nested record tag", good(Record("pair", Int(1), Int(2)), Record("pear", Int(1), Int(2))), new(Holder), ErrRecordTag, "$.Items[1]", KindTuple, "term.Pair2"},
		{"nested overflow", good(Record("pair", Int(1), Int(200))), new(Holder), ErrOverflow, "$.Items[0].B", KindInt, "int8"},
		{"atom field", Record("holder", Nil(), NewList(Int(1), Int(2)), NewTuple(Atom("celsius"), Int(1)), BinaryString("z")),
			new(Holder), ErrMismatch, "$.Zone", KindBinary, "string"},
		{"map struct from tuple", NewTuple(), new(Config), ErrMismatch, "$", KindTuple, "term.Config"},
		{"unsupported", Int(1), new(chan int), ErrUnsupportedType, "$", KindInt, "chan int"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Unmarshal(tt.in, tt.target)
			require.Error(t, err)
			require.ErrorIs(t, err, tt.cause)
			var ue *UnmarshalError
			require.ErrorAs(t, err, &ue)
			require.Equal(t, tt.path, ue.Path, "%v", err)
			require.Equal(t, tt.kind, ue.Kind, "%v", err)
			require.Equal(t, tt.typ, fmt.Sprint(ue.Type), "%v", err)
			require.Contains(t, err.Error(), tt.path)
		})
	}

	// An UnmarshalTerm error is the cause, and the path leads to it.
	err := Unmarshal(Record("reading", Atom("hot"), Nil(), Undefined), new(Reading))
	var ue *UnmarshalError
	require.ErrorAs(t, err, &ue)
	require.Equal(t, "$.Temp", ue.Path)
	require.EqualError(t, err, "term: cannot unmarshal atom into Go value of type term.Celsius at $.Temp: want {celsius, Tenths}")
}

func TestMarshalErrors(t *testing.T) {
	type BadOmit struct {
		A int `term:",omitempty"`
	}
	type BadOpt struct {
		A int `term:",bogus"`
	}
	type BadAtom struct {
		A int `term:",atom"`
	}
	type BadMarker struct {
		_ struct{} `term:"name,map"`
	}
	type BadMarkerOpt struct {
		_ struct{} `term:",tuple"`
	}
	type DupKeys struct {
		_ struct{} `term:",map"`
		A int      `term:"x"`
		B int      `term:"x"`
	}
	type Cycle struct{ Next *Cycle }
	cyc := &Cycle{}
	cyc.Next = cyc
	type Outer struct{ Ch []chan int }

	tests := []struct {
		name  string
		in    any
		cause error
		path  string
	}{
		{"nan", math.NaN(), ErrNotFinite, "$"},
		{"inf in slice", []float64{1, math.Inf(1)}, ErrNotFinite, "$[1]"},
		{"chan", make(chan int), ErrUnsupportedType, "$"},
		{"nested chan", Outer{Ch: []chan int{make(chan int)}}, ErrUnsupportedType, "$.Ch[0]"},
		{"func", func() {}, ErrUnsupportedType, "$"},
		{"complex", complex(1, 2), ErrUnsupportedType, "$"},
		{"omitempty on record", BadOmit{}, ErrInvalidTag, "$"},
		{"unknown option", BadOpt{}, ErrInvalidTag, "$"},
		{"atom on int", BadAtom{}, ErrInvalidTag, "$"},
		{"map with name", BadMarker{}, ErrInvalidTag, "$"},
		{"unknown struct option", BadMarkerOpt{}, ErrInvalidTag, "$"},
		{"duplicate keys", DupKeys{}, ErrInvalidTag, "$"},
		{"duplicate map keys", map[any]int{1: 1, int8(1): 2}, ErrDuplicateKey, "$"},
		{"cycle", cyc, ErrTooDeep, "$" + strings.Repeat(".Next", MaxMarshalDepth/2)},
		{"marshaler error", Reading{Ptr: nil, Temps: nil}, nil, ""},
		{"zero BigInt", BigInt{}, ErrUnsupportedType, "$"},
		{"long atom", struct {
			A string `term:",atom"`
		}{strings.Repeat("a", 256)}, ErrAtomTooLong, "$.A"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x, err := Marshal(tt.in)
			if tt.cause == nil {
				require.NoError(t, err)
				require.NotNil(t, x)
				return
			}
			require.Error(t, err)
			require.Nil(t, x)
			require.ErrorIs(t, err, tt.cause)
			var me *MarshalError
			require.ErrorAs(t, err, &me)
			if tt.name == "cycle" {
				require.True(t, strings.HasPrefix(me.Path, tt.path), "%.80s", me.Path)
			} else {
				require.Equal(t, tt.path, me.Path, "%v", err)
			}
		})
	}

	// A tag error is reported again, unchanged, by a Marshaler that has
	// remembered it.
	var m Marshaler
	_, err1 := m.Marshal([]BadOpt{{}})
	_, err2 := m.Marshal(BadOpt{})
	var e1, e2 *MarshalError
	require.ErrorAs(t, err1, &e1)
	require.ErrorAs(t, err2, &e2)
	require.Equal(t, "$[0]", e1.Path)
	require.Equal(t, "$", e2.Path)
}

// TestMarshalProperty checks Unmarshal(Marshal(v)) == v for random values
// of a type that uses most of the rules.
func TestMarshalProperty(t *testing.T) {
	type Inner struct {
		S  string
		B  []byte
		U  uint16
		F  float32
		Ok bool
	}
	type Outer struct { // testing/quick cannot fill a struct with a marker field
		I     int64
		U     uint64
		F     float64
		In    Inner
		List  []Inner
		M     map[int32]string
		P     *Inner
		Arr   [3]int8
		Atoms []Atom
	}
	var m Marshaler
	f := func(v Outer) bool {
		if math.IsNaN(v.F) || math.IsInf(v.F, 0) {
			return true
		}
		for _, in := range append(v.List, v.In) {
			if math.IsNaN(float64(in.F)) || math.IsInf(float64(in.F), 0) {
				return true
			}
		}
		for _, a := range v.Atoms {
			if !utf8Valid(string(a)) || len([]rune(string(a))) > maxAtomLen {
				return true
			}
		}
		x, err := m.Marshal(v)
		if err != nil {
			t.Log(err)
			return false
		}
		// Via the text form, as a replica or a log reader would see it.
		x2, err := Parse(Format(x))
		if err != nil || !Equal(x, x2) {
			t.Log(err, Format(x))
			return false
		}
		var out Outer
		if err := m.Unmarshal(x2, &out); err != nil {
			t.Log(err)
			return false
		}
		return reflect.DeepEqual(normalize(v), normalize(out))
	}
	cfg := &quick.Config{MaxCount: 300, Rand: newQuickRand()}
	require.NoError(t, quick.Check(f, cfg))
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

// normalize maps nil slices and maps to empty ones, which Marshal does not
// tell apart.
func normalize(v any) any {
	rv := reflect.ValueOf(v)
	out := reflect.New(rv.Type()).Elem()
	out.Set(rv)
	normalizeValue(out)
	return out.Interface()
}

func normalizeValue(v reflect.Value) {
	switch v.Kind() {
	case reflect.Slice:
		if v.IsNil() && v.CanSet() {
			v.Set(reflect.MakeSlice(v.Type(), 0, 0))
		}
		for i := range v.Len() {
			normalizeValue(v.Index(i))
		}
	case reflect.Map:
		if v.IsNil() && v.CanSet() {
			v.Set(reflect.MakeMap(v.Type()))
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				normalizeValue(v.Field(i))
			}
		}
	case reflect.Pointer:
		if !v.IsNil() {
			normalizeValue(v.Elem())
		}
	}
}

func TestMarshalerConcurrent(t *testing.T) {
	var m Marshaler
	in := sampleState()
	want := Format(mustMarshal(t, in))
	done := make(chan string)
	for range 4 {
		go func() {
			x, err := m.Marshal(in)
			if err != nil {
				done <- err.Error()
				return
			}
			done <- Format(x)
		}()
	}
	for range 4 {
		require.Equal(t, want, <-done)
	}
}

func BenchmarkMarshal(b *testing.B) {
	in := sampleState()
	b.Run("Marshaler", func(b *testing.B) {
		var m Marshaler
		b.ReportAllocs()
		for b.Loop() {
			if _, err := m.Marshal(in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("func", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Marshal(in); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkUnmarshal(b *testing.B) {
	x, err := Marshal(sampleState())
	if err != nil {
		b.Fatal(err)
	}
	var m Marshaler
	b.ReportAllocs()
	for b.Loop() {
		var out WorkerState
		if err := m.Unmarshal(x, &out); err != nil {
			b.Fatal(err)
		}
	}
}

// newQuickRand is testing/quick's source of randomness, with a fixed seed.
func newQuickRand() *mrand.Rand { return mrand.New(mrand.NewSource(11)) }

// FuzzUnmarshal checks that Unmarshal never panics on any term, whatever
// the target, and that what it accepts marshals back to a term that it
// accepts again with the same result.
func FuzzUnmarshal(f *testing.F) {
	f.Add(Format(mustMarshalF(sampleState())))
	f.Add(`{worker_state,1,2,[],#{},<<>>,undefined,undefined,0.0,true,[<<>>,<<>>],<<1,2,3,4>>,x,y}`)
	f.Add(`#{workers => 3, spare => <<"x">>, limits => #{cpu => 1}}`)
	f.Add(`{reading,{celsius,1},[{celsius,2}],undefined}`)
	f.Fuzz(func(t *testing.T, s string) {
		x, err := Parse(s)
		if err != nil {
			return
		}
		var m Marshaler
		check := func(newV func() any) {
			v := newV()
			if err := m.Unmarshal(x, v); err != nil {
				var ue *UnmarshalError
				if !errors.As(err, &ue) {
					t.Fatalf("error is not an *UnmarshalError: %v", err)
				}
				return
			}
			y, err := m.Marshal(v)
			if err != nil {
				return // a value Unmarshal accepts may still hold a NaN, say
			}
			w := newV()
			if err := m.Unmarshal(y, w); err != nil {
				t.Fatalf("%s unmarshaled, marshaled as %s, which does not unmarshal: %v", s, Format(y), err)
			}
			if z, err := m.Marshal(w); err != nil || !Equal(y, z) {
				t.Fatalf("not stable: %s then %v (%v)", Format(y), z, err)
			}
		}
		check(func() any { return new(WorkerState) })
		check(func() any { return new(Config) })
		check(func() any { return new(Reading) })
		check(func() any { return new(map[string][]int) })
		check(func() any { return new(any) })
	})
}

func mustMarshalF(v any) Term {
	x, err := Marshal(v)
	if err != nil {
		panic(err)
	}
	return x
}
