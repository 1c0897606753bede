package client_test

import (
	"context"
	"fmt"
	"time"

	"github.com/enode-dev/enode/client"
	"github.com/enode-dev/enode/term"
)

// staticSource is a Fetcher with one worker at a fixed version.
type staticSource struct{}

func (staticSource) Fetch(_ context.Context, worker string, have client.Version) (client.Entry, error) {
	v := client.Version{Epoch: 1, Seq: 7}
	if worker != "session-42" {
		return client.Entry{}, fmt.Errorf("%w: %s", client.ErrUnknownWorker, worker)
	}
	e := client.Entry{Worker: worker, Owner: "a@127.0.0.1", Version: v}
	if v.Compare(have) > 0 {
		e.State = term.NewTuple(term.Atom("session"), term.Int(42))
	}
	return e, nil
}

func ExampleClient() {
	c, err := client.New(staticSource{}, client.DefaultConfig())
	if err != nil {
		panic(err)
	}
	defer c.Close()

	e, err := c.Get(context.Background(), "session-42") // a miss: fetched
	fmt.Println(term.Format(e.State), e.Version, err)

	f := c.GetAsync("session-42") // a hit: the future is done already
	if f.Wait(time.Second) {
		e, err := f.Result()
		fmt.Println(term.Format(e.State), err)
	}

	_, err = c.Get(context.Background(), "session-43")
	fmt.Println(err)
	st := c.Stats()
	fmt.Println(st.Hits, st.Misses, st.Fetches)
	// Output:
	// {session,42} 1/7 <nil>
	// {session,42} <nil>
	// client: unknown worker: session-43
	// 1 2 2
}
