// Command all imports together the five libraries that the commands beside it import one each, and
// waits (BenchmarkIdleRSS).
package main

import (
	_ "net/http"
	"time"

	_ "github.com/BurntSushi/toml"
	_ "github.com/labstack/echo/v4"
	_ "github.com/osrg/gobgp/v3/pkg/packet/bgp"
	_ "github.com/prometheus/client_golang/prometheus"
)

func main() { time.Sleep(time.Hour) }
