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
// communities); ImportRoute runs once per prefix and adds the prefix-dependent checks. Export control
// is summarised once per attribute set (Summarize) so that the decision for one target member is a
// constant-time lookup (Export.Allows).
package policy
