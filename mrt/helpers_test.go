package mrt

import "github.com/ixrs/ixrs/internal/rstest"

// The tests run a RIB and its members with internal/rstest.
const testTimeout = rstest.Timeout

var quiet = rstest.Quiet
