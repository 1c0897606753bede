package actors

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/require"

	"github.com/enode-dev/enode/delta"
	"github.com/enode-dev/enode/term"
)

func TestProtocolRoundTrip(t *testing.T) {
	msgs := []Message{
		&Chunk{Worker: "w1", Epoch: 1, Seq: 2, Index: 3, Total: 4, Bytes: []byte{1, 2, 3}},
		&Chunk{Worker: "w", Epoch: math.MaxUint64, Seq: math.MaxInt64 + 1, Index: 0, Total: math.MaxUint32},
		&ChunkAck{Worker: "w1", Epoch: 1, Seq: 2, Index: 3},
		&Ack{Worker: "w1", Epoch: 1, Seq: 9},
		&NeedKeyframe{Worker: "wörker", Epoch: 3, HaveSeq: 0},
		&Fenced{Worker: "w1", Epoch: 7},
		&SetBackup{PID: actor.NewPID("127.0.0.1:4000", "replica_handler")},
		&SetBackup{},
		&ResyncQuery{Worker: "w1", Epoch: 4},
		&SetBackup{PID: actor.NewPID("127.0.0.1:4000", "replica_handler"), Holds: &Position{Epoch: 2, Seq: 9, Hash: math.MaxUint64}},
		&DigestQuery{Owner: "a@h"},
		&Digest{Owner: "a@h", Workers: map[string]uint64{"w1": 1, "w2": math.MaxUint64}},
		&Digest{Owner: "a@h", Workers: map[string]uint64{}},
		&ResyncStatus{Worker: "w1", Found: true, Epoch: 4, Seq: 99, Hash: math.MaxUint64, Hello: []byte{1, 2}},
		&ResyncStatus{Worker: "w1"},
		&Resync{Worker: "w1", Owner: "a@h", Epoch: 4, Seq: 100, Data: []byte{3}},
		&LinkPing{Mark: math.MaxUint64},
		&LinkPong{Mark: 7},
	}
	for _, m := range msgs {
		t.Run(fmt.Sprintf("%T", m), func(t *testing.T) {
			got, err := FromTerm(m.ToTerm())
			require.NoError(t, err)
			require.Equal(t, m, got)
		})
	}
}

func TestProtocolGolden(t *testing.T) {
	// The term forms are a wire contract with other nodes: pin them.
	tests := []struct {
		m    Message
		text string
	}{
		{&Ack{Worker: "w1", Epoch: 1, Seq: 9}, `{enode_ack,<<"w1">>,1,9}`},
		{&Fenced{Worker: "w1", Epoch: 7}, `{enode_fenced,<<"w1">>,7}`},
		{&NeedKeyframe{Worker: "w", Epoch: 2, HaveSeq: 5}, `{enode_need_keyframe,<<"w">>,2,5}`},
		{&ChunkAck{Worker: "w", Epoch: 2, Seq: 5, Index: 1}, `{enode_chunk_ack,<<"w">>,2,5,1}`},
		{&Chunk{Worker: "w", Epoch: 2, Seq: 5, Index: 1, Total: 3, Bytes: []byte{7, 8}}, `{enode_chunk,<<"w">>,2,5,1,3,<<7,8>>}`},
		{&SetBackup{}, `{enode_set_backup,undefined}`},
		{&ResyncQuery{Worker: "w", Epoch: 2}, `{enode_resync_query,<<"w">>,2}`},
		{&ResyncStatus{Worker: "w", Found: true, Epoch: 2, Seq: 5, Hash: 6, Hello: []byte{9}}, `{enode_resync_status,<<"w">>,true,2,5,6,<<9>>}`},
		{&Resync{Worker: "w", Owner: "a", Epoch: 2, Seq: 5, Data: []byte{1}}, `{enode_resync,<<"w">>,<<"a">>,2,5,<<1>>}`},
		{&LinkPing{Mark: 3}, `{enode_link_ping,3}`},
		{&LinkPong{Mark: 3}, `{enode_link_pong,3}`},
	}
	for _, tt := range tests {
		want, err := term.Parse(tt.text)
		require.NoError(t, err)
		require.True(t, term.Equal(want, tt.m.ToTerm()), "%s: got %s", tt.text, term.Format(tt.m.ToTerm()))
	}
}

