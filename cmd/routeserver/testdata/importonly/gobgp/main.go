// Command gobgp only imports gobgp's packet codec and waits (BenchmarkIdleRSS).
package main

import (
	"time"

	_ "github.com/osrg/gobgp/v3/pkg/packet/bgp"
)

func main() { time.Sleep(time.Hour) }
