package speaker

import (
	"fmt"
	"net/netip"
	"strings"
)

// Family is an address family and subsequent address family (AFI<<8 | SAFI).
type Family uint32

// Families the speaker carries routes for.
const (
	IPv4Unicast Family = 1<<8 | 1
	IPv6Unicast Family = 2<<8 | 1
)

// NewFamily returns the Family for an AFI/SAFI pair.
func NewFamily(afi uint16, safi uint8) Family { return Family(uint32(afi)<<8 | uint32(safi)) }

// AFI returns the address family identifier.
func (f Family) AFI() uint16 { return uint16(f >> 8) }

// SAFI returns the subsequent address family identifier.
func (f Family) SAFI() uint8 { return uint8(f) }

func (f Family) String() string {
	switch f {
	case IPv4Unicast:
		return "ipv4-unicast"
	case IPv6Unicast:
		return "ipv6-unicast"
	}
	return fmt.Sprintf("afi%d-safi%d", f.AFI(), f.SAFI())
}

// FamilyOf returns the unicast family of a prefix.
func FamilyOf(p netip.Prefix) Family {
	if p.Addr().Is4() {
		return IPv4Unicast
	}
	return IPv6Unicast
}

// BGP message types (RFC 4271 §4.1, RFC 2918).
const (
	MsgOpen         uint8 = 1
	MsgUpdate       uint8 = 2
	MsgNotification uint8 = 3
	MsgKeepalive    uint8 = 4
	MsgRouteRefresh uint8 = 5
)

// Message size limits (RFC 4271 §4.1, RFC 8654).
const (
	HeaderLen          = 19
	MaxMessageLen      = 4096
	MaxExtendedMessage = 65535
)

// ASTrans is the 2-octet placeholder for a 4-octet AS (RFC 6793).
const ASTrans = 23456

// Path attribute type codes.
const (
	AttrOrigin           uint8 = 1
	AttrASPath           uint8 = 2
	AttrNextHop          uint8 = 3
	AttrMED              uint8 = 4
	AttrLocalPref        uint8 = 5
	AttrAtomicAggregate  uint8 = 6
	AttrAggregator       uint8 = 7
	AttrCommunities      uint8 = 8
	AttrOriginatorID     uint8 = 9
	AttrClusterList      uint8 = 10
	AttrMPReach          uint8 = 14
	AttrMPUnreach        uint8 = 15
	AttrExtCommunities   uint8 = 16
	AttrAS4Path          uint8 = 17
	AttrAS4Aggregator    uint8 = 18
	AttrLargeCommunities uint8 = 32
	AttrOTC              uint8 = 35 // Only to Customer, RFC 9234
)

// Path attribute flags.
const (
	FlagOptional   uint8 = 0x80
	FlagTransitive uint8 = 0x40
	FlagPartial    uint8 = 0x20
	FlagExtLen     uint8 = 0x10
)

// ORIGIN values.
const (
	OriginIGP        uint8 = 0
	OriginEGP        uint8 = 1
	OriginIncomplete uint8 = 2
)

// AS_PATH segment types.
const (
	SegSet            uint8 = 1
	SegSequence       uint8 = 2
	SegConfedSequence uint8 = 3
	SegConfedSet      uint8 = 4
)

// Segment is one AS_PATH segment with 4-octet ASNs.
type Segment struct {
	Type uint8
	ASNs []uint32
}

// ASPath is an AS_PATH in 4-octet form: for a 2-octet peer, AS4_PATH has already been merged in (RFC 6793 §4.2.3).
type ASPath []Segment

// Len returns the path length for the decision process (RFC 4271 §9.1.2.2: a set counts as one).
func (p ASPath) Len() int {
	n := 0
	for _, s := range p {
		switch s.Type {
		case SegSequence:
			n += len(s.ASNs)
		case SegSet:
			n++
		}
	}
	return n
}

