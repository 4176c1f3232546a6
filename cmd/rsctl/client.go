package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ixrs/ixrs/admin"
)

// client talks the admin protocol (docs/admin.md) over the unix socket or a TCP URL.
type client struct {
	base  string // "http://ixrs" for the socket, or the URL
	token string
	hc    *http.Client
}

// maxResponse bounds an answer read from the route server.
const maxResponse = 256 << 20

// errUnreachable wraps failures to talk to the route server at all (exit code 3).
var errUnreachable = errors.New("cannot reach the route server")

// serverError is an answer with an error status (exit code 1).
type serverError struct {
	status int
	body   admin.Error
}

func (e *serverError) Error() string { return e.body.Error }

func newClient(socket, rawURL, token string, timeout time.Duration) *client {
	c := &client{token: token}
	if rawURL != "" {
		c.base = strings.TrimRight(rawURL, "/")
		c.hc = &http.Client{Timeout: timeout}
		return c
	}
	c.base = "http://ixrs"
	c.hc = &http.Client{Timeout: timeout, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
	}}
	return c
}

// call makes one request and decodes the answer into out (when not nil); raw is the answer's body.
func (c *client) call(method, path string, q url.Values, body []byte, out any) (raw []byte, err error) {
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errUnreachable, err)
	}
	defer resp.Body.Close()
	raw, err = io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errUnreachable, err)
	}
	if resp.StatusCode/100 != 2 {
		se := &serverError{status: resp.StatusCode}
		if json.Unmarshal(raw, &se.body) != nil || se.body.Error == "" {
			return raw, fmt.Errorf("%w: HTTP %d: %.200s", errUnreachable, resp.StatusCode, raw)
		}
		return raw, se
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return raw, fmt.Errorf("%w: unexpected answer: %v", errUnreachable, err)
		}
	}
	return raw, nil
}

func (c *client) get(path string, q url.Values, out any) ([]byte, error) {
	return c.call(http.MethodGet, path, q, nil, out)
}

func (c *client) post(path string, q url.Values, in, out any) ([]byte, error) {
	var body []byte
	switch v := in.(type) {
	case []byte:
		body = v
	default:
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = b
	}
	return c.call(http.MethodPost, path, q, body, out)
}
