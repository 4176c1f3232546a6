package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ixrs/ixrs/admin"
	"github.com/ixrs/ixrs/lookingglass"
)

func table(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0) }

// age formats how long ago t was, like bgpctl's Up/Down column.
func age(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := time.Since(t).Round(time.Second)
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%dd%02dh", int(d.Hours())/24, int(d.Hours())%24)
	case d >= time.Hour:
		return fmt.Sprintf("%02d:%02d:%02d", int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60)
	}
	return fmt.Sprintf("00:%02d:%02d", int(d.Minutes()), int(d.Seconds())%60)
}

func counts(n admin.Neighbor) (recv, acc, filt, exp int) {
	for _, f := range n.Families {
		recv += f.Received
		acc += f.Accepted
		filt += f.Filtered
		exp += f.Exported
	}
	return
}

// mark is the neighbor's administrative mark for the summary's last column: dynamic (and its
// range), then admin down or held by max-prefix.
func mark(n admin.Neighbor) string {
	var parts []string
	if n.Dynamic {
		parts = append(parts, "dynamic ("+n.Range+")")
	}
	switch {
	case n.AdminDown && n.AdminMessage != "":
		parts = append(parts, "admin down: "+n.AdminMessage)
	case n.AdminDown:
		parts = append(parts, "admin down")
	case n.MaxPrefixStopped:
		parts = append(parts, "max-prefix")
	}
	return strings.Join(parts, ", ")
}

func printSummary(w io.Writer, s *admin.Summary) {
	up := 0
	for _, n := range s.Neighbors {
		if n.State == "established" {
			up++
		}
	}
	st := s.Status
	fmt.Fprintf(w, "ixrs %s, AS%d, router id %s, %d sessions, %d established\n", st.Version, st.ASN, st.RouterID, len(s.Neighbors), up)
	if s.GracefulShutdown {
		fmt.Fprintln(w, "graceful shutdown ON: every route is sent with GRACEFUL_SHUTDOWN (65535:0)")
	}
	if s.StateProblem != "" {
		fmt.Fprintf(w, "warning: %s\n", s.StateProblem)
	}
	fmt.Fprintln(w)
	tw := table(w)
	fmt.Fprintln(tw, "Neighbor\tAS\tMember\tState\tUp/Down\tRcvd\tAccepted\tFiltered\tExported\t")
	for _, n := range s.Neighbors {
		recv, acc, filt, exp := counts(n)
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\n", n.Neighbor, n.ASN, n.Member, stateWord(n.State), age(n.Since),
			recv, acc, filt, exp, mark(n))
	}
	tw.Flush()
}

func stateWord(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func printNeighbors(w io.Writer, s *admin.Summary) {
	for i, n := range s.Neighbors {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "BGP neighbor %s, member %s, AS%d\n", n.Neighbor, n.Member, n.ASN)
		if n.Dynamic {
			fmt.Fprintf(w, "  Dynamic member of member_range %s (exists while connected)\n", n.Range)
		}
		if n.Description != "" {
			fmt.Fprintf(w, "  Description: %s\n", n.Description)
		}
		fmt.Fprintf(w, "  State: %s, since %s (%s)\n", stateWord(n.State), n.Since.Format(time.RFC3339), age(n.Since))
		if n.AdminDown {
			since := ""
			if !n.AdminSince.IsZero() {
				since = " since " + n.AdminSince.Format(time.RFC3339)
			}
			fmt.Fprintf(w, "  Administratively down%s: %q (until enabled)\n", since, n.AdminMessage)
		}
		if n.MaxPrefixStopped {
			fmt.Fprintln(w, "  Held down by max-prefix (rsctl max-prefix clear)")
		}
		if n.RouterID.IsValid() {
			fmt.Fprintf(w, "  Router ID: %s, hold time %ds\n", n.RouterID, n.HoldTime)
		}
		if len(n.Capabilities) > 0 {
			fmt.Fprintf(w, "  Capabilities: %s\n", strings.Join(n.Capabilities, ", "))
		}
		if n.LastError != "" {
			fmt.Fprintf(w, "  Last error: %s\n", n.LastError)
		}
		tw := table(w)
		fmt.Fprintln(tw, "  Family\tReceived\tAccepted\tFiltered\tExported\tPreferred\tMax prefix\t")
		for _, f := range n.Families {
			mp := "-"
			if f.MaxPrefix > 0 {
				mp = strconv.Itoa(f.MaxPrefix)
			}
			fmt.Fprintf(tw, "  %s\t%d\t%d\t%d\t%d\t%d\t%s\t\n", f.Family, f.Received, f.Accepted, f.Filtered, f.Exported, f.Preferred, mp)
		}
		tw.Flush()
	}
}

