// Command echo only imports echo and waits (BenchmarkIdleRSS).
package main

import (
	"time"

	_ "github.com/labstack/echo/v4"
)

func main() { time.Sleep(time.Hour) }
