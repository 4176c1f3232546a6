package lookingglass

import (
	"encoding/json"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
)

// A page of routes (a session's list, a lookup, a search) is the looking glass's most frequent
// answer and, at 100 routes, its largest. Built through RouteJSON and encoding/json it allocated
// about 60 kB a page (a 350-byte RouteJSON per route, a string per community, prefix and time, and
// the encoder's own), which under load was a quarter of everything the route server allocated and
// so of how often its collector ran. appendRoutePage writes the same bytes (RoutePageJSON, as
// encoding/json writes it, TestRoutePageJSONMatchesEncoder and FuzzRoutePageJSON) straight from
// the routes into a reused buffer.

// pageBufs holds the buffers pages are encoded into, routeBufs the routes the Backend builds a page
// in (Page.Buf).
var (
	pageBufs  = sync.Pool{New: func() any { return new([]byte) }}
	routeBufs = sync.Pool{New: func() any { return new([]Route) }}
)

// answerPage fetches a page with fetch, which is given page with a reused Buf, and answers with it.
func (s *Server) answerPage(c echo.Context, page Page, sk SortKey, fetch func(Page) (RoutePage, error)) error {
	rb := routeBufs.Get().(*[]Route)
	if cap(*rb) < page.Limit {
		*rb = make([]Route, 0, page.Limit)
	}
	page.Buf = *rb
	p, err := fetch(page)
	if err != nil {
		return err // the buffer is dropped: the Backend's contract ends with a good answer
	}
	err = s.writePage(c, p, page.Limit, sk)
	routeBufs.Put(rb)
	return err
}

// writePage answers with the page: the routes visible to the public, sorted by sk.
func (s *Server) writePage(c echo.Context, p RoutePage, limit int, sk SortKey) error {
	bp := pageBufs.Get().(*[]byte)
	b := s.appendRoutePage((*bp)[:0], s.visiblePage(p, sk), p, limit, s.now())
	err := writeBody(c, http.StatusOK, b)
	if cap(b) <= maxPooledJSON {
		*bp = b
		pageBufs.Put(bp)
	}
	return err
}

// visiblePage returns the page's routes without hidden members', sorted by sk.
func (s *Server) visiblePage(p RoutePage, sk SortKey) []Route {
	rs := p.Routes
	set := s.set.Load()
	if sk.Field != "" || slices.ContainsFunc(rs, func(r Route) bool { return !set.visible(r.Member, r.Neighbor) }) {
		rs = s.visibleRoutes(rs) // a copy: the Backend's slice is not ours to reorder
		sortRoutes(rs, sk)
	}
	return rs
}

// appendRoutePage appends the JSON of RoutePageJSON for the routes rs of page p (what
// encoding/json's Encoder writes, its newline included).
func (s *Server) appendRoutePage(b []byte, rs []Route, p RoutePage, limit int, now time.Time) []byte {
	b = append(b, `{"routes":[`...)
	var names neighborNames
	for i := range rs {
		if i > 0 {
			b = append(b, ',')
		}
		b = s.appendRoute(b, &rs[i], now, &names)
	}
	b = append(b, `],"next_cursor":`...)
	b = appendJSONString(b, p.Next)
	b = append(b, `,"generation":`...)
	b = strconv.AppendUint(b, p.Generation, 10)
	b = append(b, `,"total":`...)
	b = strconv.AppendInt(b, int64(p.Total), 10)
	b = append(b, `,"partial":`...)
	b = strconv.AppendBool(b, p.Partial)
	b = append(b, `,"limit":`...)
	b = strconv.AppendInt(b, int64(limit), 10)
	return append(b, "}\n"...)
}

