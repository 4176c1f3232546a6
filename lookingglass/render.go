package lookingglass

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ixrs/ixrs/web"
	"github.com/labstack/echo/v4"
)

// The web UI's rendering: the page frame, the template functions, and the views the templates read
// (plain values prepared by the handlers in pages.go, so that templates hold no logic beyond loops).

// pageFrame is what every page template gets: the frame (layout.html) reads the fields, the page's
// own content reads C.
type pageFrame struct {
	Title   string
	Name    string // the route server's name
	Version string
	Page    string // the navigation entry to mark current
	Banners []banner
	C       any
}

// banner is a loud line above the page: something is wrong with the route server as a whole.
type banner struct {
	Level string // "alarm" or "warn"
	Text  string
}

// pageTemplates are parsed once per process: the embedded files do not change.
var (
	pageTemplatesOnce sync.Once
	pageTemplates     map[string]*template.Template
	pageTemplatesErr  error
)

// pageNames are the page templates, each parsed together with layout.html.
var pageNames = []string{"overview", "sessions", "session", "route", "lookup", "search", "error"}

// templates returns the parsed page templates. The template functions read the looking glass's
// current settings through s, so one parse serves every Server (tests create several).
func (s *Server) templates() (map[string]*template.Template, error) {
	pageTemplatesOnce.Do(func() {
		pageTemplates, pageTemplatesErr = parsePages(web.Templates())
	})
	return pageTemplates, pageTemplatesErr
}

// parsePages parses each page with layout.html.
func parsePages(fsys fs.FS) (map[string]*template.Template, error) {
	out := make(map[string]*template.Template, len(pageNames))
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(templateFuncs(nil)).ParseFS(fsys, "layout.html", name+".html")
		if err != nil {
			return nil, fmt.Errorf("web template %s: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}

// templateFuncs are the functions the templates call. asnName needs the settings of the Server
// rendering; with s nil (at parse time) it names nothing, and render rebinds it.
func templateFuncs(s *Server) template.FuncMap {
	name := func(asn uint32) string {
		if s == nil {
			return ""
		}
		return s.set.Load().asnNames[asn]
	}
	return template.FuncMap{
		"asnName": name,
		"asnTitle": func(asn uint32) string {
			if n := name(asn); n != "" {
				return "AS" + strconv.FormatUint(uint64(asn), 10) + " " + n
			}
			return "AS" + strconv.FormatUint(uint64(asn), 10)
		},
		"num": formatCount,
	}
}

// render executes page name with the frame and writes it with status. The page is rendered into a
// buffer first, so that a template error becomes a clean 500 page rather than half a page.
func (s *Server) render(c echo.Context, status int, name string, f *pageFrame) error {
	ts, err := s.templates()
	if err != nil {
		return err
	}
	t, ok := ts[name]
	if !ok {
		return fmt.Errorf("no page template %q", name)
	}
	st := s.set.Load()
	if f.Name == "" {
		f.Name = st.name
	}
	if f.Name == "" {
		f.Name = "ixrs"
	}
	if f.Version == "" {
		v, _ := s.versionSeen.Load().(string) // "ixrs 1.2.3", as the compatibility shapes say it
		f.Version = strings.TrimPrefix(strings.TrimPrefix(v, "ixrs"), " ")
	}
	t, err = t.Clone()
	if err != nil {
		return err
	}
	t.Funcs(templateFuncs(s))
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", f); err != nil {
		return fmt.Errorf("page %s: %w", name, err)
	}
	setPageHeaders(c)
	return c.HTMLBlob(status, buf.Bytes())
}

// pageCSP allows nothing but this origin: no script, style, font or image from elsewhere, no inline
// script, and no framing. The pages need nothing more, and a browser then cannot be made to send a
// request beyond the looking glass whatever a member puts into a description.
const pageCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

func setPageHeaders(c echo.Context) {
	h := c.Response().Header()
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
}

// formatCount writes n with thousands separators: 170,000.
func formatCount(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// formatDuration is the short human form the pages and lg.js share: "2d 3h", "5h 12m", "4m 10s", "9s".
func formatDuration(d time.Duration) string {
	sec := int64(d / time.Second)
	if sec < 0 {
		sec = 0
	}
	days, h, m, s := sec/86400, sec%86400/3600, sec%3600/60, sec%60
	switch {
	case days > 0:
		return fmt.Sprintf("%dd %dh", days, h)
	case h > 0:
		return fmt.Sprintf("%dh %dm", h, m)
	case m > 0:
		return fmt.Sprintf("%dm %ds", m, s)
	}
	return fmt.Sprintf("%ds", s)
}

// formatTime is a time as pages show it: UTC, to the second; "never" for the zero time.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// staticHandler serves web.Static under /static/. The files are embedded, so they may be cached
// for a while; a new binary brings new ones and a reload of the page fetches them within an hour.
func staticHandler() echo.HandlerFunc {
	fsrv := http.StripPrefix("/static/", http.FileServer(http.FS(web.Static())))
	return func(c echo.Context) error {
		p := c.Request().URL.Path
		if strings.HasSuffix(p, "/") || len(c.QueryParams()) > 0 {
			return errNotFound("no such file")
		}
		if _, err := fs.Stat(web.Static(), strings.TrimPrefix(p, "/static/")); err != nil {
			return errNotFound("no such file")
		}
		h := c.Response().Header()
		h.Set("Cache-Control", "public, max-age=3600")
		h.Set("X-Content-Type-Options", "nosniff")
		fsrv.ServeHTTP(c.Response(), c.Request())
		return nil
	}
}
