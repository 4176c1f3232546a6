package metrics

import (
	"strconv"
	"time"
)

// sink receives the samples of a snapshot. lv is only valid during the call.
type sink interface {
	put(m *metric, v float64, lv []string)
	hist(m *metric, h *PhaseHistogram, lv []string)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func unix(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}

// codeLabel is the label value of a NOTIFICATION code and subcode: "6/2" (RFC 4271 §4.5).
func codeLabel(code, sub uint8) string {
	return strconv.Itoa(int(code)) + "/" + strconv.Itoa(int(sub))
}

// emit sends every sample of snap to k: the one description of what is exported, which both the
// Collector and the text writer use.
func emit(snap *Snapshot, k sink) {
	var lv [5]string
	for i := range snap.Sessions {
		emitSession(k, &snap.Sessions[i], &lv)
	}
	emitRIB(k, &snap.RIB, &lv)
	emitRPKI(k, &snap.RPKI, &lv)
	r := &snap.Reloads
	k.put(dReloads, float64(r.OK), nil)
	k.put(dReloadFails, float64(r.Failed), nil)
	k.put(dReloadOK, b2f(!r.LastFailed), nil)
	k.put(dReloadTS, unix(r.LastSuccess), nil)
	c := &snap.Connections
	k.put(dConnRefused, float64(c.Refused), nil)
	for i := range c.Ranges {
		lv[0] = c.Ranges[i].Name
		k.put(dDynSessions, float64(c.Ranges[i].Sessions), lv[:1])
		k.put(dDynLimit, float64(c.Ranges[i].Limit), lv[:1])
		k.put(dDynRefused, float64(c.Ranges[i].Refused), lv[:1])
	}
	for i := range snap.LookingGlass {
		if h := &snap.LookingGlass[i].Durations; len(h.Counts) == len(h.Bounds)+1 {
			lv[0] = snap.LookingGlass[i].Name
			k.hist(dLGRequest, h, lv[:1])
		}
	}
}

func emitSession(k sink, s *Session, lv *[5]string) {
	lv[0], lv[1], lv[2] = s.Member, strconv.FormatUint(uint64(s.ASN), 10), s.Neighbor.String()
	sl, l4 := lv[:3], lv[:4]
	k.put(dSessionUp, b2f(s.State == 6), sl)
	k.put(dSessionState, float64(s.State), sl)
	k.put(dSessionEstTS, unix(s.Established), sl)
	k.put(dSessionFlaps, float64(s.Flaps), sl)
	for _, n := range s.Notifications {
		m := dNotesRecv
		if n.Sent {
			m = dNotesSent
		}
		lv[3] = codeLabel(n.Code, n.Subcode)
		k.put(m, float64(n.N), l4)
	}
	for t := range NumMessageTypes {
		lv[3] = messageTypeNames[t]
		k.put(dMsgsIn, float64(s.MessagesIn[t]), l4)
		k.put(dMsgsOut, float64(s.MessagesOut[t]), l4)
		k.put(dBytesIn, float64(s.BytesIn[t]), l4)
		k.put(dBytesOut, float64(s.BytesOut[t]), l4)
	}
	k.put(dPending, float64(s.PendingPrefixes), sl)
	k.put(dInQueue, float64(s.InboundQueue), sl)
	k.put(dOutBytes, float64(s.OutputBytes), sl)
	k.put(dThrottled, b2f(s.Throttled), sl)
	k.put(dBlocked, s.OutputBlocked.Seconds(), sl)
	for i := range s.Families {
		f := &s.Families[i]
		lv[3] = f.AFI.String()
		k.put(dReceived, float64(f.Received), l4)
		k.put(dAccepted, float64(f.Accepted), l4)
		k.put(dFiltered, float64(f.Filtered), l4)
		k.put(dExported, float64(f.Exported), l4)
		for _, r := range f.FilteredBy {
			if r.N != 0 {
				lv[4] = strconv.Itoa(int(r.Reason))
				k.put(dFilteredBy, float64(r.N), lv[:5])
			}
		}
		if f.MaxPrefixLimit > 0 {
			k.put(dMaxLimit, float64(f.MaxPrefixLimit), l4)
			k.put(dMaxUsage, float64(f.Received)/float64(f.MaxPrefixLimit), l4)
		}
		k.put(dMaxBlocked, b2f(f.MaxPrefixBlocked), l4)
	}
}

var ribObjects = []struct {
	name string
	get  func(*RIB) int
}{
	{"members", func(r *RIB) int { return r.Members }},
	{"sessions", func(r *RIB) int { return r.Sessions }},
	{"sessions_up", func(r *RIB) int { return r.SessionsUp }},
	{"prefixes", func(r *RIB) int { return r.Prefixes }},
	{"routes", func(r *RIB) int { return r.Routes }},
	{"routes_accepted", func(r *RIB) int { return r.RoutesAccepted }},
	{"attribute_sets", func(r *RIB) int { return r.AttrSets }},
	{"derived_attribute_sets", func(r *RIB) int { return r.DerivedSets }},
	{"attribute_set_references", func(r *RIB) int { return r.AttrSetRefs }},
	{"encodings", func(r *RIB) int { return r.Encodings }},
	{"encoded_bytes", func(r *RIB) int { return r.EncodedBytes }},
	{"adj_rib_out_entries", func(r *RIB) int { return r.AdjOutEntries }},
	{"adj_rib_out_bit_sets", func(r *RIB) int { return r.AdjOutBitSets }},
	{"change_list_prefixes", func(r *RIB) int { return r.ChangeList }},
	{"pending_prefixes", func(r *RIB) int { return r.Pending }},
	{"table_dumps", func(r *RIB) int { return r.TableDumps }},
}

func emitRIB(k sink, r *RIB, lv *[5]string) {
	for _, o := range ribObjects {
		lv[0] = o.name
		k.put(dRIBObjects, float64(o.get(r)), lv[:1])
	}
	lv[0] = "all"
	k.put(dRIBPasses, float64(r.Passes), lv[:1])
	lv[0] = "idle"
	k.put(dRIBPasses, float64(r.IdlePasses), lv[:1])
	for ph := range NumPhases {
		if h := &r.Phases[ph]; len(h.Counts) == len(h.Bounds)+1 {
			lv[0] = phaseNames[ph]
			k.hist(dRIBPhase, h, lv[:1])
		}
	}
	if h := &r.ReadGaps; len(h.Counts) == len(h.Bounds)+1 {
		k.hist(dRIBReadGap, h, nil)
	}
	k.put(dRIBWithdrawn, float64(r.RoutesWithdrawnOnDown), nil)
	k.put(dRevalWalks, float64(r.RevalidationWalks), nil)
	k.put(dRevalSeconds, r.RevalidationTime.Seconds(), nil)
	k.put(dRevalRunning, float64(r.Revalidations), nil)
	k.put(dRevalChanged, float64(r.RoutesRevalidated), nil)
}

func emitRPKI(k sink, r *RPKI, lv *[5]string) {
	k.put(dCaches, float64(len(r.Caches)), nil)
	for i := range r.Caches {
		c := &r.Caches[i]
		lv[0] = c.Name
		cl := lv[:1]
		k.put(dCacheUp, b2f(c.Up), cl)
		k.put(dCacheSerial, float64(c.Serial), cl)
		k.put(dCacheUpdate, unix(c.LastUpdate), cl)
		k.put(dCacheExpire, c.Expire.Seconds(), cl)
		k.put(dCacheASPAs, float64(c.ASPAs), cl)
		lv[1] = "ipv4"
		k.put(dCacheVRPs, float64(c.VRPs4), lv[:2])
		lv[1] = "ipv6"
		k.put(dCacheVRPs, float64(c.VRPs6), lv[:2])
	}
	lv[0] = "ipv4"
	k.put(dVRPs, float64(r.VRPs4), lv[:1])
	lv[0] = "ipv6"
	k.put(dVRPs, float64(r.VRPs6), lv[:1])
	k.put(dASPAs, float64(r.ASPAs), nil)
}
