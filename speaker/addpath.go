package speaker

// ADD-PATH (RFC 7911), send side: the capability a speaker advertises, what was negotiated, and the
// NLRI encoding with a path identifier in front of every prefix.

import (
	"encoding/binary"
	"net/netip"
	"slices"
)

// PathNLRI is a prefix with the path identifier it is sent with on an ADD-PATH session (RFC 7911 §3).
type PathNLRI struct {
	ID     uint32
	Prefix netip.Prefix
}

// negotiatedAddPathSend returns the families of ours (advertised with the send bit) for which the
// neighbor advertised the receive bit: those we may send path identifiers for (RFC 7911 §4). A
// family that is not negotiated as a whole is left out.
func negotiatedAddPathSend(ours []Family, fams []Family, o *Open) []Family {
	var out []Family
	for _, f := range ours {
		if o.Caps.AddPath[f]&AddPathReceive != 0 && slices.Contains(fams, f) {
			out = append(out, f)
		}
	}
	return out
}

// AddPathSend returns the families for which the established session sends path identifiers: the
// speaker advertised ADD-PATH send (PeerConfig.AddPathSend) and the neighbor receive. UPDATEs of
// these families must then be encoded with AppendAnnouncePaths and AppendWithdrawPaths.
func (p *Peer) AddPathSend() []Family {
	if s := p.established(); s != nil {
		return s.addPathSend
	}
	return nil
}

func encPathLen(x PathNLRI, f Family) int {
	if l := encPrefixLen(x.Prefix, f); l > 0 {
		return 4 + l
	}
	return 0
}

// encFitPaths is encFit for path NLRI.
func encFitPaths(paths []PathNLRI, f Family, room int) (n, size, encoded int) {
	for n < len(paths) {
		l := encPathLen(paths[n], f)
		if size+l > room {
			break
		}
		size += l
		n++
		if l > 0 {
			encoded++
		}
	}
	return n, size, encoded
}

func encAppendPaths(dst []byte, paths []PathNLRI, f Family) []byte {
	for _, x := range paths {
		if encPrefixLen(x.Prefix, f) > 0 {
			dst = binary.BigEndian.AppendUint32(dst, x.ID)
			dst = encPrefix(dst, x.Prefix)
		}
	}
	return dst
}

// AppendAnnouncePaths is AppendAnnounce for a session that negotiated ADD-PATH send for f: every
// prefix is preceded by its path identifier (RFC 7911 §3). Count and skipping are as for
// AppendAnnounce.
func AppendAnnouncePaths(dst []byte, f Family, attrBlock []byte, nextHop, linkLocal netip.Addr, paths []PathNLRI, max int) ([]byte, int) {
	return appendAnnounce(dst, f, attrBlock, nextHop, linkLocal, nlriSource{paths: paths, addPath: true}, max)
}

// AppendWithdrawPaths is AppendWithdraw for a session that negotiated ADD-PATH send for f: each
// withdrawal names the path identifier it was announced with (RFC 7911 §3).
func AppendWithdrawPaths(dst []byte, f Family, paths []PathNLRI, max int) ([]byte, int) {
	return appendWithdraw(dst, f, nlriSource{paths: paths, addPath: true}, max)
}