// First returns the left-most AS of a leading AS_SEQUENCE, or 0.
func (p ASPath) First() uint32 {
	if len(p) == 0 || p[0].Type != SegSequence || len(p[0].ASNs) == 0 {
		return 0
	}
	return p[0].ASNs[0]
}

// Origin returns the right-most AS of a trailing AS_SEQUENCE, or 0 (for an empty path or one ending in a set).
func (p ASPath) Origin() uint32 {
	if len(p) == 0 {
		return 0
	}
	s := p[len(p)-1]
	if s.Type != SegSequence || len(s.ASNs) == 0 {
		return 0
	}
	return s.ASNs[len(s.ASNs)-1]
}

// Contains reports whether asn appears anywhere in the path.
func (p ASPath) Contains(asn uint32) bool {
	for _, s := range p {
		for _, a := range s.ASNs {
			if a == asn {
				return true
			}
		}
	}
	return false
}

func (p ASPath) String() string {
	var b strings.Builder
	for i, s := range p {
		if i > 0 {
			b.WriteByte(' ')
		}
		open, close := "", ""
		switch s.Type {
		case SegSet:
			open, close = "{", "}"
		case SegConfedSequence:
			open, close = "(", ")"
		case SegConfedSet:
			open, close = "[", "]"
		}
		b.WriteString(open)
		for j, a := range s.ASNs {
			if j > 0 {
				if s.Type == SegSet || s.Type == SegConfedSet {
					b.WriteByte(',')
				} else {
					b.WriteByte(' ')
				}
			}
			fmt.Fprintf(&b, "%d", a)
		}
		b.WriteString(close)
	}
	return b.String()
}

// LargeCommunity is an RFC 8092 large community.
type LargeCommunity struct {
	Global, Local1, Local2 uint32
}

func (c LargeCommunity) String() string { return fmt.Sprintf("%d:%d:%d", c.Global, c.Local1, c.Local2) }

// Aggregator is the AGGREGATOR attribute in 4-octet form (AS4_AGGREGATOR merged in for 2-octet peers).
type Aggregator struct {
	AS   uint32
	Addr netip.Addr
}

// RawAttr is a path attribute kept as received: unknown attributes and known ones the speaker does not
// interpret (ORIGINATOR_ID, CLUSTER_LIST, ...). Value never aliases a read buffer.
type RawAttr struct {
	Flags uint8
	Type  uint8
	Value []byte
}

// Attrs is a decoded set of path attributes. The zero value has ORIGIN IGP and nothing else.
// Slices are owned by the Attrs and never alias a read buffer; treat a received Attrs as immutable.
//
// The route server keeps one per distinct received set and one per set it sends, so the small fields
// come first, packed together: 224 bytes, a size class (interleaved with the pointers they took 232,
// which the allocator rounds up to 240).
type Attrs struct {
	Origin           uint8
	HasMED           bool
	HasLocalPref     bool
	AtomicAggregate  bool
	MED              uint32
	LocalPref        uint32
	OTC              uint32 // Only to Customer (RFC 9234)
	HasOTC           bool
	ASPath           ASPath
	NextHop          netip.Addr // NEXT_HOP (type 3); invalid when absent
	MPNextHop        netip.Addr // MP_REACH_NLRI global next hop; invalid when absent
	MPLinkLocal      netip.Addr // MP_REACH_NLRI link-local next hop (32-byte form); invalid when absent
	Aggregator       *Aggregator
	Communities      []uint32
	ExtCommunities   []uint64 // each the 8 octets of one extended community, big-endian
	LargeCommunities []LargeCommunity
	Other            []RawAttr // every other attribute, in received order
}

// Update is a decoded UPDATE message. Prefixes of both families are merged: IPv4 NLRI and MP_REACH_NLRI go
// to NLRI, withdrawn routes and MP_UNREACH_NLRI go to Withdrawn.
type Update struct {
	Withdrawn []netip.Prefix
	NLRI      []netip.Prefix
	Attrs     *Attrs // nil when the UPDATE carries no path attributes (withdraw only, End-of-RIB)
	// EndOfRIB is the family of an End-of-RIB marker (RFC 4724 §2), or 0.
	EndOfRIB Family
}