func TestProtocolMalformed(t *testing.T) {
	tests := []struct {
		text string
		want error
	}{
		{`42`, ErrNotProtocol},
		{`{}`, ErrNotProtocol},
		{`{1,2}`, ErrNotProtocol},
		{`{hello,1}`, ErrNotProtocol},
		{`{enode_ack,<<"w">>,1}`, ErrMalformed},
		{`{enode_ack,<<"w">>,1,2,3}`, ErrMalformed},
		{`{enode_ack,<<"w">>,-1,2}`, ErrMalformed},
		{`{enode_ack,<<"w">>,1,2.0}`, ErrMalformed},
		{`{enode_ack,[119],1,2}`, ErrMalformed},
		{`{enode_ack,<<"w">>,18446744073709551616,2}`, ErrMalformed},
		{`{enode_fenced,<<"w">>,foo}`, ErrMalformed},
		{`{enode_resync_query,<<"w">>}`, ErrMalformed},
		{`{enode_digest,<<"a">>,[]}`, ErrMalformed},
		{`{enode_link_ping}`, ErrMalformed},
		{`{enode_link_pong,-1}`, ErrMalformed},
		{`{enode_digest,<<"a">>,#{<<"w">> => -1}}`, ErrMalformed},
		{`{enode_digest,<<"a">>,#{1 => 1}}`, ErrMalformed},
		{`{enode_set_backup,<<"a">>,<<"b">>,1,2}`, ErrMalformed},
		{`{enode_resync_status,<<"w">>,yes,1,2,3,<<>>}`, ErrMalformed},
		{`{enode_resync_status,<<"w">>,true,1,2,3,[]}`, ErrMalformed},
		{`{enode_resync,<<"w">>,<<"a">>,1,-2,<<>>}`, ErrMalformed},
		{`{enode_chunk,<<"w">>,1,2,3,3,<<>>}`, ErrMalformed},
		{`{enode_chunk,<<"w">>,1,2,0,0,<<>>}`, ErrMalformed},
		{`{enode_chunk,<<"w">>,1,2,0,4294967296,<<>>}`, ErrMalformed},
		{`{enode_chunk,<<>>,1,2,0,1,<<>>}`, ErrMalformed},
		{`{enode_chunk,<<"w">>,1,2,0,1,[]}`, ErrMalformed},
		{`{enode_chunk,<<"w">>,1,2,0,1,<<1:3>>}`, ErrMalformed},
		{`{enode_chunk_ack,<<"w">>,1,2}`, ErrMalformed},
		{`{enode_need_keyframe,<<"w">>,1,x}`, ErrMalformed},
		{`{enode_set_backup,nil}`, ErrMalformed},
		{`{enode_set_backup,<<"a">>,7}`, ErrMalformed},
		{`{enode_set_backup}`, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			in, err := term.Parse(tt.text)
			require.NoError(t, err)
			m, err := FromTerm(in)
			require.ErrorIs(t, err, tt.want)
			require.Nil(t, m)
		})
	}
}