// appendRoute appends the JSON of routeJSONAt(r, now, names).
func (s *Server) appendRoute(b []byte, r *Route, now time.Time, names *neighborNames) []byte {
	nstr, nid := names.of(r.Neighbor)
	b = append(b, `{"prefix":`...)
	b = appendPrefix(b, r.Prefix)
	b = append(b, `,"member":`...)
	b = appendJSONString(b, r.Member)
	b = append(b, `,"asn":`...)
	b = strconv.AppendUint(b, uint64(r.ASN), 10)
	b = append(b, `,"neighbor":`...)
	b = appendJSONString(b, nstr)
	b = append(b, `,"session_id":`...)
	b = appendJSONString(b, nid)
	b = append(b, `,"as_path":[`...)
	for i, a := range r.ASPath {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendUint(b, uint64(a), 10)
	}
	b = append(b, `],"as_set":`...)
	b = strconv.AppendBool(b, r.ASSet)
	b = append(b, `,"next_hop":`...)
	b = appendAddr(b, r.NextHop)
	b = append(b, `,"med":`...)
	b = appendOptUint(b, r.MED, r.HasMED)
	b = append(b, `,"origin":`...)
	b = appendJSONString(b, r.Origin)
	b = append(b, `,"local_pref":`...)
	b = strconv.AppendUint(b, uint64(r.LocalPref), 10)
	b = append(b, `,"communities":[`...)
	b = appendCommunities(b, r.Communities, `":"`)
	b = append(b, `],"ext_communities":[`...)
	for i, c := range r.ExtCommunities {
		if i > 0 {
			b = append(b, ',')
		}
		k, g, l := c.Parts()
		b = appendJSONString(b, k+":"+g+":"+l)
	}
	b = append(b, `],"large_communities":[`...)
	b = appendLarge(b, r.LargeCommunities, `"::"`)
	b = append(b, `],"otc":`...)
	b = appendOptUint(b, r.OTC, r.OTC != 0)
	b = append(b, `,"rpki":`...)
	b = appendJSONString(b, r.RPKI)
	b = append(b, `,"irr_prefix":`...)
	b = appendJSONString(b, r.IRRPrefix)
	b = append(b, `,"irr_origin":`...)
	b = appendJSONString(b, r.IRROrigin)
	b = append(b, `,"since":"`...)
	var age int64
	if !r.Since.IsZero() {
		b = r.Since.UTC().AppendFormat(b, time.RFC3339)
		age = int64(now.Sub(r.Since) / time.Second)
	}
	b = append(b, `","age_seconds":`...)
	b = strconv.AppendInt(b, age, 10)
	b = append(b, `,"best":`...)
	b = strconv.AppendBool(b, r.Best)
	b = append(b, `,"accepted":`...)
	b = strconv.AppendBool(b, r.Accepted())
	b = append(b, `,"reasons":[`...)
	for i, code := range r.Reasons {
		if i > 0 {
			b = append(b, ',')
		}
		b = s.appendReason(b, s.filterReason(code))
	}
	b = append(b, `],"not_exported":`...)
	if r.NotExported != 0 {
		b = s.appendReason(b, s.notExportedReason(r.NotExported))
	} else {
		b = append(b, "null"...)
	}
	if r.PathID != 0 {
		b = append(b, `,"path_id":`...)
		b = strconv.AppendUint(b, uint64(r.PathID), 10)
	}
	return append(b, '}')
}

func (s *Server) appendReason(b []byte, r ReasonJSON) []byte {
	b = append(b, `{"code":`...)
	b = strconv.AppendInt(b, int64(r.Code), 10)
	b = append(b, `,"name":`...)
	b = appendJSONString(b, r.Name)
	b = append(b, `,"community":`...)
	b = appendJSONString(b, r.Community)
	return append(b, '}')
}

// appendPrefix appends p.String() as a JSON string.
func appendPrefix(b []byte, p netip.Prefix) []byte {
	b = append(b, '"')
	if p.IsValid() {
		b = p.AppendTo(b)
	} else {
		b = append(b, "invalid Prefix"...) // what netip.Prefix.String says
	}
	return append(b, '"')
}

// appendAddr appends addrString(a) as a JSON string.
func appendAddr(b []byte, a netip.Addr) []byte {
	if a.Zone() != "" { // a zone is any string
		return appendJSONString(b, a.String())
	}
	b = append(b, '"')
	if a.IsValid() {
		b = a.AppendTo(b)
	}
	return append(b, '"')
}

// appendCommunities appends the communities separated by commas, each as the two halves between
// the delimiters d: "a:b" for `":"`, [a,b] for "[,]".
func appendCommunities(b []byte, cs []Community, d string) []byte {
	for i, c := range cs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(strconv.AppendUint(append(b, d[0]), uint64(c>>16), 10), d[1])
		b = append(strconv.AppendUint(b, uint64(c&0xffff), 10), d[2])
	}
	return b
}

// appendLarge appends the large communities separated by commas, each as its three parts between
// the delimiters d: "a:b:c" for `"::"`, [a,b,c] for "[,,]".
func appendLarge(b []byte, cs []LargeCommunity, d string) []byte {
	for i, c := range cs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(strconv.AppendUint(append(b, d[0]), uint64(c.Global), 10), d[1])
		b = append(strconv.AppendUint(b, uint64(c.Local1), 10), d[2])
		b = append(strconv.AppendUint(b, uint64(c.Local2), 10), d[3])
	}
	return b
}

// appendOptUint appends v, or null when !ok (a *uint32 field).
func appendOptUint(b []byte, v uint32, ok bool) []byte {
	if !ok {
		return append(b, "null"...)
	}
	return strconv.AppendUint(b, uint64(v), 10)
}

// appendJSONString appends str as encoding/json quotes it. Strings of printable ASCII without a
// character it escapes (quote, backslash, and <, >, & as HTML escaping asks) are copied; any other
// goes through encoding/json itself, so the rules are its own.
func appendJSONString(b []byte, str string) []byte {
	for i := 0; i < len(str); i++ {
		if c := str[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(str) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, str...)
	return append(b, '"')
}
