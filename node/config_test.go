package node

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestDefaultsValidate(t *testing.T) {
	for _, c := range []Config{DefaultConfig("a@host"), LocalConfig("a@127.0.0.1")} {
		require.NoError(t, c.Validate())
	}
	require.Less(t, LocalFailureDetection().ProbeInterval, LANFailureDetection().ProbeInterval)
}

func TestValidateNamesTheField(t *testing.T) {
	for _, tc := range []struct {
		field string
		mod   func(*Config)
	}{
		{"Name", func(c *Config) { c.Name = "nohost" }},
		{"Name", func(c *Config) { c.Name = "@host" }},
		{"Name", func(c *Config) { c.Name = "a@" }},
		{"Name", func(c *Config) { c.Name = "a b@host" }},
		{"Name", func(c *Config) { c.Name = "a@b@c" }},
		{"Name", func(c *Config) { c.Name = "a@" + strings.Repeat("h", 255) }},
		{"Role", func(c *Config) { c.Role = 0 }},
		{"GossipAddr", func(c *Config) { c.GossipAddr = "127.0.0.1" }},
		{"GossipAddr", func(c *Config) { c.GossipAddr = "127.0.0.1:99999" }},
		{"GossipAdvertise", func(c *Config) { c.GossipAdvertise = "10.0.0.1:0" }},
		{"GossipAdvertise", func(c *Config) { c.GossipAdvertise = "example.com:7946" }},
		{"RemoteAddr", func(c *Config) { c.RemoteAddr = ":x" }},
		{"RemoteAdvertise", func(c *Config) { c.RemoteAdvertise = "10.0.0.1:4000" }}, // RemoteAddr has port 0
		{"Seeds[1]", func(c *Config) { c.Seeds = []string{"127.0.0.1:7946", "nope"} }},
		{"Failure.ProbeInterval", func(c *Config) { c.Failure.ProbeInterval = 0 }},
		{"Failure.ProbeTimeout", func(c *Config) { c.Failure.ProbeTimeout = time.Hour }},
		{"Failure.SuspicionMult", func(c *Config) { c.Failure.SuspicionMult = 0 }},
		{"Failure.GossipInterval", func(c *Config) { c.Failure.GossipInterval = -1 }},
		{"Failure.TCPTimeout", func(c *Config) { c.Failure.TCPTimeout = 0 }},
		{"Failure.DeadNodeReclaimTime", func(c *Config) { c.Failure.DeadNodeReclaimTime = -1 }},
		{"Secret", func(c *Config) { c.Secret = []byte("short") }},
		{"Meta", func(c *Config) { c.Meta = map[string]string{"k": strings.Repeat("v", 600)} }},
		{"MaxMessageSize", func(c *Config) { c.MaxMessageSize = 10 }},
		{"WriterBatchSize", func(c *Config) { c.WriterBatchSize = 0 }},
		{"WriterBatchSize", func(c *Config) { c.WriterBatchSize = 2000 }},
		{"EventBuffer", func(c *Config) { c.EventBuffer = 0 }},
		{"LeaveTimeout", func(c *Config) { c.LeaveTimeout = 0 }},
		{"DrainTimeout", func(c *Config) { c.DrainTimeout = -time.Second }},
		{"CallTimeout", func(c *Config) { c.CallTimeout = 0 }},
		{"CertLifetime", func(c *Config) { c.Secret = bytes.Repeat([]byte("s"), 16); c.CertLifetime = time.Second }},
	} {
		c := LocalConfig("a@127.0.0.1")
		tc.mod(&c)
		err := c.Validate()
		require.ErrorIs(t, err, ErrInvalidConfig, tc.field)
		require.Contains(t, err.Error(), ": "+tc.field+": ", "error %q should name %s", err, tc.field)
	}
}

func TestMetaRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 500 {
		m := memberMeta{Name: "n@h", Role: Role(1 + r.IntN(2)), Remote: "127.0.0.1:4000", Leaving: r.IntN(2) == 0}
		if k := r.IntN(8); k > 0 {
			m.User = map[string]string{}
			for range k {
				m.User[string(rune('a'+r.IntN(26)))+string(rune('a'+r.IntN(26)))] = strings.Repeat("x", r.IntN(20)+1)
			}
		}
		b, err := encodeMeta(m)
		require.NoError(t, err)
		got, err := decodeMeta(b)
		require.NoError(t, err)
		require.Equal(t, m, got)
		// every strict prefix is refused
		for i := range b {
			_, err := decodeMeta(b[:i])
			require.ErrorIs(t, err, ErrBadMeta, "prefix %d of %x", i, b)
		}
	}
}

func TestMetaErrors(t *testing.T) {
	good, err := encodeMeta(memberMeta{Name: "n@h", Role: RoleActive, Remote: "r", User: map[string]string{"a": "1", "b": "2"}})
	require.NoError(t, err)
	for name, b := range map[string][]byte{
		"version":  append([]byte{9}, good[1:]...),
		"role":     append([]byte{good[0], 7}, good[2:]...),
		"flags":    append([]byte{good[0], good[1], 0x80}, good[3:]...),
		"trailing": append(append([]byte(nil), good...), 0),
		"order":    bytes.Replace(good, []byte("\x01a\x011\x01b\x012"), []byte("\x01b\x012\x01a\x011"), 1),
	} {
		_, err := decodeMeta(b)
		require.ErrorIs(t, err, ErrBadMeta, name)
	}
	_, err = encodeMeta(memberMeta{Name: "n@h", Role: RoleActive, User: map[string]string{"k": strings.Repeat("v", 600)}})
	require.True(t, errors.Is(err, ErrMetaTooLarge))
}

func FuzzDecodeMeta(f *testing.F) {
	good, _ := encodeMeta(memberMeta{Name: "n@h", Role: RoleSpare, Remote: "127.0.0.1:1", User: map[string]string{"k": "v"}, Leaving: true})
	f.Add(good)
	f.Add([]byte{})
	f.Add([]byte{1, 1, 0, 0, 0, 0})
	f.Add([]byte{1, 2, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeMeta(b)
		if err != nil {
			require.ErrorIs(t, err, ErrBadMeta)
			return
		}
		// what decodes re-encodes to the same bytes
		b2, err := encodeMeta(m)
		if err == nil {
			require.Equal(t, b, b2)
		}
	})
}

func TestSysMessagesRoundTrip(t *testing.T) {
	req := monitorReq{Ref: 1 << 40, Origin: "127.0.0.1:1", OriginNode: "a@h", Target: "w1", ByName: true}
	got, ok, err := parseSys(req.wire())
	require.True(t, ok)
	require.NoError(t, err)
	require.Equal(t, req, got)
	dm := demonitorReq{Ref: 7, Origin: "x"}
	got, _, err = parseSys(dm.wire())
	require.NoError(t, err)
	require.Equal(t, dm, got)
	d := downMsg{Ref: 9, Reason: ReasonCrashed, PIDAddr: "a", PIDID: "$1"}
	got, _, err = parseSys(d.wire())
	require.NoError(t, err)
	require.Equal(t, d, got)
	ack := monitorAck{Ref: 3}
	got, _, err = parseSys(ack.wire())
	require.NoError(t, err)
	require.Equal(t, ack, got)

	bad := downMsg{Ref: 9, Reason: 99}.wire()
	_, _, err = parseSys(bad)
	require.Error(t, err)
	trunc := req.wire()
	trunc.Value = trunc.Value[:len(trunc.Value)-1]
	_, _, err = parseSys(trunc)
	require.Error(t, err)
}

func FuzzParseSys(f *testing.F) {
	for _, a := range []interface{ GetValue() []byte }{
		monitorReq{Ref: 1, Origin: "o", OriginNode: "n@h", Target: "t", ByName: true}.wire(),
		downMsg{Ref: 2, Reason: ReasonNormal, PIDAddr: "a", PIDID: "b"}.wire(),
	} {
		f.Add(a.GetValue())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, url := range []string{urlMonitor, urlDemonitor, urlDown, urlAck} {
			a := monitorAck{}.wire()
			a.TypeUrl, a.Value = url, b
			_, ok, _ := parseSys(a) // must not panic
			require.True(t, ok)
		}
	})
}
