package lookingglass

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"

	"github.com/labstack/echo/v4"
)

// maxPooledJSON is the largest buffer kept for reuse; a bigger answer's buffer is left to the GC.
const maxPooledJSON = 1 << 20

var jsonBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// writeJSON writes v as the whole answer in one piece. Encoding into a reused buffer first sends a
// page with its Content-Length in one write, where encoding into the response sent it in 4 kB
// chunks, one system call each; and an encoding failure is then a clean error, not half a body. Only
// for bounded answers (a page holds at most 1,000 routes): the whole-table compatibility lists
// stream through c.JSON.
func writeJSON(c echo.Context, status int, v any) error {
	buf := jsonBufs.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= maxPooledJSON {
			jsonBufs.Put(buf)
		}
	}()
	if err := json.NewEncoder(buf).Encode(v); err != nil {
		return err
	}
	return writeBody(c, status, buf.Bytes())
}

// writeBody writes b as the whole answer, of JSON, with its Content-Length.
func writeBody(c echo.Context, status int, b []byte) error {
	w := c.Response()
	w.Header().Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	w.Header().Set(echo.HeaderContentLength, strconv.Itoa(len(b)))
	w.WriteHeader(status)
	if c.Request().Method == http.MethodHead {
		return nil
	}
	_, err := w.Write(b)
	return err
}
