package rs

import (
	"github.com/ixrs/ixrs/policy"
	"github.com/ixrs/ixrs/speaker"
)

// Per-target and per-route variants of an outgoing attribute set (docs/architecture.md, design choice 2, refined).
// What a member receives is the route's out set, plus informational communities for the route's
// validation state (policy.Info), plus what the control communities ask for toward that member
// (policy.Variant: prepend, NO_EXPORT, NO_ADVERTISE). Each distinct combination is interned once as
// a derived set with its own cached encodings, and the out set keeps a small cache from
// (info, variant) to it, so that the per-member work stays a lookup and the bytes are encoded once
// per combination, not once per member.

// varEntry is one cached variant of an out set.
type varEntry struct {
	key uint16 // info<<4 | variant
	set *attrSet
}

// variant returns the set to send for out with the route's validation state and the target's
// variant: out itself when nothing differs.
func (t *attrTable) variant(out *attrSet, info policy.Info, v policy.Variant) *attrSet {
	if !t.gshut && (info == 0 && v == 0 || t.vexport == nil) {
		return out
	}
	k := t.variantKey(info, v)
	o := out.sent()
	for _, e := range o.variants() {
		if e.key == k {
			return e.set
		}
	}
	sent := t.sentAttrs(out)
	var a *speaker.Attrs
	if t.vexport != nil && (info != 0 || v != 0) {
		a = t.vexport.Variant(sent, info, v)
	}
	if t.gshut {
		base := sent
		if a != nil {
			base = a
		}
		if g := gshutAttrs(base); g != nil {
			a = g
		}
	}
	set := out
	switch {
	case a == nil:
	case v == 0 && !t.gshut:
		// Only informational communities differ: a lazy variant, built when it is encoded or
		// shown, instead of a copy of the attributes kept for as long as the set lives.
		set = t.lazyVariant(out, k)
	default:
		set = t.internDerived(a) // the cache entry holds this reference
	}
	m := o.extra()
	m.vars = append(m.vars, varEntry{k, set})
	return set
}

// variantKey is the variant cache key: info<<4 | variant, with gshutKey while graceful shutdown
// is on (gshut.go).
func (t *attrTable) variantKey(info policy.Info, v policy.Variant) uint16 {
	k := uint16(info)<<4 | uint16(v)
	if t.gshut {
		k |= gshutKey
	}
	return k
}

// derivedMark is the kind of a derived set. A received set's kind is its export profile id (at
// most maxProfiles), so a member can never announce attributes that intern to a
// derived set: derived sets carry informational communities that would be scrubbed from a
// received one.
const derivedMark = 0xff

// internDerived interns a derived set: one that is only ever sent, never received, so it has no
// export summary and is its own out set.
func (t *attrTable) internDerived(a *speaker.Attrs) *attrSet {
	s, h := t.lookup(derivedMark, a)
	if s != nil {
		t.ref(s)
		return s
	}
	s = &attrSet{attrs: a, refs: 1, kind: derivedMark}
	t.refs++
	t.file(s, h)
	s.out = s
	t.derived++
	return s
}

// lazyVariant files a lazy variant of out under key k (setOut.base) with one reference, for the
// cache entry. It is not interned: out's variant cache is the only way to it, and out's
// attributes with different informational communities are different attributes, so no other out
// set has an equal variant. Its hash only places it in the table (lookup passes over it).
func (t *attrTable) lazyVariant(out *attrSet, k uint16) *attrSet {
	s := &attrSet{attrs: out.attrs, refs: 1, kind: derivedMark}
	s.setOut = &setOut{base: out, vkey: k}
	s.out = s
	t.refs++
	t.file(s, (out.hash^uint64(k))*0x9e3779b97f4a7c15)
	t.derived++
	t.lazies++
	return s
}

// lazyAttrs builds the attributes lazy variant s is sent with: its base's, as sent, through the
// variant policy with the key's informational state. The result is s's own (a new copy).
func (t *attrTable) lazyAttrs(s *attrSet) *speaker.Attrs {
	o := s.setOut
	a := t.vexport.Variant(t.sending(o.base), policy.Info(o.vkey>>4), policy.Variant(o.vkey&0xf))
	if a == nil { // cannot happen: the set was made only when the policy added something
		return t.sentAttrs(o.base)
	}
	return a
}
