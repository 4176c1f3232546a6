// Package bmp exports the route server's RIB to BGP Monitoring Protocol collectors (RFC 7854, with
// Adj-RIB-Out monitoring from RFC 8671), such as pmacct's pmbmpd or OpenBMP.
//
// An Exporter keeps one TCP connection to one collector. Each connection gets its own subscription
// to the RIB's event feed (rs.Server.Subscribe) and starts with a full dump: Initiation, a Peer Up
// per established session, every route of the monitored tables, and an End-of-RIB per session,
// family and table; live changes follow in the order the RIB made them. The RIB loop only appends to
// the subscription's bounded ring and never waits for the exporter. When the collector cannot keep
// up — the ring overflows, or a write does not complete within Config.WriteTimeout — the exporter
// closes the connection and connects again, and the new connection starts with a new dump: a
// collector never holds a table with a silent gap.
//
// What each RIB event becomes:
//
//	session up            Peer Up Notification with both OPEN messages, byte for byte as exchanged
//	session down          Peer Down Notification (reason 1 or 3 with the NOTIFICATION when one was
//	                      sent or received, else reason 2 or 4); the collector drops the session's routes
//	route (Adj-RIB-In)    pre-policy Route Monitoring with the attributes as received; post-policy
//	                      Route Monitoring (L flag): the route when accepted, a withdrawal when filtered
//	export (Adj-RIB-Out)  Route Monitoring with the O and L flags (RFC 8671 §4), per receiving session
//
// Statistics Reports (RFC 7854 §4.8) are sent every Config.StatsInterval per established session:
// rejected prefixes (type 0), duplicate announcements and withdrawals (types 1 and 2, counted by the
// RIB per session), Adj-RIB-In and Loc-RIB sizes (types 7 and 8: received and accepted routes) and
// the same per AFI/SAFI (types 9 and 10). Types 3 to 6 (updates invalidated by a loop) are not sent:
// the route server invalidates no update for a loop, having no AS of its own in paths.
//
// Encoding: the Initiation, Termination, Statistics Report and Peer Down messages are built with
// gobgp's pkg/packet/bmp. The per-peer header, Peer Up and Route Monitoring are encoded here
// (encode.go): Peer Up must carry the OPEN messages exactly as they were exchanged, and gobgp's
// Peer Up takes decoded messages and re-encodes them; Route Monitoring is the hot path of a table
// dump and carries UPDATEs the speaker package already encodes, where gobgp's per-message
// structures would cost several allocations per route.
package bmp