func asPath(r *lookingglass.Route) string {
	parts := make([]string, len(r.ASPath))
	for i, a := range r.ASPath {
		parts[i] = strconv.FormatUint(uint64(a), 10)
	}
	s := strings.Join(parts, " ")
	if r.ASSet {
		s += " {set}"
	}
	return s
}

func communities(r *lookingglass.Route) string {
	var parts []string
	for _, c := range r.Communities {
		parts = append(parts, fmt.Sprint(c))
	}
	for _, c := range r.LargeCommunities {
		parts = append(parts, fmt.Sprint(c))
	}
	for _, c := range r.ExtCommunities {
		parts = append(parts, fmt.Sprint(c))
	}
	return strings.Join(parts, " ")
}

// why is a route's filter reasons or not-exported reason.
func why(r *lookingglass.Route) string {
	if r.NotExported != 0 {
		return lookingglass.NotExportedReason(r.NotExported).String()
	}
	var parts []string
	for _, c := range r.Reasons {
		parts = append(parts, strconv.Itoa(c))
	}
	if len(parts) == 0 {
		return ""
	}
	return "rejected " + strings.Join(parts, ",")
}

func printRoutes(w io.Writer, rs *admin.Routes, view string) {
	tw := table(w)
	fmt.Fprintln(tw, "flags\tPrefix\tNext hop\tMember\tRPKI\tAS path\tCommunities\tReason\t")
	n := 0
	for _, p := range rs.Pages {
		for i := range p.Routes {
			r := &p.Routes[i]
			f := " "
			if r.Best {
				f = "*"
			}
			if !r.Accepted() {
				f = "F"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", f, r.Prefix, r.NextHop, r.Member, r.RPKI, asPath(r), communities(r), why(r))
			n++
		}
	}
	tw.Flush()
	fmt.Fprintf(w, "%d route(s)", n)
	if view != "" {
		fmt.Fprintf(w, ", view %s", view)
	}
	fmt.Fprintln(w, "; flags: * best, F filtered")
}

func printExplain(w io.Writer, e *admin.Explain) {
	for i := range e.Routes {
		d := &e.Routes[i]
		r := &d.Route
		if i > 0 {
			fmt.Fprintln(w)
		}
		verdict := "accepted"
		if !r.Accepted() {
			verdict = why(r)
		}
		fmt.Fprintf(w, "%s from %s (AS%d, neighbor %s): %s\n", r.Prefix, r.Member, r.ASN, r.Neighbor, verdict)
		fmt.Fprintf(w, "  AS path %s, next hop %s, RPKI %s, IRR prefix %s, IRR origin %s\n", asPath(r), r.NextHop, r.RPKI, r.IRRPrefix, r.IRROrigin)
		if c := communities(r); c != "" {
			fmt.Fprintf(w, "  communities %s\n", c)
		}
		tw := table(w)
		fmt.Fprintln(tw, "  Step\tCheck\tOutcome\tDetail\t")
		for _, c := range d.Checks {
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t\n", c.Step, c.Name, c.Outcome, c.Detail)
		}
		tw.Flush()
		tw = table(w)
		fmt.Fprintln(tw, "  To neighbor\tMember\tAS\tExported\tWhy\t")
		for _, x := range d.Exports {
			yes := "no"
			if x.Exported {
				yes = "yes"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%d\t%s\t%s\t\n", x.Neighbor, x.Member, x.ASN, yes, x.Explain)
		}
		tw.Flush()
	}
}

func printDiff(w io.Writer, d *admin.Diff) {
	for _, c := range d.Changes {
		fmt.Fprintf(w, "  %s\n", c)
	}
	for _, x := range d.Warnings {
		fmt.Fprintf(w, "warning: %s\n", x)
	}
}
