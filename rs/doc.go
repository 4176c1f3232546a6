// Package rs is the route server's RIB: members and their sessions, the Adj-RIB-In with every
// received route (rejected ones kept with their reasons), per-prefix candidate lists, per-member
// export without path hiding, the shared Adj-RIB-Out, and the packing of outgoing UPDATEs. It also
// answers the looking glass's read-only queries and publishes every change to event subscribers.
//
// # Concurrency
//
// One goroutine, Server.Run, owns every structure below (OpenBGPD's RDE model, docs/architecture.md, design choice 5):
// no locks on the hot path. Sessions talk to it through a mailbox (Up, Down, Drained: never
// blocking) and a bounded inbound queue per session (Receive, RouteRefresh: blocking when full,
// which is the backpressure on that member alone). Each loop pass takes one message from every
// session with inbound messages, then gives every session that can take more output a bounded
// slice of work, then advances background walks and read jobs. Configuration changes run on the loop between passes and are bounded.
//
// # Reads and the event feed
//
// Nothing outside the loop touches RIB state. The looking glass reads through read jobs (read.go,
// query.go, explain.go): a caller submits a job through the mailbox and waits on a channel (its
// context may give up; the job is then dropped); the loop advances the jobs in its background phase
// under one budget per pass (Config.ReadBudget) shared with re-evaluation walks, and in short turns
// in the middle of a pass (readTurn, every Config.ReadInterval of routing work, between units of
// work where the RIB is as consistent as between passes, and inside a cohort pull between its
// prefixes), least-served job first; Stats.ReadGaps counts the stretches of work between two
// chances a waiting query had (readgap.go); a page visits
// at most Config.ReadLimit entries before it is returned, partial, with a Cursor. Searches by AS
// read the attribute sets the AS index names and their routes, nothing else (asnindex.go,
// search.go). Jobs hand back
// copies and codes (reasons, export checks, decision steps, validation state) and the RIB's
// immutable *speaker.Attrs; words are built on the caller's goroutine, and a read never interns a
// set. Cursors are slab positions: a route present for the whole of a paged read is returned once;
// a cursor into a session's slab names its incarnation (session.inc, unique per Up) and is refused
// with ErrCursorStale after a flap. Pages carry the RIB generation (Server.gen), which every
// Adj-RIB-In, Adj-RIB-Out and session change bumps.
//
// The event feed (feed.go) is for BMP, MRT and live views: session up and down, Adj-RIB-In changes
// (from announceRoute and dropRoute, where a route's attributes and verdict are final) and
// Adj-RIB-Out changes (feedAdjOut, called where the outbound paths change an entry). The loop
// appends to each subscriber's bounded ring and never waits; a subscriber that falls a ring behind
// is marked lost and resyncs with a replay of the current state, run as a read job, between
// sync-start and sync-done markers. A session-down event stands for the withdrawal of everything it
// sent and was sent. With no subscriber the cost is one branch per change.
//
// # Data model
//
//	attrTable   hash of the announcing member's export profile id + canonical bytes → *attrSet chain,
//	            compared by encoding again, refcounted (attrset.go)
//	attrSet     decoded attributes, decision inputs, policy view, export summary, the set actually
//	            sent (out), encoded attribute blocks per family and AS encoding
//	prefixTable netip.Prefix → *prefixEntry: a slab of entries indexed by an open-addressing hash table
//	            (keyed multiply-fold hash, no Go map; the slab keeps each hash's low half for
//	            growth), walked by slab index for resumable walks (prefix.go)
//	prefixEntry routes (candidates in decision order, then rejected), Adj-RIB-Out entries, change-list node
//	route       one Adj-RIB-In row: session, attribute set, verdict (reasons bit set, LOCAL_PREF) (route.go)
//	Peer        a configured neighbor of a member, stable across flaps (session.go)
//	session     one established incarnation of a Peer: dense id, Adj-RIB-In slab, change-list
//	            marker, dump walk, pending (session.go); after a graceful restart, stale (gr.go),
//	            then long-lived stale (llgr.go); stale routes leave through budgeted sweeps (grsweep.go)
//	adjOut      outgoing attribute set + interned bit set of the session ids that have it (adjout.go);
//	            the distinct bit sets are few (mostly "every session but the announcing member's");
//	            the prefixes each session has are counted bit-sliced, 64 sessions a word (counters.go)
//	variants    per out set, (route Info, target Variant) → derived set with its own encodings
//	            (variant.go): informational communities, prepend, NO_EXPORT/NO_ADVERTISE toward one member
//	reevalJob   a walk re-running ImportRoute after RPKI or IRR data changed (reeval.go)
//	readTask    a read job or a feed replay, advanced in the background phase and, for queries, in
//	            mid-pass turns (read.go, feed.go)
//	byASN       AS → the received sets with routes that carry it in the path; each such set lists
//	            its routes (route.setPrev/setNext, a circular list) (asnindex.go)
//	byTerm      community (standard, extended, large) or next hop → the received sets with routes
//	            that carry it; built by the first search that names one (termindex.go)
//	Subscription an event subscriber's ring, appended by the loop, drained by the subscriber (feed.go)
//	changeList  prefixes whose candidates changed, with one marker per session position (changelist.go)
//	pending     per session: queued actions grouped by attribute set, superseded ones dropped
//	            against the Adj-RIB-Out when encoded (pending.go)
//	cohort      scratch of a cohort pull: the caught-up sessions at one marker, served together (cohort.go)
//	addPath     per ADD-PATH session (RFC 7911 send): its own table prefix → paths sent (identifier,
//	            set; a reference each) and a queue of path changes, last action per path wins (addpath.go)
//
// # Flow
//
// An UPDATE is applied to the sender's Adj-RIB-In (adjin.go): the attribute set is interned once per
// message, path-level import checks run once per set, and each accepted route is placed in its
// prefix's candidate list (decision.go). A prefix whose candidates changed moves to the tail of the
// change list; nothing is computed per member at that point. When a session's output buffer is
// below its watermark, the session pulls prefixes from its change-list position (and from its table
// dump, walk.go) and each goes through three steps shared by every way of serving sessions:
//
//   - the export decision (export.go: the rule is exportMay, applied by decideOne for one session
//     and by decide for many as bit sets over session ids): the route each session should have is
//     the first candidate that is not its own, has neither its AS nor the route server's in the
//     path and that export policy allows to it, in the variant of the attributes export policy
//     gives that member; a session whose encoding cannot carry that set in one message (attributes
//     too large, no IPv6 next hop, an IPv4-mapped IPv6 prefix) gets nothing instead, counted as
//     unsendable;
//   - the Adj-RIB-Out change (adjout.go: adjoutMove for one session, adjoutApply for many, the
//     only code that changes it): the sessions' bits move to the entries of the sets they should
//     have, and what differs from what they had is a change, "these sessions now have set S" or
//     "these sessions are withdrawn", reported to adjoutChanged and sent;
//   - the packing (pending.go: pack): UPDATEs with the attribute block once and as many prefixes as
//     fit, withdrawals first, End-of-RIB last; a withdrawal is never dropped.
//
// A session that is behind (a dump in progress, pending work, a full output buffer) is served on
// its own: the decision covers it alone, its changes wait in pending, and flush packs them. The
// sessions at one change-list marker that are caught up are served as a cohort (cohort.go): each
// prefix behind the marker is decided and applied once for all of them, and each UPDATE is packed
// once per group of sessions that receive exactly the same prefixes, then copied to each. So the
// route server's outbound work is per prefix and per distinct message, not per member and prefix;
// what every session ends up with is the same on both paths.
//
// # Invariants
//
//   - pe.routes[:pe.nacc] are exactly the accepted routes of pe, sorted by compareRanked (deterministic
//     MED: the order depends on the routes, never on their arrival order); rejected routes follow.
//   - A session has at most one route per prefix; route.slot indexes it in its peer's slab.
//   - attrSet.refs counts routes, Adj-RIB-Out entries and sets whose out it is; a set with no
//     references is not in the table. An attrSet's out has no further out (out.out == out).
//   - A set with otc set is a received set without OTC that is its own out set, sent with that OTC.
//   - A session id appears in at most one adjOut entry of a prefix; no entry has an empty bit set.
//     The entry records what has been sent or is pending to be sent.
//   - For every established session p and prefix pe, either pe's Adj-RIB-Out state for p equals the
//     out set of bestFor(pe, p) (nothing when that set cannot be sent to p), or pe is behind p's
//     marker in the change list, or p's table dump has not yet reached pe's routes.
//   - A prefix is in the change list at most once; markers are never adjacent; the list holds only
//     prefixes some session has not passed.
//   - A prefix entry exists while it has routes, Adj-RIB-Out entries or a change-list node.
//   - A session id is reused only after a walk has cleared its Adj-RIB-Out bits, and, for a member
//     restarting gracefully (gr.go), after its stale routes are gone: a departed session holds
//     routes only while stale, on its Peer's stale list, of the families it keeps; the current
//     incarnation's announcement or withdrawal of a prefix removes the stale route of it first.
//   - A derived (variant) set is its own out set and has no variants; its kind is derivedMark (0xff), so
//     no received set is ever equal to one. An out set holds one reference per cached variant
//     other than itself. A lazy variant (one that only adds informational communities) is found
//     only through its base's cache, never by lookup; it holds no reference on its base, and its
//     attrs is the base's, which lack those communities: what it is sent with comes from
//     attrTable.sending and sentAttrs, which build them.
//   - A read job holds integer cursors (slab slots, session indexes) and per-page caches only; it
//     never takes a reference on a set or changes a counter. A session's incarnation never repeats.
//   - A feed event is published only where the change is final, so a subscriber that applies the
//     events in order holds the RIB's Adj-RIB-In and Adj-RIB-Out (TestFeedLostResync).
//   - An ADD-PATH session keeps its best path in the shared Adj-RIB-Out like any session, and in its
//     own table, for every prefix it has passed, exactly pathsFor's paths: the candidates export
//     allows it, in decision order, at most its limit, each under the announcing session's id + 1.
//     It is never served in a cohort.
//   - A pending entry is sent only if the session's Adj-RIB-Out still holds its action; pending
//     holds at most Config.PendingMax entries plus one pull's worth.
//
// Memory per route is one route struct, one slot in the session slab and one pointer in the prefix's
// route list; per prefix one slab slot and one index slot, one prefixEntry and usually one or two Adj-RIB-Out entries
// whatever the number of members.
package rs
