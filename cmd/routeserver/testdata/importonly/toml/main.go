// Command toml only imports the TOML decoder and waits (BenchmarkIdleRSS).
package main

import (
	"time"

	_ "github.com/BurntSushi/toml"
)

func main() { time.Sleep(time.Hour) }
