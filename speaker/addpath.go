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
	max = encMax(max)
	switch f {
	case IPv4Unicast:
		base := HeaderLen + 4 + len(attrBlock)
		n, size, encoded := encFitPaths(paths, f, max-base)
		if encoded == 0 {
			return dst, n
		}
		total := base + size
		dst = slices.Grow(dst, total)
		dst = encHeader(dst, MsgUpdate, total)
		dst = append(dst, 0, 0, byte(len(attrBlock)>>8), byte(len(attrBlock)))
		dst = append(dst, attrBlock...)
		return encAppendPaths(dst, paths[:n], f), n
	case IPv6Unicast:
		if !nextHop.IsValid() {
			return dst, 0
		}
		nhl := 16
		if linkLocal.IsValid() {
			nhl = 32
		}
		fixed := 5 + nhl
		base := HeaderLen + 4 + len(attrBlock)
		n, size, encoded := encFitPaths(paths, f, max-base-4-fixed)
		if fixed+size <= 255 {
			n, size, encoded = encFitPaths(paths, f, min(max-base-3-fixed, 255-fixed))
		}
		if encoded == 0 {
			return dst, n
		}
		vlen := fixed + size
		hl := 3
		if vlen > 255 {
			hl = 4
		}
		total := base + hl + vlen
		dst = slices.Grow(dst, total)
		dst = encHeader(dst, MsgUpdate, total)
		alen := hl + vlen + len(attrBlock)
		dst = append(dst, 0, 0, byte(alen>>8), byte(alen))
		dst = encAttrHeader(dst, FlagOptional, AttrMPReach, vlen)
		dst = append(dst, 0, 2, 1, byte(nhl))
		nh := nextHop.As16()
		dst = append(dst, nh[:]...)
		if nhl == 32 {
			ll := linkLocal.As16()
			dst = append(dst, ll[:]...)
		}
		dst = append(dst, 0)
		dst = encAppendPaths(dst, paths[:n], f)
		return append(dst, attrBlock...), n
	}
	return dst, 0
}

// AppendWithdrawPaths is AppendWithdraw for a session that negotiated ADD-PATH send for f: each
// withdrawal names the path identifier it was announced with (RFC 7911 §3).
func AppendWithdrawPaths(dst []byte, f Family, paths []PathNLRI, max int) ([]byte, int) {
	max = encMax(max)
	switch f {
	case IPv4Unicast:
		base := HeaderLen + 4
		n, size, encoded := encFitPaths(paths, f, min(max-base, 0xffff))
		if encoded == 0 {
			return dst, n
		}
		total := base + size
		dst = slices.Grow(dst, total)
		dst = encHeader(dst, MsgUpdate, total)
		dst = append(dst, byte(size>>8), byte(size))
		dst = encAppendPaths(dst, paths[:n], f)
		return append(dst, 0, 0), n
	case IPv6Unicast:
		base := HeaderLen + 4
		n, size, encoded := encFitPaths(paths, f, max-base-4-3)
		if 3+size <= 255 {
			n, size, encoded = encFitPaths(paths, f, min(max-base-3-3, 255-3))
		}
		if encoded == 0 {
			return dst, n
		}
		vlen := 3 + size
		hl := 3
		if vlen > 255 {
			hl = 4
		}
		total := base + hl + vlen
		dst = slices.Grow(dst, total)
		dst = encHeader(dst, MsgUpdate, total)
		dst = append(dst, 0, 0, byte((hl+vlen)>>8), byte(hl+vlen))
		dst = encAttrHeader(dst, FlagOptional, AttrMPUnreach, vlen)
		dst = append(dst, 0, 2, 1)
		return encAppendPaths(dst, paths[:n], f), n
	}
	return dst, 0
}
