package demo_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionreplay/replay"
	"github.com/sessionreplay/replay/internal/demo"
	"github.com/sessionreplay/replay/storage/memstore"
)

func newServer(t *testing.T, token string) *demo.Server {
	t.Helper()
	sites, err := replay.NewStaticSites(&replay.Site{ID: "demo"})
	require.NoError(t, err)
	rec, err := replay.New(memstore.New(), sites, nil)
	require.NoError(t, err)
	srv, err := demo.NewServer(rec, &demo.Options{Token: token})
	require.NoError(t, err)
	return srv
}

func get(t *testing.T, h http.Handler, path, token string) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	body, _ := io.ReadAll(w.Result().Body)
	return w.Result(), string(body)
}

func TestServerRoutes(t *testing.T) {
	srv := newServer(t, "secret")
	tests := []struct {
		path, token string
		status      int
		ctype       string // prefix
		contains    string
	}{
		{path: "/", status: 200, ctype: "text/html", contains: `<script src="/replay/v1/recorder.js" data-site="demo" defer></script>`},
		{path: "/product/mug", status: 200, ctype: "text/html", contains: `id="search" class="replay-unmask"`},
		{path: "/checkout", status: 200, ctype: "text/html", contains: `id="card"`},
		{path: "/thanks", status: 200, ctype: "text/html", contains: "Thank you!"},
		{path: "/payment-frame", status: 200, ctype: "text/html", contains: "payment"},
		{path: "/static/shop.js", status: 200, ctype: "text/javascript", contains: "pushState"},
		{path: demo.RRWebPath, status: 200, ctype: "text/javascript"},
		{path: demo.RRWebPlayerPath, status: 200, ctype: "text/javascript"},
		{path: demo.RRWebPlayerCSS, status: 200, ctype: "text/css"},
		{path: demo.ConsolePluginPath, status: 200, ctype: "text/javascript"},
		{path: "/replay/v1/recorder.js", status: 200, ctype: "text/javascript", contains: "window.replay"},
		{path: "/replay/v1/config?site=demo", status: 200, ctype: "application/json", contains: `"rrwebURL":"` + demo.RRWebPath + `"`},
		{path: "/replay/v1/sites/demo/sessions", status: 401},
		{path: "/replay/v1/sites/demo/sessions", token: "secret", status: 200, contains: `"sessions"`},
		{path: "/go.mod", status: 404},
		{path: "/static/../demo.go", status: http.StatusTemporaryRedirect}, // to /demo.go, a 404
		{path: "/nope", status: 404},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			res, body := get(t, srv, tt.path, tt.token)
			assert.Equal(t, tt.status, res.StatusCode)
			assert.True(t, strings.HasPrefix(res.Header.Get("Content-Type"), tt.ctype), "Content-Type %q", res.Header.Get("Content-Type"))
			assert.Contains(t, body, tt.contains)
		})
	}
}

func TestServerWithoutTokenClosesReadAPI(t *testing.T) {
	res, _ := get(t, newServer(t, ""), "/replay/v1/sites/demo/sessions", "anything")
	assert.Equal(t, http.StatusForbidden, res.StatusCode)
}

func TestNewServerNeedsNodeModules(t *testing.T) {
	sites, err := replay.NewStaticSites(&replay.Site{ID: "demo"})
	require.NoError(t, err)
	rec, err := replay.New(memstore.New(), sites, nil)
	require.NoError(t, err)
	_, err = demo.NewServer(rec, &demo.Options{NodeModules: t.TempDir()})
	assert.ErrorContains(t, err, "npm ci")
}

func TestOrigins(t *testing.T) {
	tests := []struct {
		addr string
		want []string
	}{
		{"127.0.0.1:8080", []string{"http://localhost:8080", "http://127.0.0.1:8080"}},
		{":9000", []string{"http://localhost:9000", "http://127.0.0.1:9000"}},
		{"0.0.0.0:80", []string{"http://localhost:80", "http://127.0.0.1:80"}},
		{"localhost:8080", []string{"http://localhost:8080"}},
		{"[::1]:8080", []string{"http://localhost:8080", "http://[::1]:8080"}},
		{"shop.internal:8080", []string{"http://localhost:8080", "http://shop.internal:8080"}},
		{"no-port", nil},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, demo.Origins(tt.addr), tt.addr)
	}
}

func TestAllowOriginsAddsOnlyWhatIsMissing(t *testing.T) {
	s := &replay.Site{ID: "demo", Origins: []string{"http://127.0.0.1:8080"}}
	demo.AllowOrigins(s, "127.0.0.1:8080")
	assert.Equal(t, []string{"http://127.0.0.1:8080", "http://localhost:8080"}, s.Origins)
}
