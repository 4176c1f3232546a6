package config

import (
	"encoding"
	"fmt"
	"math"
	"net/netip"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// This file turns the generic values the TOML library yields (map[string]any,
// []any, int64, string, bool, …) into a Config, collecting every problem
// instead of stopping at the first. toml.Decode into the struct directly would
// stop at the first wrongly typed value, and neither its errors nor
// MetaData.Undecoded can tell which [[member]] a key belongs to.

// scope is the key being decoded or validated, and how to name it in messages.
type scope struct {
	path   string // full key path, e.g. "member[1].neighbors[0]"
	prefix string // names the member for keys inside one: `member "Foo" (asn 64501): `
	rel    string // the key as printed after prefix: "neighbors[0]", or "server.asn"
}

func (s scope) child(key string) scope {
	return scope{path: joinPath(s.path, key), prefix: s.prefix, rel: joinPath(s.rel, key)}
}

func (s scope) index(i int) scope {
	return scope{path: indexPath(s.path, i), prefix: s.prefix, rel: indexPath(s.rel, i)}
}

// message is the key followed by what format says about it.
func (s scope) message(format string, args ...any) string {
	text := fmt.Sprintf(format, args...)
	if s.rel == "" { // the member itself: `member "Foo": must be a table`
		text = strings.TrimLeft(text, ": ")
	}
	return s.prefix + s.rel + text
}

// memberScope is the scope of member i, named by what is known of it.
func memberScope(i int, name string, asn int64) scope {
	label := fmt.Sprintf("member %q", name)
	if name == "" {
		label = fmt.Sprintf("member #%d", i+1)
	}
	if asn > 0 {
		label += fmt.Sprintf(" (asn %d)", asn)
	}
	return scope{path: indexPath("member", i), prefix: label + ": "}
}

// reporter collects problems with their lines.
type reporter struct {
	file string
	pos  positions
	errs Errors
	bad  map[string]bool // paths the decoder could not decode
}

// fail records a problem found while decoding. Validation does not report
// anything more about the same key or the keys inside it.
func (r *reporter) fail(sc scope, format string, args ...any) {
	if r.bad == nil {
		r.bad = make(map[string]bool)
	}
	r.bad[sc.path] = true
	r.add(sc, sc.message(format, args...))
}

// report records a validation problem: the key, then what format says.
// Write format as ` "value": problem` or `: problem`.
func (r *reporter) report(sc scope, format string, args ...any) {
	for p := sc.path; p != ""; p = parentPath(p) {
		if r.bad[p] {
			return // already reported as undecodable
		}
	}
	r.add(sc, sc.message(format, args...))
}

func (r *reporter) add(sc scope, msg string) {
	file := r.file
	if file == "" {
		file = "config"
	}
	r.errs = append(r.errs, &Error{File: file, Line: r.pos.line(sc.path), Key: sc.path, Msg: msg})
}

// decoder decodes generic TOML values into Go values by their toml tags.
type decoder struct{ r *reporter }

var (
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	durationType        = reflect.TypeFor[time.Duration]()
	memberType          = reflect.TypeFor[Member]()
	rangeType           = reflect.TypeFor[MemberRange]()
	defaulterType       = reflect.TypeFor[interface{ setDefaults() }]()
)

// value decodes v into rv, which is addressable. A value that cannot be
// decoded is reported and leaves rv as it was.
func (d *decoder) value(sc scope, v any, rv reflect.Value) {
	t := rv.Type()
	if t == durationType {
		s, ok := v.(string)
		if !ok {
			d.r.fail(sc, `: must be a duration string such as "30s" or "15m", not %s`, describe(v))
			return
		}
		dur, err := time.ParseDuration(s)
		if err != nil {
			d.r.fail(sc, ` %q: not a duration (write a number and a unit: "90s", "15m", "1h")`, s)
			return
		}
		rv.SetInt(int64(dur))
		return
	}
	if reflect.PointerTo(t).Implements(textUnmarshalerType) {
		s, ok := v.(string)
		if !ok {
			d.r.fail(sc, ": must be a string, not %s", describe(v))
			return
		}
		nv := reflect.New(t)
		if err := nv.Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
			d.r.fail(sc, " %q: %s", s, textProblem(t, err))
			return
		}
		rv.Set(nv.Elem())
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		// A policy override: present, so it is set.
		nv := reflect.New(t.Elem())
		n := len(d.r.errs)
		d.value(sc, v, nv.Elem())
		if len(d.r.errs) == n {
			rv.Set(nv)
		}
	case reflect.Struct:
		d.table(sc, v, rv)
	case reflect.Slice:
		d.slice(sc, v, rv)
	case reflect.Array:
		d.array(sc, v, rv)
	case reflect.String:
		s, ok := v.(string)
		if !ok {
			d.r.fail(sc, ": must be a string, not %s", describe(v))
			return
		}
		rv.SetString(s)
	case reflect.Bool:
		b, ok := v.(bool)
		if !ok {
			d.r.fail(sc, ": must be true or false, not %s", describe(v))
			return
		}
		rv.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := v.(int64)
		if !ok {
			d.r.fail(sc, ": must be an integer, not %s", describe(v))
			return
		}
		if rv.OverflowInt(n) {
			lim := int64(1)<<(t.Bits()-1) - 1
			d.r.fail(sc, " %d: out of range %d..%d", n, -lim-1, lim)
			return
		}
		rv.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, ok := v.(int64)
		if !ok {
			d.r.fail(sc, ": must be an integer, not %s", describe(v))
			return
		}
		if n < 0 || rv.OverflowUint(uint64(n)) {
			lim := uint64(math.MaxUint64)
			if t.Bits() < 64 {
				lim = uint64(1)<<t.Bits() - 1
			}
			d.r.fail(sc, " %d: out of range 0..%d", n, lim)
			return
		}
		rv.SetUint(uint64(n))
	case reflect.Float32, reflect.Float64:
		var f float64
		switch x := v.(type) {
		case float64:
			f = x
		case int64: // "pages = 5" is a rate as much as "pages = 5.0"
			f = float64(x)
		default:
			d.r.fail(sc, ": must be a number, not %s", describe(v))
			return
		}
		if math.IsNaN(f) || math.IsInf(f, 0) || rv.OverflowFloat(f) {
			d.r.fail(sc, " %v: not a finite number", f)
			return
		}
		rv.SetFloat(f)
	default:
		d.r.fail(sc, ": cannot be decoded into %s (a bug in package config)", t)
	}
}

