// Command prometheus only imports the Prometheus client and waits (BenchmarkIdleRSS).
package main

import (
	"time"

	_ "github.com/prometheus/client_golang/prometheus"
)

func main() { time.Sleep(time.Hour) }
