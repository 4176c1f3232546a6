package config

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Error is one problem found in a configuration: a syntax error, an unknown
// key, a value of the wrong type or a value that fails validation.
type Error struct {
	File string // the name given to Parse or the path given to Load
	Line int    // 1-based; 0 when the problem has no place in the file (a missing table)
	Col  int    // 1-based; set for syntax errors only
	Key  string // key path, e.g. "server.asn" or "member[2].neighbors[1]"; "" for syntax errors
	Msg  string // what is wrong, already prefixed with the member it concerns
}

// Error formats the problem as "file:line: message" (or "file:line:col:" for
// syntax errors, "file:" when the line is unknown), the form editors and CI
// annotations understand.
func (e *Error) Error() string {
	switch {
	case e.Line > 0 && e.Col > 0:
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Errors is every problem found in one configuration, ordered by line.
// Parse, Load and Validate return a non-empty *Errors for any problem in the
// configuration itself; print each element on its own line.
type Errors []*Error

// Error joins the problems, one per line.
func (es *Errors) Error() string {
	if es == nil || len(*es) == 0 {
		return "no errors"
	}
	var b strings.Builder
	for i, e := range *es {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap returns the problems as a slice of errors, for errors.Is and errors.As.
func (es *Errors) Unwrap() []error {
	if es == nil {
		return nil
	}
	out := make([]error, len(*es))
	for i, e := range *es {
		out[i] = e
	}
	return out
}

// sort orders the problems by line; problems without a line come last.
// The sort is stable, so problems on one line keep the order they were found in.
func (es Errors) sort() {
	slices.SortStableFunc(es, func(a, b *Error) int {
		la, lb := a.Line, b.Line
		if la == 0 {
			la = int(^uint(0) >> 1)
		}
		if lb == 0 {
			lb = int(^uint(0) >> 1)
		}
		return cmp.Or(cmp.Compare(la, lb), cmp.Compare(a.Col, b.Col))
	})
}

// errorsOrNil returns nil for no problems, so that a nil *Errors is never
// returned as a non-nil error interface.
func errorsOrNil(es Errors) error {
	if len(es) == 0 {
		return nil
	}
	es.sort()
	return &es
}
