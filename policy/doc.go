// Package policy holds the route server's routing policy as pure functions: the import filter
// chain with its reject reasons (Euro-IX RS:1101:N codes) and the export-control summary that
// the route server reads once per attribute set.
//
// The package imports nothing of ixrs: its inputs are small value types (Session, Path) that the
// caller fills from whatever representation it has. No goroutines, no I/O, no global state, so a
// policy can be evaluated anywhere (RIB loop, looking glass "explain", tests) with the same result.
//
// Cost model. Import work is split in two: ImportPath runs once per (attribute set, session,
// address family) and holds every check that depends only on the path attributes (AS path, next hop,
// communities); ImportRoute runs once per prefix and adds the prefix-dependent checks, including the
// ones that read RPKI and IRR data (so new data never invalidates a cached path verdict). Export
// control is summarised once per attribute set (Summarize) so that the decision for one target
// member is a constant-time lookup (Export.Decide), which also gives the Variant (prepend,
// NO_EXPORT, NO_ADVERTISE) that member gets.
//
// Memory model. A route keeps only its Reasons (a bit set, 8 bytes) and its Info (RPKI and IRR
// states, 1 byte). Explain re-runs the checks for one route when someone asks, and returns each
// check with the data behind it (the bogon list entry, the VRP, the IRR entry).
//
// Files: import.go (Import, the chain's entry points), checks.go (the single checks), lists.go (bogon
// and transit-free lists), irr.go (IRR data and its file formats), rov.go (the RPKI interface),
// info.go (validation states and informational communities), export.go (control communities),
// explain.go, describe.go (the compiled settings in words), reasons.go (Euro-IX codes).
package policy
