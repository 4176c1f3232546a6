// Package mrt writes the route server's Adj-RIB-In as MRT files (RFC 6396), for archives and
// tools such as bgpdump.
//
// A dump is TABLE_DUMP_V2: a PEER_INDEX_TABLE naming the member sessions (address, ASN, BGP
// identifier), then one RIB_IPV4_UNICAST or RIB_IPV6_UNICAST record per prefix with an entry per
// session that sent it, attributes as received, AS_PATH with 4-octet ASNs. Accepted and filtered
// routes go to two files, ixrs-rib-TIME.accepted.mrt and ixrs-rib-TIME.filtered.mrt, which share
// the PEER_INDEX_TABLE (TIME is UTC, 20060102T150405Z, so names sort by age). An entry's
// originated time is when its session came up: the RIB keeps no per-route arrival time in its feed.
//
// The Dumper reads the RIB through its event feed (rs.Server.Subscribe and Resync): the replay is
// a read job that the RIB loop advances a bounded number of routes per pass, so a dump does not
// stop routing; live changes during the replay are applied to the snapshot, which at the replay's
// end is the RIB as it then was. Files are written under a temporary name in the same directory,
// synced and renamed, so a reader never sees half a file; the oldest dumps beyond Config.Keep are
// removed.
//
// Encoding: the PEER_INDEX_TABLE is built with gobgp's pkg/packet/mrt; the RIB records are encoded
// here (encode.go), since their attributes come from the speaker's own attribute encoder and gobgp
// would need them converted to its types first, for every route of every dump.
package mrt
