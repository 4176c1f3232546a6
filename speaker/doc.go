// Package speaker is a BGP-4 speaker (RFC 4271) that knows nothing of route servers, usable on its own by
// automation, monitoring and test tools.
//
// A Speaker is the process: it listens, hands each accepted connection to the Peer configured for the
// remote address (refusing, logging and counting the rest) and multiplexes any number of peers. A Peer is
// one neighbor with its own goroutine, FSM (RFC 4271 §8) and timers; the caller's *Peer stays valid across
// reconnections and connection collisions (§6.8: the connection opened by the side with the higher BGP
// Identifier survives, whichever that is). Events reach a Handler:
//
//	Established(p, remoteOpen)   the session is up; p.EncodeOptions and p.Families say what was negotiated
//	Update(p, update, err)       a decoded UPDATE; err reports RFC 7606 handling (attribute discard,
//	                             treat-as-withdraw) that was applied instead of a session reset
//	RouteRefresh(p, rr)          RFC 2918 / RFC 7313
//	Notification(p, n, sent)     every NOTIFICATION sent or received; n.ShutdownMessage gives RFC 9003 text
//	Down(p, err)                 the session left Established; err is a *SessionError
//
// Update and RouteRefresh run on the connection's reader goroutine and may block: the speaker then stops
// reading from that neighbor, so TCP pushes back on it alone, while keepalives and the hold timer go on
// (the hold timer counts a neighbor whose messages wait on the handler as alive). Everything else runs on
// the peer goroutine and must return quickly.
//
// Sending: Peer.Announce, Peer.Withdraw and Peer.SendEndOfRIB encode and pack UPDATEs for the session's
// negotiated options (four-octet AS or AS_TRANS with AS4_PATH; 4,096 or, with RFC 8654, 65,535-byte
// messages). Peer.Queue takes messages already encoded with AppendAttrs, AppendAnnounce and
// AppendWithdraw, for callers that encode once and send to many; a Handler that also implements Drainer
// learns when the output buffer has been written out, to pull more.
//
// Supported: multiprotocol IPv4/IPv6 unicast (RFC 4760), capabilities (RFC 5492), four-octet AS (RFC 6793),
// route refresh and enhanced route refresh (RFC 2918, RFC 7313), extended messages (RFC 8654), BGP Role
// (RFC 9234) advertised and checked, graceful restart and ADD-PATH capabilities decoded and reported,
// Cease subcodes and shutdown communications (RFC 4486, RFC 9003), revised UPDATE error handling
// (RFC 7606), TCP-MD5 (RFC 2385) and GTSM (RFC 5082) per peer on Linux.
//
// Robustness: messages are read in large batches and every complete message is processed before the next
// read; decoders copy what they keep; every malformed input maps to the NOTIFICATION or RFC 7606 action the
// RFCs assign, and never affects another peer. Framing and every decoder (DecodeOpen, DecodeUpdate,
// DecodeNotification, DecodeRouteRefresh) run under recover(): a panic there, in this package or in the
// underlying codec (github.com/osrg/gobgp/v3/pkg/packet/bgp, used only in codec.go), ends only the
// session it happened on, with a NOTIFICATION and an error logged with the neighbor and the stack.
package speaker
