// Package web holds the looking glass's web UI: HTML templates, one style sheet and two small
// scripts, embedded in the binary with go:embed. Nothing is loaded from elsewhere (no CDN, no web
// fonts) and nothing needs building: the files here are what the browser gets. Package lookingglass
// parses the templates and serves the static files.
package web

import (
	"embed"
	"io/fs"
)

//go:embed templates/*.html
var templates embed.FS

//go:embed static
var static embed.FS

// Templates returns the HTML templates (html/template syntax), one file per page plus layout.html,
// which defines the frame every page shares and the partials they use.
func Templates() fs.FS {
	sub, err := fs.Sub(templates, "templates")
	if err != nil {
		panic(err) // the directory is embedded above: unreachable
	}
	return sub
}

// Static returns the style sheet, scripts and icon, served under /static/.
func Static() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the directory is embedded above: unreachable
	}
	return sub
}
