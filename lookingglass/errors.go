package lookingglass

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
)

// apiError is an error with its HTTP status and a stable code for clients to branch on.
type apiError struct {
	status     int
	code       string
	msg        string
	retryAfter int // seconds, for 429 and 503
}

func (e *apiError) Error() string { return e.msg }

func errNotFound(msg string) error {
	return &apiError{status: http.StatusNotFound, code: "not_found", msg: msg}
}

// ErrorBody is the JSON of every /api/v1 error: {"error": {"code", "message"}}.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the error itself. Codes: bad_request (400), not_found (404), method_not_allowed
// (405), stale_cursor (409), rate_limited (429), internal (500), starting (503), busy (503: at
// max_concurrent), timeout (504).
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// classify maps an error from a handler or the Backend to an apiError.
func classify(err error) *apiError {
	var ae *apiError
	var pe *ParamError
	var he *echo.HTTPError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &pe):
		return &apiError{status: http.StatusBadRequest, code: "bad_request", msg: pe.Error()}
	case errors.Is(err, ErrNotReady):
		return &apiError{status: http.StatusServiceUnavailable, code: "starting", msg: "the route server is starting", retryAfter: 5}
	case errors.Is(err, ErrUnknownNeighbor):
		return &apiError{status: http.StatusNotFound, code: "not_found", msg: "no such session"}
	case errors.Is(err, ErrNoRoute):
		return &apiError{status: http.StatusNotFound, code: "not_found", msg: "no such route"}
	case errors.Is(err, ErrStaleCursor):
		return &apiError{status: http.StatusConflict, code: "stale_cursor", msg: "the cursor is no longer valid: start again from the first page"}
	case errors.Is(err, context.DeadlineExceeded):
		return &apiError{status: http.StatusGatewayTimeout, code: "timeout", msg: "the route server did not answer in time"}
	case errors.As(err, &he):
		switch he.Code {
		case http.StatusNotFound:
			return &apiError{status: he.Code, code: "not_found", msg: "no such path"}
		case http.StatusMethodNotAllowed:
			return &apiError{status: he.Code, code: "method_not_allowed", msg: "the looking glass is read-only"}
		}
		return &apiError{status: he.Code, code: strings.ReplaceAll(strings.ToLower(http.StatusText(he.Code)), " ", "_"), msg: http.StatusText(he.Code)}
	}
	return &apiError{status: http.StatusInternalServerError, code: "internal", msg: "internal error"}
}

// errorHandler writes errors: {"error": {"code", "message"}} under /api/v1 and Bird's Eye, and
// {"error": "message"} in the birdwatcher and bgplgd shapes, which is what their clients read.
func (s *Server) errorHandler(err error, c echo.Context) {
	ae := classify(err)
	if ae.status == http.StatusInternalServerError {
		s.log.Error("looking glass request failed", "path", c.Request().URL.Path, "err", err)
	}
	if c.Response().Committed {
		return
	}
	if ae.retryAfter > 0 {
		c.Response().Header().Set("Retry-After", strconv.Itoa(ae.retryAfter))
	}
	p := c.Request().URL.Path
	var werr error
	if isPagePath(p) {
		werr = s.pageError(c, ae)
	} else if strings.HasPrefix(p, "/birdwatcher/") || strings.HasPrefix(p, "/bgplgd/") {
		werr = c.JSON(ae.status, map[string]string{"error": ae.msg})
	} else {
		werr = c.JSON(ae.status, ErrorBody{ErrorDetail{Code: ae.code, Message: ae.msg}})
	}
	if werr != nil {
		s.log.Debug("looking glass: writing an error failed", "err", werr)
	}
}
