package transport

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/json"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"
)

// The browser files: our recorder and the dashboard (index.html and the
// files it loads, served under /assets/dashboard/).
//
//go:embed assets/recorder.js assets/dashboard
var assetFS embed.FS

// asset is one embedded file, ready to serve.
type asset struct {
	body  []byte
	etag  string
	ctype string
}

// assets holds the embedded files and what the dashboard answers carry.
type assets struct {
	recorder  asset
	dashboard map[string]asset // by path relative to assets/, "dashboard/app.js"
	config    []byte           // the JSON of /v1/dashboard-config
	csp       string
}

// dashboardConfig is what GET /v1/dashboard-config answers: the URLs the
// dashboard loads rrweb-player from.
type dashboardConfig struct {
	RRWebURL          string `json:"rrwebURL"`
	RRWebPlayerURL    string `json:"rrwebPlayerURL"`
	RRWebPlayerCSSURL string `json:"rrwebPlayerCSSURL"`
	ConsolePluginURL  string `json:"consolePluginURL"`
}

func newAssets(o *Options, log *slog.Logger) *assets {
	a := &assets{dashboard: make(map[string]asset)}
	rec, err := fs.ReadFile(assetFS, "assets/recorder.js")
	if err != nil {
		panic("transport: embedded recorder.js: " + err.Error()) // cannot happen: go:embed checked it
	}
	a.recorder = newAsset("recorder.js", rec)
	sub, _ := fs.Sub(assetFS, "assets")
	_ = fs.WalkDir(sub, "dashboard", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(sub, p)
		if err != nil {
			return err
		}
		a.dashboard[p] = newAsset(p, b)
		return nil
	})
	a.config, _ = json.Marshal(dashboardConfig{
		RRWebURL:          o.RRWebURL,
		RRWebPlayerURL:    o.RRWebPlayerURL,
		RRWebPlayerCSSURL: o.RRWebPlayerCSSURL,
		ConsolePluginURL:  o.ConsolePluginURL,
	})
	a.csp = contentSecurityPolicy(o, log)
	return a
}

func newAsset(name string, body []byte) asset {
	sum := sha256.Sum256(body)
	ctype := mime.TypeByExtension(path.Ext(name))
	switch path.Ext(name) {
	case ".js", ".mjs":
		ctype = "text/javascript; charset=utf-8"
	case "":
		ctype = "application/octet-stream"
	}
	if ctype == "" {
		ctype = http.DetectContentType(body)
	}
	return asset{body: body, ctype: ctype, etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`}
}

// serve answers a with its ETag, so that clients revalidate cheaply.
func (a asset) serve(w http.ResponseWriter, r *http.Request, cacheControl string) {
	hd := w.Header()
	hd.Set("Content-Type", a.ctype)
	hd.Set("ETag", a.etag)
	hd.Set("Cache-Control", cacheControl)
	hd.Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}

// recorderJS answers GET /v1/recorder.js. Host pages load it on every page
// view: it may be cached for five minutes, then revalidated by ETag.
func (h *handler) recorderJS(w http.ResponseWriter, r *http.Request) {
	// Host pages on other origins load it with a plain script tag; the CORS
	// header lets them load it with crossorigin="anonymous" too (for error
	// reporting). It is public code.
	w.Header().Set("Access-Control-Allow-Origin", "*")
	h.assets.recorder.serve(w, r, "public, max-age=300")
}

// dashboardConfig answers GET /v1/dashboard-config.
func (h *handler) dashboardConfig(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(h.assets.config)
}

// dashboard answers GET / with the dashboard's index.html and
// GET /assets/dashboard/{file} with its other files (the paths index.html
// uses, relative to the mount point); any other path is 404.
func (h *handler) dashboard(w http.ResponseWriter, r *http.Request) {
	var name string
	switch p := r.URL.Path; {
	case p == "/":
		name = "dashboard/index.html"
	case strings.HasPrefix(p, "/assets/"):
		name = strings.TrimPrefix(p, "/assets/")
	default:
		writeError(w, http.StatusNotFound, "path: not found")
		return
	}
	a, ok := h.assets.dashboard[name]
	if !ok {
		writeError(w, http.StatusNotFound, "path: not found")
		return
	}
	h.securityHeaders(w)
	a.serve(w, r, "no-cache")
}

// securityHeaders sets the headers of every dashboard answer. The dashboard
// shows recorded pages, which are hostile content: rrweb-player rebuilds
// them in a sandboxed iframe without scripts, and the policy below keeps any
// script but ours and the configured player out of the dashboard.
func (h *handler) securityHeaders(w http.ResponseWriter) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", h.assets.csp)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
}

// contentSecurityPolicy builds the dashboard's policy. Scripts: our own
// files and exactly the configured rrweb and rrweb-player URLs (a source
// with a path matches that file only, so a CDN origin does not open the
// door to every package it hosts). Styles may be inline because
// rrweb-player and the replayed pages set style attributes. Images, fonts
// and media of the replayed pages load from anywhere, as they did on the
// recorded page; nothing may frame the dashboard, and it submits forms and
// connects to nobody but itself.
func contentSecurityPolicy(o *Options, log *slog.Logger) string {
	scripts := []string{"'self'"}
	styles := []string{"'self'", "'unsafe-inline'"}
	for _, u := range []string{o.RRWebPlayerURL, o.RRWebURL} {
		if src, ok := cspSource(u, log); ok {
			scripts = append(scripts, src)
		}
	}
	if src, ok := cspSource(o.RRWebPlayerCSSURL, log); ok {
		styles = append(styles, src)
	}
	return strings.Join([]string{
		"default-src 'none'",
		"script-src " + strings.Join(scripts, " "),
		"style-src " + strings.Join(styles, " "),
		"img-src * data: blob:",
		"font-src * data:",
		"media-src * data: blob:",
		"connect-src 'self'",
		"frame-src 'self' blob:",
		"child-src 'self' blob:",
		"worker-src 'self' blob:",
		"object-src 'none'",
		"base-uri 'none'",
		"form-action 'self'",
		"frame-ancestors 'none'",
	}, "; ")
}

// cspSource returns the CSP source expression that allows exactly the
// asset at u. A URL without a host is on the dashboard's own origin, which
// 'self' allows already.
func cspSource(u string, log *slog.Logger) (string, bool) {
	p, err := url.Parse(u)
	if err != nil || strings.ContainsAny(u, " \t\r\n;,'\"") {
		log.Warn("replay: asset URL left out of the dashboard's Content-Security-Policy", "url", u)
		return "", false
	}
	if p.Host == "" {
		return "", false
	}
	scheme := p.Scheme
	if scheme == "" {
		scheme = "https"
	}
	return scheme + "://" + p.Host + p.EscapedPath(), true
}