// table decodes a TOML table into the struct rv; keys without a field are
// reported as unknown.
func (d *decoder) table(sc scope, v any, rv reflect.Value) {
	m, ok := v.(map[string]any)
	if !ok {
		d.r.fail(sc, ": must be a table, not %s", describe(v))
		return
	}
	fields := fieldsOf(rv.Type())
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		ks := sc.child(k)
		idx, ok := fields[k]
		if !ok {
			d.unknown(sc, ks, k, fields)
			continue
		}
		d.value(ks, m[k], rv.FieldByIndex(idx))
	}
}

// unknown reports an unknown key, with a hint when it looks like a known one.
func (d *decoder) unknown(parent, sc scope, key string, fields map[string][]int) {
	if d.r.bad == nil {
		d.r.bad = make(map[string]bool)
	}
	d.r.bad[sc.path] = true
	msg := fmt.Sprintf("%sunknown key %q", sc.prefix, sc.rel)
	if s := suggest(key, fields); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	} else if _, isPolicy := fieldsOf(reflect.TypeFor[Policy]())[key]; isPolicy && parent.path != "" {
		msg += " (policy keys go in [defaults] or in a [[member]])"
	}
	d.r.add(sc, msg)
}

// suggest returns the known key closest to key, if it is close enough to be
// a typo of it.
func suggest(key string, fields map[string][]int) string {
	limit := 2
	if len(key) < 5 {
		limit = 1
	}
	best, bestDist := "", limit+1
	for f := range fields {
		if d := editDistance(key, f); d < bestDist || d == bestDist && f < best {
			best, bestDist = f, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// slice decodes a TOML array into the slice rv, replacing what rv held.
func (d *decoder) slice(sc scope, v any, rv reflect.Value) {
	var elems []any
	switch a := v.(type) {
	case []any:
		elems = a
	case []map[string]any: // an array of tables, [[member]]
		elems = make([]any, len(a))
		for i := range a {
			elems[i] = a[i]
		}
	default:
		d.r.fail(sc, ": must be an array, not %s", describe(v))
		return
	}
	t := rv.Type()
	out := reflect.MakeSlice(t, len(elems), len(elems))
	for i, e := range elems {
		es := sc.index(i)
		if t.Elem() == memberType {
			name, _ := mapValue[string](e, "name")
			asn, _ := mapValue[int64](e, "asn")
			es = memberScope(i, name, asn)
		}
		if t.Elem() == rangeType {
			name, _ := mapValue[string](e, "name")
			es = rangeScope(i, name)
		}
		ev := out.Index(i)
		if reflect.PointerTo(t.Elem()).Implements(defaulterType) {
			ev.Addr().Interface().(interface{ setDefaults() }).setDefaults()
		}
		d.value(es, e, ev)
	}
	rv.Set(out)
}

// array decodes a TOML array of exactly the right length into the array rv.
// The only arrays in Config are [min, max] pairs.
func (d *decoder) array(sc scope, v any, rv reflect.Value) {
	a, ok := v.([]any)
	if !ok {
		d.r.fail(sc, ": must be an array of %d values, not %s", rv.Len(), describe(v))
		return
	}
	if len(a) != rv.Len() {
		d.r.fail(sc, ": must be a pair [min, max], not %d value%s", len(a), plural(len(a)))
		return
	}
	for i, e := range a {
		d.value(sc.index(i), e, rv.Index(i))
	}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// mapValue returns table[key] if table is a table and the value has type T.
func mapValue[T any](table any, key string) (T, bool) {
	m, _ := table.(map[string]any)
	v, ok := m[key].(T)
	return v, ok
}

// describe names the type of a generic TOML value, with the value when short.
func describe(v any) string {
	switch x := v.(type) {
	case string:
		if len(x) > 40 {
			return "a string"
		}
		return fmt.Sprintf("a string (%q)", x)
	case int64:
		return fmt.Sprintf("an integer (%d)", x)
	case float64:
		return fmt.Sprintf("a float (%s)", strconv.FormatFloat(x, 'g', -1, 64))
	case bool:
		return fmt.Sprintf("a boolean (%t)", x)
	case []any, []map[string]any:
		return "an array"
	case map[string]any:
		return "a table"
	case time.Time:
		return "a date-time"
	}
	return fmt.Sprintf("a %T", v) // toml.LocalDate and the like
}

// textProblem explains why a string did not parse as a value of type t.
func textProblem(t reflect.Type, err error) string {
	switch t {
	case reflect.TypeFor[netip.Addr]():
		return "not an IP address"
	case reflect.TypeFor[netip.AddrPort]():
		return `not an address:port (write "192.0.2.1:179" or "[2001:db8::1]:179")`
	case reflect.TypeFor[netip.Prefix]():
		return `not an IP prefix (write "192.0.2.0/24" or "2001:db8::/64")`
	}
	return err.Error()
}

// fieldCache holds fieldsOf's result per struct type. A configuration of 700 members decodes 700
// member tables, and building the map for each took 4.5 MB per load, on every SIGHUP.
var fieldCache sync.Map // reflect.Type -> map[string][]int

// fieldsOf maps the toml key names of struct type t to field indexes,
// flattening embedded structs without a tag as the TOML library does.
// The map is shared: callers must not modify it.
func fieldsOf(t reflect.Type) map[string][]int {
	if f, ok := fieldCache.Load(t); ok {
		return f.(map[string][]int)
	}
	f, _ := fieldCache.LoadOrStore(t, buildFields(t))
	return f.(map[string][]int)
}

func buildFields(t reflect.Type) map[string][]int {
	fields := make(map[string][]int)
	var walk func(t reflect.Type, index []int)
	walk = func(t reflect.Type, index []int) {
		for i := range t.NumField() {
			f := t.Field(i)
			idx := append(slices.Clone(index), i)
			name := tomlName(f)
			if f.Anonymous && f.Type.Kind() == reflect.Struct && f.Tag.Get("toml") == "" {
				walk(f.Type, idx)
				continue
			}
			if !f.IsExported() || name == "-" {
				continue
			}
			fields[name] = idx
		}
	}
	walk(t, nil)
	return fields
}

// tomlName is the key name of a struct field.
func tomlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
	if name == "" {
		return f.Name
	}
	return name
}
