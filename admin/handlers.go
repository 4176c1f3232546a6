package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/ixrs/ixrs/config"
	"github.com/ixrs/ixrs/daemon"
	"github.com/ixrs/ixrs/lookingglass"
	"github.com/ixrs/ixrs/mrt"
)

func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("GET /v1/version", s.version)
	m.HandleFunc("GET /v1/summary", s.summary)
	m.HandleFunc("GET /v1/neighbors", s.summary)
	m.HandleFunc("GET /v1/routes", s.routesOf)
	m.HandleFunc("GET /v1/lookup", s.lookup)
	m.HandleFunc("GET /v1/explain", s.explain)
	m.HandleFunc("POST /v1/reload", s.reload)
	m.HandleFunc("POST /v1/diff", s.diff)
	m.HandleFunc("POST /v1/neighbor/shutdown", memberCall(func(ctx context.Context, q MemberRequest) (MemberResult, error) {
		name, err := s.opts.Control.ShutdownMember(ctx, q.Member, q.Message)
		return MemberResult{Member: name, Changed: true}, err
	}))
	m.HandleFunc("POST /v1/neighbor/enable", memberCall(func(ctx context.Context, q MemberRequest) (MemberResult, error) {
		name, was, err := s.opts.Control.EnableMember(ctx, q.Member)
		return MemberResult{Member: name, Changed: was}, err
	}))
	m.HandleFunc("POST /v1/neighbor/reset", memberCall(func(ctx context.Context, q MemberRequest) (MemberResult, error) {
		name, n, err := s.opts.Control.ResetMember(ctx, q.Member, q.Soft, q.Message)
		return MemberResult{Member: name, Sessions: n, Changed: n > 0}, err
	}))
	m.HandleFunc("POST /v1/max-prefix/clear", memberCall(func(ctx context.Context, q MemberRequest) (MemberResult, error) {
		n, err := s.opts.Control.ClearMaxPrefix(ctx, q.Member)
		return MemberResult{Member: q.Member, Sessions: n, Changed: n > 0}, err
	}))
	m.HandleFunc("POST /v1/graceful-shutdown", s.gracefulShutdown)
	m.HandleFunc("POST /v1/mrt/dump", s.mrtDump)
	// A member's packet tracing switched at run time. The admin call log line says who switched it;
	// the daemon logs what it set.
	m.HandleFunc("POST /v1/trace", memberCall(func(ctx context.Context, q TraceRequest) (TraceResult, error) {
		name, spec, err := s.opts.Control.SetTrace(ctx, q.Member, q.Types, q.Raw)
		return TraceResult{Member: name, Types: nonNil(spec.Types), Raw: spec.Raw}, err
	}))
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Errorf("no such call: %s %s", r.Method, r.URL.Path))
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, err error) {
	e := Error{Error: err.Error()}
	var errs *config.Errors
	if errors.As(err, &errs) {
		for _, p := range *errs {
			e.Problems = append(e.Problems, p.Error())
		}
		e.Error = fmt.Sprintf("configuration refused: %d problem(s); the running configuration stays in force", len(*errs))
	}
	writeJSON(w, status, e)
}

// fail answers err with the status it calls for.
func fail(w http.ResponseWriter, err error) {
	var errs *config.Errors
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &errs):
		writeError(w, http.StatusUnprocessableEntity, err)
	case errors.Is(err, daemon.ErrUnknownMember), errors.Is(err, lookingglass.ErrUnknownNeighbor), errors.Is(err, lookingglass.ErrNoRoute):
		writeError(w, http.StatusNotFound, err)
	case errors.Is(err, daemon.ErrNotRunning), errors.Is(err, lookingglass.ErrNotReady), errors.Is(err, daemon.ErrNoReload),
		errors.Is(err, daemon.ErrNoMRT):
		writeError(w, http.StatusServiceUnavailable, err)
	case errors.Is(err, mrt.ErrBusy):
		writeError(w, http.StatusConflict, err)
		writeError(w, http.StatusServiceUnavailable, err)
	case errors.Is(err, lookingglass.ErrStaleCursor):
		writeError(w, http.StatusConflict, err)
	case errors.As(err, &mbe), errors.Is(err, errBadRequest), errors.Is(err, daemon.ErrBadTrace):
		writeError(w, http.StatusBadRequest, err)
	case errors.Is(err, context.DeadlineExceeded):
		writeError(w, http.StatusGatewayTimeout, err)
	default:
		writeError(w, http.StatusInternalServerError, err)
	}
}

var errBadRequest = errors.New("bad request")

func badRequest(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errBadRequest, fmt.Sprintf(format, args...))
}

func callCtx(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), callTimeout)
}

func (s *Server) version(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, Version{Version: s.opts.Version})
}

