package transport_test

import (
	"bytes"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionreplay/replay/transport"
)

func TestMountedUnderPrefixNoAnswerLeavesTheMount(t *testing.T) {
	e := newEnv(t, nil)
	paths := []string{
		"/", "/v1/ingest", "/v1/ingest/", "/v1//ingest", "//v1/ingest", "/v1/./ingest", "/v1/x/../ingest",
		"/assets", "/assets/", "/assets/dashboard", "/assets/dashboard/", "/assets/dashboard/../recorder.js",
		"/v1", "/v1/", "/v1/sites", "/v1/sites/demo", "/v1/sites/demo/sessions/", "/v1/sites/demo/sessions/session-x-123/",
		"/index.html", "/nope", "/v1/recorder.js/",
	}
	for _, p := range paths {
		for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodDelete} {
			resp, body := e.do(method, p, nil, map[string]string{"Authorization": "Bearer " + testToken})
			if loc := resp.Header.Get("Location"); loc != "" {
				assert.True(t, strings.HasPrefix(loc, "/replay/") || strings.HasPrefix(loc, e.base+"/"),
					"%s /replay%s redirects out of the mount to %q", method, p, loc)
			}
			if resp.StatusCode >= 400 {
				errorOf(t, body) // every error is {"error": ...}
			}
		}
	}
}

// TestHandlerNeverRedirects checks that paths the ServeMux would redirect
// (not clean, or missing a trailing slash) are answered with a JSON 404.
func TestHandlerNeverRedirects(t *testing.T) {
	h := transport.NewHandler(newEnv(t, nil).rec, nil)
	for _, p := range []string{"", "v1/ingest", "//v1/ingest", "/v1/ingest/", "/assets", "/assets/dashboard",
		"/v1/x/../ingest", "/v1/sites/demo/sessions/"} {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.URL.Path = p
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		assert.Equal(t, http.StatusNotFound, w.Code, "%q", p)
		assert.Empty(t, w.Header().Get("Location"), "%q", p)
		errorOf(t, w.Body.Bytes())
	}
}

func TestRecorderJS(t *testing.T) {
	e := newEnv(t, nil)
	want, err := os.ReadFile("assets/recorder.js")
	require.NoError(t, err)
	resp, body := e.do(http.MethodGet, "/v1/recorder.js", nil, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/javascript; charset=utf-8", resp.Header.Get("Content-Type"))
	assert.Equal(t, "public, max-age=300", resp.Header.Get("Cache-Control"))
	assert.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))
	assert.True(t, bytes.Equal(want, body), "the answer is not assets/recorder.js")

	etag := resp.Header.Get("ETag")
	require.NotEmpty(t, etag)
	resp, _ = e.do(http.MethodGet, "/v1/recorder.js", nil, map[string]string{"If-None-Match": etag})
	assert.Equal(t, http.StatusNotModified, resp.StatusCode)
}

func TestDashboardFilesAndSecurityHeaders(t *testing.T) {
	e := newEnv(t, nil)
	files := map[string]string{"/": "assets/dashboard/index.html"}
	require.NoError(t, filepath.WalkDir("assets/dashboard", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files["/"+filepath.ToSlash(p)] = p
		}
		return err
	}))
	for path, file := range files {
		t.Run(path, func(t *testing.T) {
			want, err := os.ReadFile(file)
			require.NoError(t, err)
			resp, body := e.do(http.MethodGet, path, nil, nil)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			assert.True(t, bytes.Equal(want, body), "the answer is not %s", file)
			h := resp.Header
			switch filepath.Ext(file) {
			case ".html":
				assert.Equal(t, "text/html; charset=utf-8", h.Get("Content-Type"))
			case ".js":
				assert.Equal(t, "text/javascript; charset=utf-8", h.Get("Content-Type"))
			case ".css":
				assert.Equal(t, "text/css; charset=utf-8", h.Get("Content-Type"))
			}
			csp := h.Get("Content-Security-Policy")
			for _, d := range []string{
				"default-src 'none'",
				"script-src 'self' " + transport.DefaultRRWebPlayerURL + " " + transport.DefaultRRWebURL + ";",
				"style-src 'self' 'unsafe-inline' " + transport.DefaultRRWebPlayerCSSURL + ";",
				"object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "frame-src 'self' blob:",
				"connect-src 'self'",
			} {
				assert.Contains(t, csp, d)
			}
			assert.NotContains(t, csp, "unsafe-eval")
			assert.Equal(t, "nosniff", h.Get("X-Content-Type-Options"))
			assert.Equal(t, "no-referrer", h.Get("Referrer-Policy"))
			assert.Equal(t, "DENY", h.Get("X-Frame-Options"))
		})
	}
	resp, body := e.do(http.MethodGet, "/assets/dashboard/missing.js", nil, nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	errorOf(t, body)
	resp, _ = e.do(http.MethodGet, "/assets/recorder.js", nil, nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "only the dashboard is under /assets/")
}

func TestDashboardConfigAndPolicyFollowOptions(t *testing.T) {
	e := newEnv(t, &transport.Options{
		RRWebURL:          "/static/rrweb.umd.cjs",
		RRWebPlayerURL:    "https://assets.example/player/rrweb-player.umd.cjs?v=2",
		RRWebPlayerCSSURL: "/static/style.css",
		ConsolePluginURL:  "/static/console.cjs",
	})
	resp, body := e.do(http.MethodGet, "/v1/dashboard-config", nil, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	assert.JSONEq(t, `{"rrwebURL": "/static/rrweb.umd.cjs",
		"rrwebPlayerURL": "https://assets.example/player/rrweb-player.umd.cjs?v=2",
		"rrwebPlayerCSSURL": "/static/style.css", "consolePluginURL": "/static/console.cjs"}`, string(body))

	resp, _ = e.do(http.MethodGet, "/", nil, nil)
	csp := resp.Header.Get("Content-Security-Policy")
	assert.Contains(t, csp, "script-src 'self' https://assets.example/player/rrweb-player.umd.cjs;",
		"an absolute URL is allowed as exactly that file; a relative one is 'self'")
	assert.Contains(t, csp, "style-src 'self' 'unsafe-inline';")

	e = newEnv(t, &transport.Options{RRWebPlayerURL: "https://x.example/a.js; script-src *"})
	resp, _ = e.do(http.MethodGet, "/", nil, nil)
	assert.Contains(t, resp.Header.Get("Content-Security-Policy"), "script-src 'self' "+transport.DefaultRRWebURL+";",
		"a URL that would inject directives is left out")
}
