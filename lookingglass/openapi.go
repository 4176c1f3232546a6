package lookingglass

import (
	_ "embed"
	"net/http"

	"github.com/labstack/echo/v4"
)

// openAPISpec describes /api/v1; TestOpenAPI validates real responses of every endpoint against it.
//
//go:embed openapi.json
var openAPISpec []byte

// OpenAPI returns the OpenAPI 3 description of /api/v1.
func OpenAPI() []byte { return append([]byte(nil), openAPISpec...) }

func (s *Server) openAPI(c echo.Context) error {
	if err := query(c); err != nil {
		return err
	}
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, openAPISpec)
}
