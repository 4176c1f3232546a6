package rs

import (
	"errors"
	"log/slog"
	"net/netip"

	"github.com/ixrs/ixrs/policy"
	"github.com/ixrs/ixrs/speaker"
)

// Config configures a Server. Zero values take the defaults noted.
type Config struct {
	// ASN is the route server's AS. It is never prepended (RFC 7947 §2.2.2); a route carrying it
	// is not redistributed.
	ASN uint32
	// RouterID is the route server's BGP identifier.
	RouterID netip.Addr
	// Import is the import policy of members that do not set their own. Default:
	// policy.DefaultImport().
	Import policy.Importer
	// Export is the export policy. Default: ControlCommunities{ASN: ASN}.
	Export ExportPolicy

	// InboundQueue is the number of UPDATEs a session may have waiting for the RIB before its
	// reader blocks (and TCP pushes back on that member alone). Default 16.
	InboundQueue int
	// OutHighWater is the number of bytes a session's output buffer may hold before the route
	// server stops encoding for it; OutLowWater is where it starts again. Defaults 256 KiB and
	// 64 KiB. The writer's Drained call also resumes a session.
	OutHighWater, OutLowWater int
	// WalkBatch bounds the prefixes a session visits per loop pass (table dump and change list
	// together), so that long work advances in slices and never starves the others. Default 1024.
	WalkBatch int
	// PendingMax is the number of prefixes a session may hold decided but not yet encoded. It must
	// exceed the prefixes of one full message (about 16,000 IPv4 /24s at 65,535 bytes) for messages
	// to be filled. Default 32768.
	PendingMax int
	// ClearBatch bounds the prefixes visited per pass when a departed session's Adj-RIB-Out bits are
	// cleared. Default 16384.
	ClearBatch int

	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	if c.Import == nil {
		c.Import = policy.DefaultImport()
	}
	if c.Export == nil {
		c.Export = &ControlCommunities{Control: policy.ExportControl{ASN: c.ASN}}
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.InboundQueue, 16)
	def(&c.OutHighWater, 256<<10)
	def(&c.OutLowWater, 64<<10)
	def(&c.WalkBatch, 1024)
	def(&c.PendingMax, 32768)
	def(&c.ClearBatch, 16384)
	if c.OutLowWater > c.OutHighWater {
		c.OutLowWater = c.OutHighWater / 4
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// MemberConfig describes a member: one AS, one or more sessions (AddSession).
type MemberConfig struct {
	Name string
	ASN  uint32
	// Import overrides Config.Import for this member. Members with identical settings should share
	// one Importer.
	Import policy.Importer
	// IRR is the member's IRR data (nil: none). Storing new data in it takes effect for new routes;
	// Server.Reevaluate applies it to the routes already held.
	IRR *policy.IRRSource
}

// SessionInfo is what the route server needs to know of an established session.
type SessionInfo struct {
	// RouterID is the neighbor's BGP identifier (decision step 5).
	RouterID netip.Addr
	// Families are the negotiated address families; routes of other families are not sent.
	Families []speaker.Family
	// Encode is how the session encodes UPDATEs (four-octet AS, maximum message size).
	Encode speaker.EncodeOptions
}

// Output is the write side of a session. *speaker.Peer implements it.
type Output interface {
	// Queue appends complete BGP messages to the session's output buffer without blocking and
	// returns the number of bytes now waiting to be written. It copies b: the route server reuses
	// the buffer. Queue(nil) only reports the count.
	Queue(b []byte) (int, error)
}

// ExportPolicy is the export hook. Prepare is called once per interned attribute set (never per
// prefix or per member): it returns the summary from which the per-member decision is read in
// constant time, and the attributes to send instead of a, or nil to send a unchanged. p is the policy
// view of a. Prepare must be pure.
type ExportPolicy interface {
	Prepare(a *speaker.Attrs, p *policy.Path) (policy.Export, *speaker.Attrs)
}

// ControlCommunities is the default export policy: the route server's control communities
// (policy.ExportControl) steer where a route goes and are stripped before it is sent.
type ControlCommunities struct {
	Control policy.ExportControl
}

// Prepare implements ExportPolicy.
func (c *ControlCommunities) Prepare(a *speaker.Attrs, p *policy.Path) (policy.Export, *speaker.Attrs) {
	e := c.Control.Summarize(p)
	if !e.HasControl() {
		return e, nil
	}
	std, large, changed := c.Control.Strip(p)
	if !changed {
		return e, nil
	}
	send := *a
	send.Communities = nilIfEmpty(std)
	send.LargeCommunities = nil
	for _, lc := range large {
		send.LargeCommunities = append(send.LargeCommunities, speaker.LargeCommunity(lc))
	}
	return e, &send
}

func nilIfEmpty(s []uint32) []uint32 {
	if len(s) == 0 {
		return nil
	}
	return s
}

// Errors returned by the Server API.
var (
	ErrStopped       = errors.New("route server stopped")
	ErrNotUp         = errors.New("session not up")
	ErrUnknownMember = errors.New("unknown member")
	ErrDuplicate     = errors.New("already configured")
	ErrUnknownPeer   = errors.New("unknown session")
)
