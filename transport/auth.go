package transport

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
)

// An Authorizer decides whether a request may use the read API. Authorize
// returns nil to allow r, an error wrapping [ErrUnauthenticated] when r
// carries no valid credentials (answered 401), and any other error when the
// credentials are valid but not good enough (answered 403; the error is
// logged, not sent). r.PathValue("site") names the site the request reads,
// and r.PathValue("id") the session, if any.
//
// Authorize is called concurrently from many goroutines.
type Authorizer interface {
	Authorize(r *http.Request) error
}

// AuthorizerFunc adapts a function to [Authorizer]; the function is called
// concurrently.
type AuthorizerFunc func(r *http.Request) error

// Authorize calls f(r).
func (f AuthorizerFunc) Authorize(r *http.Request) error { return f(r) }

// ErrUnauthenticated reports a request without valid credentials.
var ErrUnauthenticated = errors.New("transport: missing or invalid credentials")

// BearerToken returns an Authorizer that allows requests with the header
// "Authorization: Bearer <token>". The comparison takes the same time
// whatever the token sent, and an empty token allows nothing. The returned
// Authorizer is safe for concurrent use.
func BearerToken(token string) Authorizer {
	if token == "" {
		return AuthorizerFunc(func(*http.Request) error { return ErrUnauthenticated })
	}
	want := sha256.Sum256([]byte(token))
	return AuthorizerFunc(func(r *http.Request) error {
		got, ok := bearer(r)
		if !ok {
			return ErrUnauthenticated
		}
		// Comparing digests hides the token's length too.
		sum := sha256.Sum256([]byte(got))
		if subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			return ErrUnauthenticated
		}
		return nil
	})
}

// bearer returns the token of an "Authorization: Bearer" header.
func bearer(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// authorized wraps a read API handler with the Authorizer.
func (h *handler) authorized(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a := h.opts.Authorizer
		if a == nil {
			writeError(w, http.StatusForbidden, "authorization: the read API is disabled (no Authorizer configured)")
			return
		}
		if err := a.Authorize(r); err != nil {
			if errors.Is(err, ErrUnauthenticated) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="replay"`)
				writeError(w, http.StatusUnauthorized, "authorization: want valid credentials, such as a bearer token")
				return
			}
			h.log.InfoContext(r.Context(), "replay: read refused", "path", r.URL.Path, "err", err)
			writeError(w, http.StatusForbidden, "authorization: forbidden")
			return
		}
		next(w, r)
	}
}
