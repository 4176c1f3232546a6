package rs

import (
	"errors"
	"log/slog"
	"net/netip"
	"time"

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
	// ReadBudget bounds the entries long work visits per loop pass: table dumps, then re-evaluation
	// walks and read jobs (looking-glass pages, feed resyncs), half each while both have work;
	// those two always keep a quarter of it. Default WalkBatch.
	ReadBudget int
	// ReadInterval is how long the loop works on routing, in the middle of a pass, while
	// looking-glass queries wait, before it gives them a turn (readTurn); a turn lasts at most a
	// sixteenth of it, and so do the reads of a pass's background phase after routing work (or a
	// sixteenth of the pass's routing time, when longer). Default 2 ms.
	ReadInterval time.Duration
	// ReadLimit bounds the entries one page of a read job visits in total; a page that reaches it
	// before it is full is returned partial, with a cursor. Default ScanLimit.
	ReadLimit int
	// StaleTime bounds how long a member back from a graceful restart (RFC 4724) may take to send
	// End-of-RIB, and a member that sent BoRR (RFC 7313) to send EoRR: its routes not re-announced
	// by then are removed. Default 360 s.
	StaleTime time.Duration
	// ClearBatch bounds the prefixes visited per pass when a departed session's Adj-RIB-Out bits are
	// cleared. Default 16384.
	ClearBatch int

	// OnMaxPrefix is called (on the RIB loop; it must not block) when a session goes over its
	// max-prefix limit with action restart or shutdown, so that the session layer closes it.
	OnMaxPrefix func(MaxPrefixEvent)
	// OnRefresh is called (on the RIB loop; it must not block) when the route server wants a
	// session's routes of a family again: routes were ignored under max-prefix action block and the
	// session is back under its limit, or the limit was raised. The session layer sends a
	// ROUTE-REFRESH (RFC 2918) when the member supports it.
	OnRefresh func(*Peer, speaker.Family)

	Logger *slog.Logger

	// noCohorts serves every session on its own (tests compare the two paths).
	noCohorts bool
	// afterFunc replaces time.AfterFunc for the graceful-restart timers (tests fire them); it
	// returns the timer's Stop.
	afterFunc func(time.Duration, func()) func() bool
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
	if c.StaleTime <= 0 {
		c.StaleTime = 360 * time.Second
	}
	def(&c.ReadBudget, c.WalkBatch)
	def(&c.ReadLimit, ScanLimit)
	if c.ReadInterval <= 0 {
		c.ReadInterval = 2 * time.Millisecond
	}
	if c.OutLowWater > c.OutHighWater {
		c.OutLowWater = c.OutHighWater / 4
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// MemberConfig describes a member: one AS, one or more sessions (AddPeer).
type MemberConfig struct {
	Name string
	ASN  uint32
	// Import overrides Config.Import for this member. Members with identical settings should share
	// one Importer.
	Import policy.Importer
	// IRR is the member's IRR data (nil: none); Server.SetIRR replaces it.
	IRR *policy.IRR
	// MaxPrefix limits the routes each of the member's sessions may send.
	MaxPrefix MaxPrefix
	// Export is the member's export profile when the export policy is a ProfiledExport and the
	// member's settings differ from its defaults; nil otherwise. At most 254 distinct profiles.
	Export *ExportProfile
}

// SessionInfo is what the route server needs to know of an established session.
type SessionInfo struct {
	// RouterID is the neighbor's BGP identifier (decision step 5).
	RouterID netip.Addr
	// Families are the negotiated address families; routes of other families are not sent.
	Families []speaker.Family
	// Encode is how the session encodes UPDATEs (four-octet AS, maximum message size).
	Encode speaker.EncodeOptions
	// GracefulRestart is the member's graceful-restart capability (RFC 4724) when the route server
	// advertised one too, nil otherwise: what DownGraceful keeps, and for how long.
	GracefulRestart *speaker.GracefulRestart
	// LongLivedGR is the member's long-lived graceful-restart capability (RFC 9494) when the route
	// server advertised one too and graceful restart was negotiated, nil otherwise; the session
	// layer may lower its stale times to a local limit. With it the session receives long-lived
	// stale routes, and the member's own routes outlive the restart time (llgr.go).
	LongLivedGR []speaker.LLGRFamily
	// EnhancedRouteRefresh: both sides advertised RFC 7313. The route server then brackets its
	// refreshes with BoRR and EoRR and acts on the member's (refresh.go).
	EnhancedRouteRefresh bool
	// AddPath are the families for which the session negotiated ADD-PATH send (RFC 7911: the
	// route server advertised send, the member receive). For those the member gets every
	// candidate export allows to it, up to AddPathLimit per prefix (default DefaultAddPathLimit),
	// each with a path identifier (addpath.go).
	AddPath      []speaker.Family
	AddPathLimit int
	// OpenSent and OpenReceived are the OPEN messages of the session as sent and received (whole
	// messages, header included), for the looking glass and BMP peer-up. Shared with every reader:
	// not to be modified after Up.
	OpenSent, OpenReceived []byte
	// Local and Remote are the session's TCP endpoints (zero when unknown), for BMP Peer Up.
	Local, Remote netip.AddrPort
}

// Output is the write side of a session. *speaker.Peer implements it.
type Output interface {
	// Queue appends complete BGP messages to the session's output buffer without blocking and
	// returns the number of bytes now waiting to be written. It copies b: the route server reuses
	// the buffer. Queue(nil) only reports the count.
	Queue(b []byte) (int, error)
}

// HeldOutput is an Output that can hold UPDATEs back (*speaker.Peer does): QueueHeld queues like
// Queue, but what it queues may wait a few milliseconds for more, and Flush sends what waits. The
// loop queues held and flushes every session it queued to when it runs out of work, so a burst
// spread over many passes leaves in large writes and a lone change leaves at once.
type HeldOutput interface {
	Output
	QueueHeld(b []byte) (int, error)
	Flush()
}

// Errors returned by the Server API.
var (
	ErrStopped       = errors.New("route server stopped")
	ErrNotUp         = errors.New("session not up")
	ErrUnknownMember = errors.New("unknown member")
	ErrDuplicate     = errors.New("already configured")
	ErrUnknownPeer   = errors.New("unknown session")
)