// Error handling actions for a malformed UPDATE (RFC 7606 §2), weakest first.
type UpdateAction uint8

const (
	ActionNone             UpdateAction = iota
	ActionAttributeDiscard              // the offending attributes were removed; the rest of the UPDATE is good
	ActionTreatAsWithdraw               // every NLRI of the UPDATE is to be withdrawn; Update.NLRI moved to Withdrawn
	ActionAFISAFIDisable                // handled as a session reset: the speaker does not disable single families
	ActionSessionReset                  // send the NOTIFICATION and close the session
)

func (a UpdateAction) String() string {
	return [...]string{"none", "attribute-discard", "treat-as-withdraw", "afi-safi-disable", "session-reset"}[a]
}

// UpdateError describes what was wrong with an UPDATE and what RFC 7606 says to do about it.
type UpdateError struct {
	Action       UpdateAction
	Notification Notification // the NOTIFICATION for a session reset; code and subcode also classify the others
	Attr         uint8        // the offending attribute type, 0 if none
	Reason       string
}

func (e *UpdateError) Error() string {
	return fmt.Sprintf("malformed UPDATE (%s): %s", e.Action, e.Reason)
}

// NOTIFICATION error codes (RFC 4271 §4.5) and the subcodes the speaker uses.
const (
	ErrMessageHeader uint8 = 1
	ErrOpen          uint8 = 2
	ErrUpdate        uint8 = 3
	ErrHoldTimer     uint8 = 4
	ErrFSM           uint8 = 5
	ErrCease         uint8 = 6
	ErrRouteRefresh  uint8 = 7 // RFC 7313

	// Message header error subcodes.
	SubConnectionNotSynchronized uint8 = 1
	SubBadMessageLength          uint8 = 2
	SubBadMessageType            uint8 = 3

	// OPEN message error subcodes.
	SubUnsupportedVersion    uint8 = 1
	SubBadPeerAS             uint8 = 2
	SubBadBGPIdentifier      uint8 = 3
	SubUnsupportedOptParam   uint8 = 4
	SubUnacceptableHoldTime  uint8 = 6
	SubUnsupportedCapability uint8 = 7
	SubRoleMismatch          uint8 = 11 // RFC 9234

	// UPDATE message error subcodes.
	SubMalformedAttrList     uint8 = 1
	SubUnrecognizedWellKnown uint8 = 2
	SubMissingWellKnown      uint8 = 3
	SubAttrFlagsError        uint8 = 4
	SubAttrLengthError       uint8 = 5
	SubInvalidOrigin         uint8 = 6
	SubInvalidNextHop        uint8 = 8
	SubOptionalAttrError     uint8 = 9
	SubInvalidNetworkField   uint8 = 10
	SubMalformedASPath       uint8 = 11

	// FSM error subcodes (RFC 6608).
	SubFSMUnexpectedOpenSent    uint8 = 1
	SubFSMUnexpectedOpenConfirm uint8 = 2
	SubFSMUnexpectedEstablished uint8 = 3

	// Cease subcodes (RFC 4486, RFC 9003).
	SubMaxPrefixes        uint8 = 1
	SubAdminShutdown      uint8 = 2
	SubPeerDeconfigured   uint8 = 3
	SubAdminReset         uint8 = 4
	SubConnectionRejected uint8 = 5
	SubOtherConfigChange  uint8 = 6
	SubCollision          uint8 = 7
	SubOutOfResources     uint8 = 8
	SubHardReset          uint8 = 9 // RFC 8538
)

// Notification is a NOTIFICATION message (RFC 4271 §4.5).
type Notification struct {
	Code    uint8
	Subcode uint8
	Data    []byte
}