func FuzzFromTerm(f *testing.F) {
	for _, s := range []string{
		`{enode_chunk,<<"w">>,2,5,1,3,<<7,8>>}`, `{enode_ack,<<"w1">>,1,9}`, `{enode_fenced,w,7}`,
		`{enode_need_keyframe,<<"w">>,2,5}`, `{enode_chunk_ack,<<"w">>,2,5,1}`, `{enode_set_backup,undefined}`,
		`{enode_set_backup,<<"a">>,<<"b">>}`, `{enode_ack,<<"w">>,-1,2}`, `[1,2]`, `{}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		in, err := term.Parse(s)
		if err != nil {
			return
		}
		m, err := FromTerm(in)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrNotProtocol) {
				t.Fatalf("unexpected error class: %v", err)
			}
			return
		}
		again, err := FromTerm(m.ToTerm())
		if err != nil {
			t.Fatalf("re-decoding %s: %v", term.Format(m.ToTerm()), err)
		}
		require.Equal(t, m, again)
	})
}

func FuzzDecodeEnvelope(f *testing.F) {
	e, err := delta.NewEncoder(delta.EncoderConfig{Worker: "w", Epoch: 1})
	require.NoError(f, err)
	fr, err := e.Encode(term.Record("s", term.Int(1), term.BinaryString("x")))
	require.NoError(f, err)
	good, err := appendEnvelope(nil, "a@h", fr)
	require.NoError(f, err)
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte{envelopeVersion})
	f.Add([]byte{envelopeVersion, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F})
	f.Fuzz(func(t *testing.T, b []byte) {
		owner, fr, err := decodeEnvelope(b)
		if err != nil {
			return
		}
		again, err := appendEnvelope(nil, owner, fr)
		if err != nil {
			return // a frame DecodeFrame reads but AppendFrame refuses is delta's business
		}
		o2, f2, err := decodeEnvelope(again)
		require.NoError(t, err)
		require.Equal(t, owner, o2)
		require.Equal(t, fr, f2)
	})
}

func TestEnvelopeErrors(t *testing.T) {
	e, err := delta.NewEncoder(delta.EncoderConfig{Worker: "w", Epoch: 1})
	require.NoError(t, err)
	fr, err := e.Encode(term.Int(5))
	require.NoError(t, err)
	good, err := appendEnvelope(nil, "a@h", fr)
	require.NoError(t, err)
	owner, got, err := decodeEnvelope(good)
	require.NoError(t, err)
	require.Equal(t, "a@h", owner)
	require.Equal(t, fr.Seq, got.Seq)
	for _, b := range [][]byte{nil, {0}, {envelopeVersion}, {envelopeVersion, 5, 'a'}, good[:len(good)-1]} {
		_, _, err := decodeEnvelope(b)
		require.Error(t, err, "%v", b)
	}
	_, _, err = decodeEnvelope([]byte{1})
	require.ErrorIs(t, err, ErrEnvelope)
}

func TestRendezvousBackup(t *testing.T) {
	spares := []string{"s1@h", "s2@h", "s3@h", "s4@h", "s5@h"}
	_, ok := RendezvousBackup("a@h", nil)
	require.False(t, ok)
	_, ok = RendezvousBackup("a@h", []string{"a@h"})
	require.False(t, ok, "a node is not its own backup")

	rng := rand.New(rand.NewPCG(1, 2))
	counts := map[string]int{}
	const actives = 5000
	for i := range actives {
		a := fmt.Sprintf("active%d@10.0.0.%d", i, i%250)
		b, ok := RendezvousBackup(a, spares)
		require.True(t, ok)
		require.Contains(t, spares, b)
		counts[b]++

		// Same answer whatever the order of the list (every node sees the
		// members in its own order).
		shuffled := slices.Clone(spares)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		b2, _ := RendezvousBackup(a, shuffled)
		require.Equal(t, b, b2)

		// When a spare leaves, only the actives it backed up move.
		gone := spares[rng.IntN(len(spares))]
		rest := slices.DeleteFunc(slices.Clone(spares), func(s string) bool { return s == gone })
		b3, ok := RendezvousBackup(a, rest)
		require.True(t, ok)
		if b != gone {
			require.Equal(t, b, b3, "%s moved although its backup %s stayed", a, b)
		}
		// And when one joins, an active moves only to the newcomer.
		b4, _ := RendezvousBackup(a, append(slices.Clone(spares), "s6@h"))
		if b4 != b {
			require.Equal(t, "s6@h", b4)
		}
	}
	for _, s := range spares {
		share := float64(counts[s]) / actives
		require.InDelta(t, 0.2, share, 0.03, "balance: %s backs up %d of %d", s, counts[s], actives)
	}
}
