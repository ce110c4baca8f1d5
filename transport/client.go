package transport

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/sessionreplay/replay"
	"github.com/sessionreplay/replay/storage"
)

// ClientOptions configure a [Client]. A nil *ClientOptions, or the zero value
// of a field, means the default. NewClient copies them; changing them
// afterwards has no effect on the Client.
type ClientOptions struct {
	// HTTPClient sends the requests; nil means a client with a 30 second
	// timeout per attempt.
	HTTPClient *http.Client
	// Token is the bearer token of the read API (Sessions, Session,
	// Events, Delete); "" sends no Authorization header.
	Token string
	// MaxAttempts bounds the attempts of one call, the first included; 0
	// means 5.
	MaxAttempts int
	// MinBackoff and MaxBackoff bound the wait between attempts, which
	// doubles from MinBackoff with random jitter; 0 means 100ms and 10s. A
	// Retry-After answer is honoured even when it is longer.
	MinBackoff, MaxBackoff time.Duration
	// UserAgent is sent with every request; "" means "replay-go-client".
	UserAgent string
}

// Client talks to a handler made by [NewHandler] over HTTP: it sends batches
// as a browser would, and reads, lists and deletes sessions through the read
// API. Calls that fail on the network, with 429 or with a 5xx status are
// retried with backoff; a retried batch is stored once (API.md).
//
// A Client is safe for concurrent use by multiple goroutines.
type Client struct {
	base string
	opts ClientOptions
}

// HTTPError is an answer of the server with an error status. Message is the
// server's explanation ({"error": ...}). errors.Is matches it to
// [storage.ErrNotFound] (404), [storage.ErrFull] (507) and
// [storage.ErrUnavailable] (503). It is a plain value, safe to share once
// returned.
type HTTPError struct {
	Status  int
	Message string
}

// Error returns the status and the server's message.
func (e *HTTPError) Error() string {
	return fmt.Sprintf("replay: %d %s: %s", e.Status, http.StatusText(e.Status), e.Message)
}

// Is reports whether the status means target.
func (e *HTTPError) Is(target error) bool {
	switch target {
	case storage.ErrNotFound:
		return e.Status == http.StatusNotFound
	case storage.ErrFull:
		return e.Status == http.StatusInsufficientStorage
	case storage.ErrUnavailable:
		return e.Status == http.StatusServiceUnavailable
	}
	return false
}

// NewClient returns a Client of the handler mounted at baseURL, such as
// "https://shop.example/replay".
func NewClient(baseURL string, opts *ClientOptions) *Client {
	c := &Client{base: strings.TrimRight(baseURL, "/")}
	if opts != nil {
		c.opts = *opts
	}
	if c.opts.HTTPClient == nil {
		c.opts.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if c.opts.MaxAttempts <= 0 {
		c.opts.MaxAttempts = 5
	}
	if c.opts.MinBackoff <= 0 {
		c.opts.MinBackoff = 100 * time.Millisecond
	}
	if c.opts.MaxBackoff <= 0 {
		c.opts.MaxBackoff = 10 * time.Second
	}
	c.opts.MaxBackoff = max(c.opts.MaxBackoff, c.opts.MinBackoff)
	if c.opts.UserAgent == "" {
		c.opts.UserAgent = "replay-go-client"
	}
	return c
}

var gzipWriters = sync.Pool{New: func() any { return gzip.NewWriter(nil) }}

// Send posts a batch, gzipped, to /v1/ingest and returns the server's
// answer. Errors: an [*HTTPError] for an answer with an error status once
// retries are exhausted (or at once for a 4xx other than 429), or the last
// network error. Cancelling ctx stops the retries, and a wait that would
// outlast ctx's deadline is not begun.
func (c *Client) Send(ctx context.Context, b *replay.Batch) (replay.Result, error) {
	raw, err := json.Marshal(b)
	if err != nil {
		return replay.Result{}, fmt.Errorf("replay: encode batch: %w", err)
	}
	var buf bytes.Buffer
	zw := gzipWriters.Get().(*gzip.Writer)
	zw.Reset(&buf)
	_, _ = zw.Write(raw) // writes to a bytes.Buffer do not fail
	_ = zw.Close()
	gzipWriters.Put(zw)
	body := buf.Bytes()

	var res replay.Result
	err = c.do(ctx, http.MethodPost, "/v1/ingest", nil, body, false, func(r io.Reader) error {
		return json.NewDecoder(r).Decode(&res)
	})
	return res, err
}

// Sessions lists the sessions of site that match q (q.Site is ignored); see
// API.md for the filters. Pass the returned Page.Next as q.Cursor for the
// next page.
func (c *Client) Sessions(ctx context.Context, site string, q storage.Query) (storage.Page, error) {
	var page storage.Page
	err := c.do(ctx, http.MethodGet, "/v1/sites/"+url.PathEscape(site)+"/sessions", queryValues(q), nil, true,
		func(r io.Reader) error { return json.NewDecoder(r).Decode(&page) })
	return page, err
}

// Session returns a session's metadata; an unknown session is an
// [*HTTPError] that matches [storage.ErrNotFound].
func (c *Client) Session(ctx context.Context, site, id string) (storage.Session, error) {
	var s storage.Session
	err := c.do(ctx, http.MethodGet, sessionPath(site, id), nil, nil, true,
		func(r io.Reader) error { return json.NewDecoder(r).Decode(&s) })
	return s, err
}

// Events returns a session's stored (masked) events in timestamp order, of
// one window when window is not "".
func (c *Client) Events(ctx context.Context, site, id, window string) ([]json.RawMessage, error) {
	var q url.Values
	if window != "" {
		q = url.Values{"window": {window}}
	}
	var events []json.RawMessage
	err := c.do(ctx, http.MethodGet, sessionPath(site, id)+"/events", q, nil, true,
		func(r io.Reader) error { return json.NewDecoder(r).Decode(&events) })
	return events, err
}

// Delete deletes a session. Deleting an unknown session is an [*HTTPError]
// that matches [storage.ErrNotFound], except when an earlier attempt of the
// same call may have deleted it.
func (c *Client) Delete(ctx context.Context, site, id string) error {
	attempts, err := c.try(ctx, http.MethodDelete, sessionPath(site, id), nil, nil, true, nil)
	if attempts > 1 && errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	return err
}

func sessionPath(site, id string) string {
	return "/v1/sites/" + url.PathEscape(site) + "/sessions/" + url.PathEscape(id)
}

// do sends one request, retrying as the Client documentation says, and
// decodes a successful answer's body with decode (if not nil).
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body []byte, auth bool, decode func(io.Reader) error) error {
	_, err := c.try(ctx, method, path, query, body, auth, decode)
	return err
}

