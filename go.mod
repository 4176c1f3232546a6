module github.com/ixrs/ixrs

go 1.26.8

require (
	github.com/BurntSushi/toml v1.6.0
	github.com/gaissmai/bart v0.30.0
	github.com/google/go-cmp v0.7.0
	github.com/osrg/gobgp/v3 v3.37.0
	golang.org/x/sys v0.49.0
)

require (
	github.com/getkin/kin-openapi v0.153.0 // indirect
	github.com/labstack/echo/v4 v4.16.6 // indirect
	github.com/labstack/gommon v0.5.0 // indirect
	github.com/mattn/go-colorable v0.1.15 // indirect
	github.com/mattn/go-isatty v0.0.22 // indirect
	github.com/stretchr/testify v1.11.1 // indirect
	github.com/valyala/bytebufferpool v1.0.0 // indirect
	github.com/valyala/fasttemplate v1.2.2 // indirect
	golang.org/x/crypto v0.57.0 // indirect
	golang.org/x/net v0.60.0 // indirect
	golang.org/x/text v0.42.0 // indirect
	golang.org/x/time v0.16.0 // indirect
)
