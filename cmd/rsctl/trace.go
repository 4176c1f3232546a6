package main

import (
	"fmt"
	"strings"

	"github.com/ixrs/ixrs/admin"
)

// trace MEMBER on [TYPE...] [raw] | off: a member's packet tracing (docs/admin.md). on without
// types traces every type; the route server checks the type names.
func (cl *cli) trace(args []string) error {
	const use = "usage: trace MEMBER on [open|update|notification|keepalive|refresh|all ...] [raw] | trace MEMBER off"
	if len(args) < 2 {
		return errUsage(use)
	}
	req := admin.TraceRequest{Member: args[0], Types: []string{}}
	switch args[1] {
	case "on":
		for _, a := range args[2:] {
			if a == "raw" {
				req.Raw = true
				continue
			}
			req.Types = append(req.Types, a)
		}
		if len(req.Types) == 0 {
			req.Types = []string{"all"}
		}
	case "off":
		if len(args) != 2 {
			return errUsage(use)
		}
	default:
		return errUsage(use)
	}
	var res admin.TraceResult
	raw, err := cl.c.post("/v1/trace", nil, req, &res)
	if err != nil {
		return err
	}
	if cl.json {
		cl.printRaw(raw)
		return nil
	}
	if len(res.Types) == 0 {
		fmt.Fprintf(cl.stdout, "%s: packet trace off\n", res.Member)
		return nil
	}
	hex := ""
	if res.Raw {
		hex = ", with raw hex"
	}
	fmt.Fprintf(cl.stdout, "%s: tracing %s%s (until changed again or a reload changes its trace keys)\n",
		res.Member, strings.Join(res.Types, " "), hex)
	return nil
}
