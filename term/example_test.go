package term_test

import (
	"errors"
	"fmt"

	"github.com/enode-dev/enode/term"
)

func ExampleFormat() {
	state := term.NewTuple(
		term.Atom("user_info"),
		term.NewTuple(term.Atom("timestamp"), term.Int(86996746)),
		term.NewList(term.Int(1), term.Int(2)),
		term.MapOf(term.Pair{Key: term.Atom("a"), Value: term.BinaryString("x")}),
	)
	fmt.Println(term.Format(state))
	fmt.Println(term.Format(term.NewList(term.Atom("hello world"), term.Float(1e20), term.Charlist("abc"))))
	fmt.Println(term.Format(term.Pid{Node: "w1@127.0.0.1", ID: 85, Serial: 0, Creation: 3}))
	// Output:
	// {user_info,{timestamp,86996746},[1,2],#{a => <<"x">>}}
	// ['hello world',1.0e20,"abc"]
	// #Pid<'w1@127.0.0.1'.85.0.3>
}

func ExampleParse() {
	t, err := term.Parse(`
		% a session record
		{session, 16#2A, "ab", <<"user-1">>, [a | b], 2.5e-3}.`)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(term.Format(t))

	_, err = term.Parse("{a,\n  b c}")
	var se *term.SyntaxError
	if errors.As(err, &se) {
		fmt.Println(se.Line, se.Column, se.Expected)
	}
	fmt.Println(err)
	// Output:
	// {session,42,"ab",<<"user-1">>,[a|b],0.0025}
	// 2 5 ',' or '}'
	// term: syntax error at line 2, column 5 (offset 8): expected ',' or '}', found 'c'
}

type Loc struct {
	_    struct{} `term:"loc"` // record name
	X, Y int
}

type Session struct {
	ID    int
	Name  string
	Where Loc
	Node  string `term:",atom"`
}

type Config struct {
	_       struct{} `term:",map"` // a map, not a record
	Workers int
	Spare   string `term:",omitempty"`
}

func ExampleMarshal() {
	s, _ := term.Marshal(Session{ID: 7, Name: "alice", Where: Loc{X: 1, Y: 2}, Node: "w1@127.0.0.1"})
	fmt.Println(term.Format(s))
	c, _ := term.Marshal(Config{Workers: 4})
	fmt.Println(term.Format(c))
	// Output:
	// {session,7,<<"alice">>,{loc,1,2},'w1@127.0.0.1'}
	// #{workers => 4}
}

func ExampleUnmarshal() {
	t, _ := term.Parse(`{session, 7, <<"alice">>, {loc, 1, 2}, 'w1@127.0.0.1'}`)
	var s Session
	if err := term.Unmarshal(t, &s); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d %s %d,%d %s\n", s.ID, s.Name, s.Where.X, s.Where.Y, s.Node)

	bad, _ := term.Parse(`{session, 7, <<"alice">>, {pos, 1, 2}, n}`)
	fmt.Println(term.Unmarshal(bad, &s))
	// Output:
	// 7 alice 1,2 w1@127.0.0.1
	// term: cannot unmarshal tuple into Go value of type term_test.Loc at $.Where: wrong record tag (tag pos, want loc)
}

func ExampleMarshaler() {
	// A Marshaler remembers struct layouts; keep one for repeated use.
	var m term.Marshaler
	for i := range 2 {
		t, err := m.Marshal(Session{ID: i, Name: "s", Node: "n"})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(term.Format(t))
	}
	// Output:
	// {session,0,<<"s">>,{loc,0,0},n}
	// {session,1,<<"s">>,{loc,0,0},n}
}