// summary answers /v1/summary (every session) and /v1/neighbors?q=MEMBER|ADDRESS (those of one
// member, or one session).
func (s *Server) summary(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := callCtx(r)
	defer cancel()
	st, err := s.opts.Read.Status(ctx)
	if err != nil {
		fail(w, err)
		return
	}
	sessions, err := s.opts.Read.Sessions(ctx)
	if err != nil {
		fail(w, err)
		return
	}
	adm, err := s.opts.Control.AdminStatus(ctx)
	if err != nil {
		fail(w, err)
		return
	}
	type key struct{ member, addr string }
	down := map[string]daemon.MemberAdmin{}
	stopped := map[key]bool{}
	for _, m := range adm.Members {
		down[m.Member] = m
		for _, ss := range m.Sessions {
			stopped[key{m.Member, ss.Neighbor}] = ss.MaxPrefixStopped
		}
	}
	q := r.URL.Query().Get("q")
	out := Summary{Status: st, GracefulShutdown: adm.GracefulShutdown, StateProblem: adm.StateProblem, Neighbors: []Neighbor{}}
	for _, ss := range sessions {
		if q != "" && q != ss.Member && q != ss.Neighbor.String() {
			continue
		}
		m := down[ss.Member]
		out.Neighbors = append(out.Neighbors, Neighbor{Session: ss, AdminDown: m.Down, AdminMessage: m.Message,
			AdminSince: m.Since, MaxPrefixStopped: stopped[key{ss.Member, ss.Neighbor.String()}], Dynamic: m.Dynamic, Range: m.Range})
	}
	if q != "" && len(out.Neighbors) == 0 {
		fail(w, fmt.Errorf("%q: %w", q, daemon.ErrUnknownMember))
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// neighborsOf returns the session addresses q names: an address, or a member's name.
func (s *Server) neighborsOf(ctx context.Context, q string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(q); err == nil {
		return []netip.Addr{a}, nil
	}
	sessions, err := s.opts.Read.Sessions(ctx)
	if err != nil {
		return nil, err
	}
	var out []netip.Addr
	for _, ss := range sessions {
		if ss.Member == q {
			out = append(out, ss.Neighbor)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%q: %w", q, daemon.ErrUnknownMember)
	}
	return out, nil
}

func pageOf(r *http.Request) (lookingglass.Page, error) {
	p := lookingglass.Page{Cursor: r.URL.Query().Get("cursor"), Limit: 1000}
	if l := r.URL.Query().Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > lookingglass.MaxPageSize {
			return p, badRequest("limit %q: must be 1..%d", l, lookingglass.MaxPageSize)
		}
		p.Limit = n
	}
	return p, nil
}

// routesOf answers /v1/routes?neighbor=MEMBER|ADDRESS&view=VIEW[&family=][&limit=][&cursor=].
func (s *Server) routesOf(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := callCtx(r)
	defer cancel()
	q := r.URL.Query()
	view := lookingglass.View(q.Get("view"))
	switch view {
	case "":
		view = lookingglass.ViewAccepted
	case lookingglass.ViewReceived, lookingglass.ViewAccepted, lookingglass.ViewFiltered, lookingglass.ViewExported, lookingglass.ViewNotExported:
	default:
		fail(w, badRequest("view %q: must be received, accepted, filtered, exported or not-exported", view))
		return
	}
	fam := q.Get("family")
	if fam != "" && fam != "ipv4" && fam != "ipv6" {
		fail(w, badRequest("family %q: must be ipv4 or ipv6", fam))
		return
	}
	page, err := pageOf(r)
	if err != nil {
		fail(w, err)
		return
	}
	if q.Get("neighbor") == "" {
		fail(w, badRequest("neighbor: a member's name or a neighbor address is required"))
		return
	}
	addrs, err := s.neighborsOf(ctx, q.Get("neighbor"))
	if err != nil {
		fail(w, err)
		return
	}
	if len(addrs) > 1 && page.Cursor != "" {
		fail(w, badRequest("cursor: name one neighbor address to page on"))
		return
	}
	out := Routes{Pages: []RoutesPage{}}
	for _, a := range addrs {
		p, err := s.opts.Read.Routes(ctx, lookingglass.RoutesQuery{Neighbor: a, View: view, Family: fam, Page: page})
		if err != nil {
			fail(w, err)
			return
		}
		out.Pages = append(out.Pages, RoutesPage{Neighbor: a.String(), View: string(view), RoutePage: p})
	}
	writeJSON(w, http.StatusOK, out)
}

func prefixParam(v string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(v); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(v)
	if err != nil {
		return netip.Prefix{}, badRequest("prefix %q: not a prefix or an address", v)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// lookup answers /v1/lookup?prefix=P[&match=exact|longest|more-specific].
func (s *Server) lookup(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := callCtx(r)
	defer cancel()
	q := r.URL.Query()
	pfx, err := prefixParam(q.Get("prefix"))
	if err != nil {
		fail(w, err)
		return
	}
	match := lookingglass.Match(q.Get("match"))
	switch match {
	case "":
		match = lookingglass.MatchLongest
	case lookingglass.MatchExact, lookingglass.MatchLongest, lookingglass.MatchMoreSpecific:
	default:
		fail(w, badRequest("match %q: must be exact, longest or more-specific", match))
		return
	}
	page, err := pageOf(r)
	if err != nil {
		fail(w, err)
		return
	}
	p, err := s.opts.Read.Lookup(ctx, lookingglass.LookupQuery{Prefix: pfx, Match: match, Page: page})
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, Routes{Pages: []RoutesPage{{RoutePage: p}}})
}

// explain answers /v1/explain?prefix=P[&neighbor=MEMBER|ADDRESS]: without a neighbor, every
// session that holds exactly P.
func (s *Server) explain(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := callCtx(r)
	defer cancel()
	q := r.URL.Query()
	pfx, err := prefixParam(q.Get("prefix"))
	if err != nil {
		fail(w, err)
		return
	}
	var addrs []netip.Addr
	if n := q.Get("neighbor"); n != "" {
		if addrs, err = s.neighborsOf(ctx, n); err != nil {
			fail(w, err)
			return
		}
	} else {
		p, err := s.opts.Read.Lookup(ctx, lookingglass.LookupQuery{Prefix: pfx, Match: lookingglass.MatchExact,
			Page: lookingglass.Page{Limit: lookingglass.MaxPageSize}})
		if err != nil {
			fail(w, err)
			return
		}
		for _, rt := range p.Routes {
			addrs = append(addrs, rt.Neighbor)
		}
	}
	out := Explain{Routes: []lookingglass.RouteDetail{}}
	for _, a := range addrs {
		d, err := s.opts.Read.Explain(ctx, a, pfx)
		if errors.Is(err, lookingglass.ErrNoRoute) && len(addrs) > 1 {
			continue
		}
		if err != nil {
			fail(w, err)
			return
		}
		out.Routes = append(out.Routes, d)
	}
	if len(out.Routes) == 0 {
		fail(w, fmt.Errorf("%s: %w", pfx, lookingglass.ErrNoRoute))
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) reload(w http.ResponseWriter, r *http.Request) {
	if s.opts.Reload == nil {
		fail(w, daemon.ErrNoReload)
		return
	}
	ctx, cancel := callCtx(r)
	defer cancel()
	res, err := s.opts.Reload(ctx)
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, Diff{Changes: nonNil(res.Changes), Warnings: nonNil(res.Warnings), Result: &res})
}

// diff answers POST /v1/diff?name=PATH with a configuration file as the body: what a reload to it
// would change. name is the file's path, against which relative file names in it are resolved.
func (s *Server) diff(w http.ResponseWriter, r *http.Request) {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		fail(w, err)
		return
	}
	cfg, err := config.Parse(r.URL.Query().Get("name"), data)
	if err != nil {
		fail(w, err)
		return
	}
	ctx, cancel := callCtx(r)
	defer cancel()
	ch, warn, err := s.opts.Control.Diff(ctx, cfg)
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, Diff{Changes: nonNil(ch), Warnings: nonNil(warn)})
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// decode reads a JSON request body into v, refusing unknown fields.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return badRequest("body: %v", err)
	}
	if dec.More() {
		return badRequest("body: more than one JSON value")
	}
	return nil
}

