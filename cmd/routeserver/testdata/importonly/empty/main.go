// Command empty imports nothing and waits: the least a Go program is resident (BenchmarkIdleRSS).
package main

import "time"

func main() { time.Sleep(time.Hour) }
