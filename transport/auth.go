package transport

import (
	"context"
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

// A PrincipalAuthorizer is an [Authorizer] that also names who is asking:
// AuthorizePrincipal returns the principal (a user name, an e-mail
// address, a token's label) of an allowed request, with the errors of
// Authorize. The read API records the principal with each read of a
// session's events, which GET /v1/sites/{site}/sessions/{id}/views lists
// ("who viewed this replay"). An Authorizer that does not implement it
// still works: its reads are recorded with the principal "".
//
// AuthorizePrincipal is called concurrently from many goroutines.
type PrincipalAuthorizer interface {
	Authorizer
	AuthorizePrincipal(r *http.Request) (principal string, err error)
}

// PrincipalFunc adapts a function to [PrincipalAuthorizer]: it allows a
// request when the function returns a nil error, and names the principal
// it returns. The function is called concurrently.
type PrincipalFunc func(r *http.Request) (string, error)

// Authorize calls f(r) and returns its error.
func (f PrincipalFunc) Authorize(r *http.Request) error {
	_, err := f(r)
	return err
}

// AuthorizePrincipal calls f(r).
func (f PrincipalFunc) AuthorizePrincipal(r *http.Request) (string, error) { return f(r) }

// BearerPrincipal is the principal [BearerToken] names: everyone who holds
// the token is the same reader.
const BearerPrincipal = "bearer token"

// ErrUnauthenticated reports a request without valid credentials.
var ErrUnauthenticated = errors.New("transport: missing or invalid credentials")

// BearerToken returns an Authorizer that allows requests with the header
// "Authorization: Bearer <token>". The comparison takes the same time
// whatever the token sent, and an empty token allows nothing. The returned
// Authorizer is a [PrincipalAuthorizer] whose principal is always
// [BearerPrincipal]; it is safe for concurrent use.
func BearerToken(token string) Authorizer {
	if token == "" {
		return PrincipalFunc(func(*http.Request) (string, error) { return "", ErrUnauthenticated })
	}
	want := sha256.Sum256([]byte(token))
	return PrincipalFunc(func(r *http.Request) (string, error) {
		got, ok := bearer(r)
		if !ok {
			return "", ErrUnauthenticated
		}
		// Comparing digests hides the token's length too.
		sum := sha256.Sum256([]byte(got))
		if subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			return "", ErrUnauthenticated
		}
		return BearerPrincipal, nil
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

// principalKey is the context key of the principal of an authorized
// request.
type principalKey struct{}

// principalOf returns the principal the Authorizer named for r, or "".
func principalOf(r *http.Request) string {
	p, _ := r.Context().Value(principalKey{}).(string)
	return p
}

// authorized wraps a read API handler with the Authorizer. The principal it
// names, if any, is in the request's context (see principalOf).
func (h *handler) authorized(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a := h.opts.Authorizer
		if a == nil {
			writeError(w, http.StatusForbidden, "authorization: the read API is disabled (no Authorizer configured)")
			return
		}
		var principal string
		var err error
		if pa, ok := a.(PrincipalAuthorizer); ok {
			principal, err = pa.AuthorizePrincipal(r)
		} else {
			err = a.Authorize(r)
		}
		if err != nil {
			if errors.Is(err, ErrUnauthenticated) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="replay"`)
				writeError(w, http.StatusUnauthorized, "authorization: want valid credentials, such as a bearer token")
				return
			}
			h.log.InfoContext(r.Context(), "replay: read refused", "path", r.URL.Path, "err", err)
			writeError(w, http.StatusForbidden, "authorization: forbidden")
			return
		}
		if principal != "" {
			r = r.WithContext(context.WithValue(r.Context(), principalKey{}, principal))
		}
		next(w, r)
	}
}
