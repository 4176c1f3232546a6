package config

import (
	"errors"
	"testing"
)

// FuzzParse checks that Parse never panics, that it fails only with *Errors,
// and that a configuration it accepts survives encoding with the TOML library
// and parsing again unchanged. Seeds: testdata/fuzz/FuzzParse (valid files,
// files with every kind of problem, syntax errors).
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.toml", data)
		if err != nil {
			var errs *Errors
			if !errors.As(err, &errs) || len(*errs) == 0 {
				t.Fatalf("error %T %v: want a non-empty *Errors", err, err)
			}
			for _, e := range *errs {
				if e.File != "fuzz.toml" || e.Line < 0 || e.Msg == "" {
					t.Fatalf("malformed problem %+v", e)
				}
			}
			if c != nil {
				t.Fatal("a config returned with an error")
			}
			return
		}
		roundTrip(t, c)
	})
}
