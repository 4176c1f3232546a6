package main

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/ixrs/ixrs/admin"
)

// maxPages bounds how many pages one listing follows.
const maxPages = 10000

var views = []string{"received", "accepted", "filtered", "exported", "not-exported"}

func (cl *cli) show(args []string) error {
	if len(args) == 0 {
		return errUsage("usage: show summary | neighbor | routes")
	}
	switch args[0] {
	case "summary":
		if len(args) != 1 {
			return errUsage("show summary takes no arguments")
		}
		return cl.summary("")
	case "neighbor", "neighbors":
		if len(args) > 2 {
			return errUsage("usage: show neighbor [MEMBER|ADDRESS]")
		}
		q := ""
		if len(args) == 2 {
			q = args[1]
		}
		return cl.neighbors(q)
	case "routes", "route":
		return cl.routes(args[1:])
	}
	return errUsage(fmt.Sprintf("show %q: must be summary, neighbor or routes", args[0]))
}

func (cl *cli) summary(q string) error {
	var s admin.Summary
	raw, err := cl.c.get("/v1/summary", nil, &s)
	if err != nil {
		return err
	}
	if cl.json {
		cl.printRaw(raw)
		return nil
	}
	printSummary(cl.stdout, &s)
	return nil
}

func (cl *cli) neighbors(q string) error {
	var s admin.Summary
	raw, err := cl.c.get("/v1/neighbors", query("q", q), &s)
	if err != nil {
		return err
	}
	if cl.json {
		cl.printRaw(raw)
		return nil
	}
	printNeighbors(cl.stdout, &s)
	return nil
}

// routes: show routes VIEW NEIGHBOR [FAMILY] | prefix PREFIX [MATCH] | member MEMBER.
func (cl *cli) routes(args []string) error {
	if len(args) < 2 {
		return errUsage("usage: show routes VIEW MEMBER|ADDRESS [ipv4|ipv6] | prefix PREFIX [MATCH] | member MEMBER")
	}
	switch {
	case args[0] == "prefix":
		if len(args) > 3 {
			return errUsage("usage: show routes prefix PREFIX [exact|longest|more-specific]")
		}
		match := ""
		if len(args) == 3 {
			match = args[2]
		}
		return cl.pages("/v1/lookup", query("prefix", args[1], "match", match), "")
	case args[0] == "member":
		if len(args) != 2 {
			return errUsage("usage: show routes member MEMBER")
		}
		return cl.memberRoutes(args[1], "received", "")
	case contains(views, args[0]):
		fam := ""
		if len(args) == 3 {
			fam = args[2]
		} else if len(args) > 3 {
			return errUsage("usage: show routes VIEW MEMBER|ADDRESS [ipv4|ipv6]")
		}
		return cl.memberRoutes(args[1], args[0], fam)
	}
	return errUsage(fmt.Sprintf("show routes %q: must be one of %s, prefix or member", args[0], strings.Join(views, ", ")))
}

// memberRoutes lists a view of every session of who (a member or one address), page by page.
func (cl *cli) memberRoutes(who, view, fam string) error {
	addrs := []string{who}
	if _, err := netip.ParseAddr(who); err != nil {
		var s admin.Summary
		if _, err := cl.c.get("/v1/neighbors", query("q", who), &s); err != nil {
			return err
		}
		addrs = addrs[:0]
		for _, n := range s.Neighbors {
			addrs = append(addrs, n.Neighbor.String())
		}
	}
	var all admin.Routes
	for _, a := range addrs {
		var got admin.Routes
		if err := cl.follow("/v1/routes", query("neighbor", a, "view", view, "family", fam), &got); err != nil {
			return err
		}
		all.Pages = append(all.Pages, got.Pages...)
	}
	if cl.json {
		writeJSON(cl.stdout, all)
		return nil
	}
	printRoutes(cl.stdout, &all, view)
	return nil
}

// pages lists a lookup, page by page.
func (cl *cli) pages(path string, q map[string][]string, view string) error {
	var all admin.Routes
	if err := cl.follow(path, q, &all); err != nil {
		return err
	}
	if cl.json {
		writeJSON(cl.stdout, all)
		return nil
	}
	printRoutes(cl.stdout, &all, view)
	return nil
}

// follow gets path with q, then the following pages (Next cursors) of each answer, appending
// every page to out.
func (cl *cli) follow(path string, q map[string][]string, out *admin.Routes) error {
	cursor := ""
	for i := 0; i < maxPages; i++ {
		qq := query()
		for k, v := range q {
			qq[k] = v
		}
		if cursor != "" {
			qq.Set("cursor", cursor)
		}
		var r admin.Routes
		if _, err := cl.c.get(path, qq, &r); err != nil {
			return err
		}
		out.Pages = append(out.Pages, r.Pages...)
		if len(r.Pages) != 1 || r.Pages[0].Next == "" {
			return nil
		}
		cursor = r.Pages[0].Next
	}
	return fmt.Errorf("more than %d pages: list stopped", maxPages)
}

func (cl *cli) explain(args []string) error {
	if len(args) < 1 || len(args) > 2 {
		return errUsage("usage: explain PREFIX [MEMBER|ADDRESS]")
	}
	n := ""
	if len(args) == 2 {
		n = args[1]
	}
	var e admin.Explain
	raw, err := cl.c.get("/v1/explain", query("prefix", args[0], "neighbor", n), &e)
	if err != nil {
		return err
	}
	if cl.json {
		cl.printRaw(raw)
		return nil
	}
	printExplain(cl.stdout, &e)
	return nil
}