// memberCall answers an action on one member: the request must name it; f does the action.
func memberCall[Q interface{ memberName() string }, R any](f func(context.Context, Q) (R, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var q Q
		if err := decode(r, &q); err != nil {
			fail(w, err)
			return
		}
		if q.memberName() == "" {
			fail(w, badRequest("member: required"))
			return
		}
		ctx, cancel := callCtx(r)
		defer cancel()
		res, err := f(ctx, q)
		if err != nil {
			fail(w, err)
			return
		}
		writeJSON(w, http.StatusOK, res)
	}
}

func (s *Server) gracefulShutdown(w http.ResponseWriter, r *http.Request) {
	var q GracefulShutdownRequest
	if err := decode(r, &q); err != nil {
		fail(w, err)
		return
	}
	ctx, cancel := callCtx(r)
	defer cancel()
	if err := s.opts.Control.SetGracefulShutdown(ctx, q.On); err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, q)
}

// mrtDump answers POST /v1/mrt/dump: an MRT dump of the Adj-RIB-In, written before the answer.
// A dump walks the whole table, so it gets longer than the other calls.
func (s *Server) mrtDump(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), mrtDumpTimeout)
	defer cancel()
	res, err := s.opts.Control.DumpMRT(ctx)
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, MRTDump{Accepted: res.Accepted, Filtered: res.Filtered, Peers: res.Peers,
		Prefixes: res.Prefixes, AcceptedRoutes: res.AcceptedRoutes, FilteredRoutes: res.FilteredRoutes,
		Bytes: res.Bytes, Seconds: res.Duration.Seconds(), Resyncs: res.Resyncs})
}

// mrtDumpTimeout bounds POST /v1/mrt/dump.
const mrtDumpTimeout = 5 * time.Minute
