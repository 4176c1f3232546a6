package lookingglass

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	legacyrouter "github.com/getkin/kin-openapi/routers/legacy"
)

// TestOpenAPI loads the embedded OpenAPI file, checks that it is a valid OpenAPI 3 document, and
// validates the real request and response of every /api/v1 endpoint of the golden set against it,
// errors included. Every path of the file must be exercised.
func TestOpenAPI(t *testing.T) {
	ctx := context.Background()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(OpenAPI())
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(ctx); err != nil {
		t.Fatalf("openapi.json is not valid OpenAPI 3: %v", err)
	}
	router, err := legacyrouter.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}

	h := newTestServer(t, newFake()).Handler()
	// The file served is the file embedded.
	if code, _, body := do(t, h, http.MethodGet, "/api/v1/openapi.json", "198.51.100.77:1"); code != 200 || !bytes.Equal(body, OpenAPI()) {
		t.Fatalf("/api/v1/openapi.json: status %d, %d bytes", code, len(body))
	}

	covered := map[string]bool{}
	eps := append([]endpoint(nil), endpoints...)
	eps = append(eps, endpoint{"starting", "/api/v1/sessions", 503})
	for _, ep := range eps {
		if !strings.HasPrefix(ep.path, "/api/v1/") || ep.name == "api-err-no-endpoint" {
			continue
		}
		f := newFake()
		f.notReady = ep.status == 503
		h := newTestServer(t, f).Handler()
		req := httptest.NewRequest(http.MethodGet, ep.path, nil)
		req.RemoteAddr = "198.51.100.77:40000"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != ep.status {
			t.Errorf("%s: status %d, want %d", ep.path, w.Code, ep.status)
		}

		vreq := httptest.NewRequest(http.MethodGet, "http://localhost"+ep.path, nil)
		route, pathParams, err := router.FindRoute(vreq)
		if err != nil {
			t.Errorf("%s: not in openapi.json: %v", ep.path, err)
			continue
		}
		covered[route.Path] = true
		in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: pathParams, Route: route}
		// What the file refuses, the server must refuse too. The server refuses more than a schema
		// can say (host bits in a prefix, a regular expression that does not compile).
		if reqErr := openapi3filter.ValidateRequest(ctx, in); reqErr != nil && w.Code != 400 {
			t.Errorf("%s: openapi.json refuses the request (%v), the server answered %d", ep.path, reqErr, w.Code)
		}
		body, _ := io.ReadAll(w.Result().Body)
		out := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: in,
			Status:                 w.Code,
			Header:                 w.Result().Header,
			Body:                   io.NopCloser(bytes.NewReader(body)),
			Options:                &openapi3filter.Options{IncludeResponseStatus: true},
		}
		if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
			t.Errorf("%s: response %d does not match openapi.json: %v\n%s", ep.path, w.Code, err, body)
		}
	}
	for path := range doc.Paths.Map() {
		if !covered[path] {
			t.Errorf("%s is in openapi.json but no test request reaches it", path)
		}
	}
}