func (cl *cli) reload() error {
	var d admin.Diff
	raw, err := cl.c.post("/v1/reload", nil, []byte("{}"), &d)
	if err != nil {
		return err
	}
	if cl.json {
		cl.printRaw(raw)
		return nil
	}
	r := d.Result
	fmt.Fprintf(cl.stdout, "reload applied: %d members; %d added, %d removed, %d changed, %d policy changed, %d sessions reset\n",
		r.Members, r.Added, r.Removed, r.Changed, r.PolicyChanged, r.SessionsReset)
	printDiff(cl.stdout, &d)
	return nil
}

func (cl *cli) diff(args []string) (int, error) {
	if len(args) != 2 || (args[0] != "-config" && args[0] != "--config") {
		return 0, errUsage("usage: diff -config FILE")
	}
	data, err := os.ReadFile(args[1])
	if err != nil {
		return 0, errUsage(err.Error())
	}
	name, err := filepath.Abs(args[1])
	if err != nil {
		name = args[1]
	}
	var d admin.Diff
	raw, err := cl.c.post("/v1/diff", query("name", name), data, &d)
	if err != nil {
		return 0, err
	}
	if cl.json {
		cl.printRaw(raw)
	} else {
		if len(d.Changes) == 0 {
			fmt.Fprintln(cl.stdout, "no changes")
		}
		printDiff(cl.stdout, &d)
	}
	if len(d.Changes) > 0 {
		return exitChanges, nil
	}
	return exitOK, nil
}

func memberReq(m string) admin.MemberRequest { return admin.MemberRequest{Member: m} }

// neighbor MEMBER shutdown [MESSAGE...] | enable | reset [soft].
func (cl *cli) neighbor(args []string) error {
	if len(args) < 2 {
		return errUsage("usage: neighbor MEMBER shutdown [MESSAGE...] | enable | reset [soft]")
	}
	req := memberReq(args[0])
	switch args[1] {
	case "shutdown":
		req.Message = strings.Join(args[2:], " ")
		if len(req.Message) > 255 {
			return errUsage("shutdown message: at most 255 bytes (RFC 9003)")
		}
		return cl.memberAction("/v1/neighbor/shutdown", req, "shutdown")
	case "enable":
		if len(args) != 2 {
			return errUsage("usage: neighbor MEMBER enable")
		}
		return cl.memberAction("/v1/neighbor/enable", req, "enable")
	case "reset":
		switch {
		case len(args) == 3 && args[2] == "soft":
			req.Soft = true
		case len(args) == 2:
		default:
			return errUsage("usage: neighbor MEMBER reset [soft]")
		}
		return cl.memberAction("/v1/neighbor/reset", req, "reset")
	}
	return errUsage(fmt.Sprintf("neighbor %s %q: must be shutdown, enable or reset", args[0], args[1]))
}

func (cl *cli) memberAction(path string, req admin.MemberRequest, what string) error {
	var res admin.MemberResult
	raw, err := cl.c.post(path, nil, req, &res)
	if err != nil {
		return err
	}
	if cl.json {
		cl.printRaw(raw)
		return nil
	}
	switch what {
	case "shutdown":
		fmt.Fprintf(cl.stdout, "%s: administratively shut down; stays down until enabled\n", res.Member)
	case "enable":
		if res.Changed {
			fmt.Fprintf(cl.stdout, "%s: enabled\n", res.Member)
		} else {
			fmt.Fprintf(cl.stdout, "%s: was not shut down\n", res.Member)
		}
	case "reset":
		kind := "hard"
		if req.Soft {
			kind = "soft"
		}
		fmt.Fprintf(cl.stdout, "%s: %s reset of %d established session(s)\n", res.Member, kind, res.Sessions)
	default:
		fmt.Fprintf(cl.stdout, "%s: %s: %d session(s) started again\n", res.Member, what, res.Sessions)
	}
	return nil
}

func (cl *cli) gracefulShutdown(on bool) error {
	raw, err := cl.c.post("/v1/graceful-shutdown", nil, admin.GracefulShutdownRequest{On: on}, nil)
	if err != nil {
		return err
	}
	if cl.json {
		cl.printRaw(raw)
		return nil
	}
	if on {
		fmt.Fprintln(cl.stdout, "graceful shutdown on: every route is being sent again with GRACEFUL_SHUTDOWN (65535:0)")
	} else {
		fmt.Fprintln(cl.stdout, "graceful shutdown off: routes are being sent again without GRACEFUL_SHUTDOWN")
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (cl *cli) mrtDump() error {
	var res admin.MRTDump
	raw, err := cl.c.post("/v1/mrt/dump", nil, struct{}{}, &res)
	if err != nil {
		return err
	}
	if cl.json {
		cl.printRaw(raw)
		return nil
	}
	fmt.Fprintf(cl.stdout, "MRT dump written in %.1fs: %d sessions, %d prefixes\n  %s (%d accepted routes)\n  %s (%d filtered routes)\n",
		res.Seconds, res.Peers, res.Prefixes, res.Accepted, res.AcceptedRoutes, res.Filtered, res.FilteredRoutes)
	return nil
}
