package rs

import "unsafe"

// The change list is the route server's outbound work queue, shared by every session.
//
// A prefix whose candidate routes changed is moved to the tail of the list. Each established
// session sits at a marker in the list: every prefix before its marker has been reconciled for that
// session (its Adj-RIB-Out state brought in line with the current best route for it), every prefix
// after it may still need work. A session pulls from its marker when its socket can take more, and
// prefixes in front of every marker leave the list.
//
// A prefix is in the list at most once however often it changes (a change moves it, and with it
// behind every marker), so the list is bounded by the number of prefixes, not by churn, and it is
// shared: a thousand slow members cost one list, not a thousand queues. Announce, withdraw,
// announce of one prefix inside one burst is one visit per session, which then sends the final
// state once (or nothing, if the final state is what the session already has).
//
// Sessions at the same position share one marker, and two markers are never adjacent (they are
// merged when the prefixes between them leave), so "does this session have work" is one pointer
// comparison and advancing is O(1) even with a thousand sessions caught up at the tail.

// clNode is a change-list node. It is the first field of a prefixEntry or of a listHead (the
// list's sentinel, and a marker's node), and the byte after it tells which: a listHead's fi is
// headFam, an entry's its family. So a node needs no pointer back to its entry (8 bytes of every
// prefix).
type clNode struct {
	prev, next *clNode
}

// listHead is the change list's sentinel, and the first field of a marker.
type listHead struct {
	node clNode
	fi   famIdx // headFam
}

// headFam is the fi of a listHead, which no prefix entry has.
const headFam famIdx = 0xff

func (n *clNode) linked() bool { return n.next != nil }

// entry returns the prefix entry n is the node of, or nil for the sentinel or a marker.
func (n *clNode) entry() *prefixEntry {
	if (*listHead)(unsafe.Pointer(n)).fi == headFam {
		return nil
	}
	return (*prefixEntry)(unsafe.Pointer(n))
}

// marker is the position of one or more sessions in the change list.
type marker struct {
	head  listHead // must be first (changeList.markerOf)
	peers []*session
	pass  uint64 // the loop pass that last served it as a cohort (cohort.go)
}

// changeList is a circular doubly-linked list with a sentinel.
type changeList struct {
	root    listHead
	len     int // prefix nodes in the list
	markers int
	spare   []*marker // markers no session uses any more: every cohort pull moves its sessions to a new one
}

// end returns the sentinel's node, where a walk of the list stops.
func (l *changeList) end() *clNode { return &l.root.node }

// markerOf returns the marker whose node n is, or nil for a prefix node or the sentinel.
func (l *changeList) markerOf(n *clNode) *marker {
	if n == l.end() || n.entry() != nil {
		return nil
	}
	return (*marker)(unsafe.Pointer(n))
}

func (l *changeList) init() {
	l.root.fi = headFam
	l.root.node.next, l.root.node.prev = l.end(), l.end()
}

func (l *changeList) insertAfter(n, at *clNode) {
	n.prev, n.next = at, at.next
	at.next.prev = n
	at.next = n
}

func (l *changeList) unlinkNode(n *clNode) {
	n.prev.next, n.next.prev = n.next, n.prev
	n.prev, n.next = nil, nil
}

// remove takes prefix node n out of the list, merging the markers on either side.
func (l *changeList) remove(n *clNode) {
	prev, next := n.prev, n.next
	l.unlinkNode(n)
	l.len--
	if a, b := l.markerOf(prev), l.markerOf(next); a != nil && b != nil {
		for _, p := range b.peers {
			p.mkIdx = len(a.peers)
			p.mk = a
			a.peers = append(a.peers, p)
		}
		b.peers = b.peers[:0]
		l.unlinkMarker(b)
		l.recycle(b)
	}
}

// unlinkMarker takes marker mk out of the list.
func (l *changeList) unlinkMarker(mk *marker) {
	l.unlinkNode(&mk.head.node)
	l.markers--
}

// recycle keeps an unlinked, empty marker for reuse (a few: sessions rarely sit at many positions).
func (l *changeList) recycle(mk *marker) {
	clear(mk.peers[:cap(mk.peers)])
	mk.peers = mk.peers[:0]
	mk.pass = 0
	if len(l.spare) < 64 && cap(mk.peers) <= 1024 {
		l.spare = append(l.spare, mk)
	}
}

// touch moves prefix node n to the tail: behind every session's marker.
func (l *changeList) touch(n *clNode) {
	if n.linked() {
		if l.root.node.prev == n {
			return
		}
		l.remove(n)
	}
	l.insertAfter(n, l.root.node.prev)
	l.len++
}

// attach places p right after node at, joining the marker already there (or at itself, if at is a
// marker) so that markers never touch.
func (l *changeList) attach(p *session, at *clNode) {
	mk := l.markerOf(at)
	if mk == nil {
		mk = l.markerOf(at.next)
	}
	if mk == nil {
		if n := len(l.spare); n > 0 {
			mk = l.spare[n-1]
			l.spare = l.spare[:n-1]
		} else {
			mk = &marker{head: listHead{fi: headFam}}
		}
		l.insertAfter(&mk.head.node, at)
		l.markers++
	}
	p.mk, p.mkIdx = mk, len(mk.peers)
	mk.peers = append(mk.peers, p)
}

// detach removes p from its marker, dropping the marker when p was its last session.
func (l *changeList) detach(p *session) {
	mk := p.mk
	if mk == nil {
		return
	}
	last := len(mk.peers) - 1
	moved := mk.peers[last]
	mk.peers[p.mkIdx] = moved
	moved.mkIdx = p.mkIdx
	mk.peers[last] = nil
	mk.peers = mk.peers[:last]
	p.mk = nil
	if len(mk.peers) == 0 {
		l.unlinkMarker(mk)
		l.recycle(mk)
	}
}

// attachTail places p behind every change: a session that starts with a full table dump has no use
// for the changes before it.
func (l *changeList) attachTail(p *session) { l.attach(p, l.root.node.prev) }

// next returns the prefix node after p's marker, or nil when p has seen every change.
func (l *changeList) next(p *session) *clNode {
	if n := p.mk.head.node.next; n != l.end() {
		return n
	}
	return nil
}

// advance moves p to just after n, a prefix node behind its marker.
func (l *changeList) advance(p *session, n *clNode) {
	mk := p.mk
	if len(mk.peers) == 1 && l.markerOf(n.next) == nil {
		// p is alone and nobody waits after n: move its marker instead of making a new one.
		l.unlinkNode(&mk.head.node)
		l.insertAfter(&mk.head.node, n)
		return
	}
	l.detach(p)
	l.attach(p, n)
}

// front returns the first node if it is a prefix node that every session has passed, or nil.
func (l *changeList) front() *clNode {
	if n := l.root.node.next; n != l.end() && n.entry() != nil {
		return n
	}
	return nil
}
