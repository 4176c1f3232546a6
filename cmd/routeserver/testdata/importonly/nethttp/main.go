// Command nethttp only imports net/http and waits (BenchmarkIdleRSS).
package main

import (
	_ "net/http"
	"time"
)

func main() { time.Sleep(time.Hour) }