// try is do that also says how many attempts it made.
func (c *Client) try(ctx context.Context, method, path string, query url.Values, body []byte, auth bool, decode func(io.Reader) error) (attempts int, err error) {
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	for attempt := 1; ; attempt++ {
		wait, err := c.once(ctx, method, u, body, auth, decode)
		if err == nil || wait < 0 || attempt >= c.opts.MaxAttempts || ctx.Err() != nil {
			return attempt, err
		}
		wait = max(wait, c.backoff(attempt))
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			return attempt, err // the next attempt would come too late
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return attempt, err
		case <-t.C:
		}
	}
}

// once makes one attempt. It returns wait < 0 when the error must not be
// retried, else the least time to wait before the next attempt (from
// Retry-After).
func (c *Client) once(ctx context.Context, method, u string, body []byte, auth bool, decode func(io.Reader) error) (time.Duration, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return -1, fmt.Errorf("replay: %w", err)
	}
	req.Header.Set("User-Agent", c.opts.UserAgent)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Content-Encoding", "gzip")
	}
	if auth && c.opts.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.opts.Token)
	}
	resp, err := c.opts.HTTPClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return -1, err
		}
		return 0, err // a network error: retry
	}
	defer resp.Body.Close()
	if resp.StatusCode < 300 {
		if decode == nil || resp.StatusCode == http.StatusNoContent {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
			return 0, nil
		}
		if err := decode(resp.Body); err != nil {
			return 0, fmt.Errorf("replay: %s %s: decode answer: %w", method, u, err)
		}
		return 0, nil
	}
	he := &HTTPError{Status: resp.StatusCode, Message: errorMessage(resp)}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode == http.StatusRequestTimeout,
		resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented:
		return retryAfter(resp.Header.Get("Retry-After")), he
	}
	return -1, he
}

// errorMessage reads the {"error": ...} of an error answer, or the start of
// whatever else the body holds.
func errorMessage(resp *http.Response) string {
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	var eb errorBody
	if json.Unmarshal(raw, &eb) == nil && eb.Error != "" {
		return eb.Error
	}
	s := strings.TrimSpace(string(raw))
	if s == "" {
		s = http.StatusText(resp.StatusCode)
	}
	return s
}

// retryAfter parses a Retry-After header: seconds or an HTTP date.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, time.Until(t))
	}
	return 0
}

// backoff is the wait after the given failed attempt: exponential from
// MinBackoff, capped at MaxBackoff, with full jitter in its upper half.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.opts.MinBackoff << min(attempt-1, 30)
	if d <= 0 || d > c.opts.MaxBackoff {
		d = c.opts.MaxBackoff
	}
	return d/2 + rand.N(d/2+1)
}