// Capability codes (RFC 5492 registry).
const (
	CapMultiprotocol        uint8 = 1
	CapRouteRefresh         uint8 = 2
	CapExtendedNextHop      uint8 = 5
	CapExtendedMessage      uint8 = 6
	CapRole                 uint8 = 9
	CapGracefulRestart      uint8 = 64
	CapFourOctetAS          uint8 = 65
	CapAddPath              uint8 = 69
	CapEnhancedRouteRefresh uint8 = 70
	CapLongLivedGR          uint8 = 71
	CapFQDN                 uint8 = 73
)

// BGP roles (RFC 9234 §4.1).
const (
	RoleProvider uint8 = 0
	RoleRS       uint8 = 1
	RoleRSClient uint8 = 2
	RoleCustomer uint8 = 3
	RolePeer     uint8 = 4
)

// ADD-PATH send/receive modes (RFC 7911 §4).
const (
	AddPathReceive uint8 = 1
	AddPathSend    uint8 = 2
	AddPathBoth    uint8 = 3
)

// GracefulRestart is the graceful-restart capability (RFC 4724 §3).
type GracefulRestart struct {
	RestartState bool
	RestartTime  uint16 // seconds
	Families     []GRFamily
}

// GRFamily is one family of the graceful-restart capability.
type GRFamily struct {
	Family          Family
	ForwardingState bool
}

// LLGRFamily is one family of the long-lived graceful-restart capability (RFC 9494 §3).
type LLGRFamily struct {
	Family          Family
	ForwardingState bool
	StaleTime       uint32 // long-lived stale time in seconds, 24 bits on the wire
}

// MaxLLGRStaleTime is the largest long-lived stale time the capability can carry (2^24-1 s).
const MaxLLGRStaleTime = 1<<24 - 1

// Capabilities are the capabilities of an OPEN, decoded. Capabilities the speaker does not know are kept in
// Unknown.
type Capabilities struct {
	Families             []Family // multiprotocol (RFC 4760)
	FourOctetAS          bool     // RFC 6793
	AS4                  uint32   // the AS in the four-octet AS capability
	RouteRefresh         bool     // RFC 2918
	EnhancedRouteRefresh bool     // RFC 7313
	ExtendedMessage      bool     // RFC 8654
	GracefulRestart      *GracefulRestart
	AddPath              map[Family]uint8 // RFC 7911: family -> AddPathReceive|AddPathSend|AddPathBoth
	HasRole              bool             // RFC 9234
	Role                 uint8
	LongLivedGR          []LLGRFamily // RFC 9494; nil when not advertised
	Unknown              []RawCapability
}

// RawCapability is a capability kept as received.
type RawCapability struct {
	Code  uint8
	Value []byte
}

// Open is a decoded OPEN message.
type Open struct {
	Version  uint8
	MyAS     uint16 // as on the wire: AS_TRANS for a 4-octet AS
	HoldTime uint16 // seconds
	RouterID netip.Addr
	Caps     Capabilities
}

// ASN returns the sender's AS: the four-octet AS capability when present, else MyAS.
func (o *Open) ASN() uint32 {
	if o.Caps.FourOctetAS {
		return o.Caps.AS4
	}
	return uint32(o.MyAS)
}

// RouteRefresh is a ROUTE-REFRESH message (RFC 2918, RFC 7313).
type RouteRefresh struct {
	Family  Family
	Subtype uint8 // 0 normal request, 1 BoRR, 2 EoRR (RFC 7313)
}

// ROUTE-REFRESH subtypes (RFC 7313 §3).
const (
	RefreshNormal uint8 = 0 // a request to re-advertise
	RefreshBoRR   uint8 = 1 // Beginning of Route Refresh
	RefreshEoRR   uint8 = 2 // End of Route Refresh
)

// EncodeOptions describe how the receiving session encodes UPDATEs.
type EncodeOptions struct {
	FourOctetAS bool // false: AS_PATH with AS_TRANS plus AS4_PATH, 2-octet AGGREGATOR plus AS4_AGGREGATOR
	MaxMessage  int  // 4096, or 65535 when extended messages are negotiated
	IBGP        bool // internal peer: LOCAL_PREF is sent
}
