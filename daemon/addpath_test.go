package daemon

import (
	"slices"
	"testing"

	"github.com/ixrs/ixrs/config"
	"github.com/ixrs/ixrs/speaker"
)

// TestAddPathWords: the looking glass names the member's ADD-PATH mode per family, in order, and the
// families the route server sends every path for.
func TestAddPathWords(t *testing.T) {
	c := &speaker.Capabilities{AddPath: map[speaker.Family]uint8{speaker.IPv6Unicast: speaker.AddPathBoth, speaker.IPv4Unicast: speaker.AddPathReceive}}
	got := capabilityWords(c, []speaker.Family{speaker.IPv4Unicast})
	want := []string{"ADD-PATH ipv4 receive", "ADD-PATH ipv6 both", "ADD-PATH ipv4: all paths sent"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestAddPathPeerConfig: ADD-PATH send is advertised only to members with add_path = "send".
func TestAddPathPeerConfig(t *testing.T) {
	for mode, want := range map[string]int{"": 0, "off": 0, "send": 2} {
		if got := addPathFamilies(config.Member{AddPath: mode}); len(got) != want {
			t.Errorf("add_path %q: ADD-PATH send advertised for %v", mode, got)
		}
	}
}

// TestLLGRWords: the looking glass names the long-lived graceful restart a member offers, per family
// with its stale time.
func TestLLGRWords(t *testing.T) {
	c := &speaker.Capabilities{GracefulRestart: &speaker.GracefulRestart{RestartTime: 120},
		LongLivedGR: []speaker.LLGRFamily{{Family: speaker.IPv4Unicast, StaleTime: 3600}, {Family: speaker.IPv6Unicast, StaleTime: 60}}}
	got := capabilityWords(c, nil)
	want := []string{"graceful restart", "long-lived graceful restart ipv4 (3600 s)", "long-lived graceful restart ipv6 (60 s)"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
