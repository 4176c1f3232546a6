module github.com/ixrs/ixrs

go 1.26.8

require (
	github.com/BurntSushi/toml v1.6.0
	github.com/gaissmai/bart v0.30.0
	github.com/google/go-cmp v0.7.0
	github.com/osrg/gobgp/v3 v3.37.0
	golang.org/x/sys v0.49.0
)

require github.com/stretchr/testify v1.11.1 // indirect
