// Package demo is the small shop of examples/demo: a few pages that record
// themselves with recorder.js, the replay handler mounted at /replay/ with
// its dashboard, and rrweb and rrweb-player served from web/node_modules.
// The demo binary and the browser tests (package e2e) both use it.
//
// # Pages
//
//   - / : the product grid, a cart counter (#cart-count), a search box
//     (#search, class replay-unmask, so its text shows in replays), and
//     SPA navigation with history.pushState to /product/{id}. Each card has
//     an "Add to cart" button (button.add) and a link to its product page
//     (a.card-link). The footer has a button that throws an uncaught error
//     (#boom) and one that rejects a promise (#reject).
//   - /checkout : a real page load with name (#name), card number (#card)
//     and password (#password) inputs, a payment iframe (#payment, from
//     /payment-frame) and a Pay button (#pay) that leads to /thanks.
//   - /thanks : the thank-you page.
//
// Every page records itself with one tag:
//
//	<script src="/replay/v1/recorder.js" data-site="demo" defer></script>
package demo

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/sessionreplay/replay"
	"github.com/sessionreplay/replay/transport"
)

//go:embed site
var siteFS embed.FS

// Vendor files: the URL paths under which the demo serves the npm packages
// of web/package.json, and the files they come from, relative to
// web/node_modules.
const (
	RRWebPath         = "/vendor/rrweb.umd.min.cjs"
	RRWebPlayerPath   = "/vendor/rrweb-player.umd.min.cjs"
	RRWebPlayerCSS    = "/vendor/rrweb-player.css"
	ConsolePluginPath = "/vendor/rrweb-plugin-console-record.umd.min.cjs"
)

var vendorFiles = map[string]string{
	RRWebPath:         "rrweb/dist/rrweb.umd.min.cjs",
	RRWebPlayerPath:   "rrweb-player/dist/rrweb-player.umd.min.cjs",
	RRWebPlayerCSS:    "rrweb-player/dist/style.css",
	ConsolePluginPath: "@rrweb/rrweb-plugin-console-record/dist/rrweb-plugin-console-record.umd.min.cjs",
}

// Options configure a [Server]. A nil *Options means the defaults.
type Options struct {
	// Token is the read token of the dashboard and the read API. ""
	// leaves the read API closed (403).
	Token string
	// NodeModules is the web/node_modules directory rrweb is served from.
	// "" means [FindNodeModules].
	NodeModules string
	// Logger receives the handler's and the sweeper's messages; nil
	// discards them.
	Logger *slog.Logger
}

// Server is the demo site: the shop pages, /vendor/ and the replay handler
// at /replay/. It is safe for concurrent use.
type Server struct {
	rec *replay.Recorder
	log *slog.Logger
	mux *http.ServeMux
}

// NewServer returns the demo site for rec. It fails when the npm packages
// are not installed (run npm ci in web/).
func NewServer(rec *replay.Recorder, opts *Options) (*Server, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.NodeModules == "" {
		dir, err := FindNodeModules()
		if err != nil {
			return nil, err
		}
		o.NodeModules = dir
	}
	for _, f := range vendorFiles {
		if _, err := os.Stat(filepath.Join(o.NodeModules, f)); err != nil {
			return nil, fmt.Errorf("demo: %w (run npm ci in web/)", err)
		}
	}

	var auth transport.Authorizer
	if o.Token != "" {
		auth = transport.BearerToken(o.Token)
	}
	h := transport.NewHandler(rec, &transport.Options{
		Authorizer:        auth,
		RRWebURL:          RRWebPath,
		RRWebPlayerURL:    RRWebPlayerPath,
		RRWebPlayerCSSURL: RRWebPlayerCSS,
		ConsolePluginURL:  ConsolePluginPath,
		Logger:            o.Logger,
	})

	s := &Server{rec: rec, log: o.Logger, mux: http.NewServeMux()}
	s.mux.Handle("/replay/", http.StripPrefix("/replay", h))
	pages, _ := fs.Sub(siteFS, "site")
	page := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "no-cache")
			http.ServeFileFS(w, r, pages, name)
		}
	}
	s.mux.Handle("GET /{$}", page("index.html"))
	s.mux.Handle("GET /product/{id}", page("index.html"))
	s.mux.Handle("GET /checkout", page("checkout.html"))
	s.mux.Handle("GET /thanks", page("thanks.html"))
	s.mux.Handle("GET /payment-frame", page("payment-frame.html"))
	s.mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(pages)))
	for urlPath, file := range vendorFiles {
		file := filepath.Join(o.NodeModules, file)
		s.mux.HandleFunc("GET "+urlPath, func(w http.ResponseWriter, r *http.Request) {
			if filepath.Ext(file) == ".cjs" {
				w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
			}
			w.Header().Set("Cache-Control", "public, max-age=3600")
			http.ServeFile(w, r, file)
		})
	}
	return s, nil
}

// ServeHTTP serves the demo site.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

// Sweep calls the Recorder's Sweep every interval until ctx is done, so that
// idle sessions end and pending ones are decided.
func (s *Server) Sweep(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			stats, err := s.rec.Sweep(ctx, now)
			if err != nil && ctx.Err() == nil {
				s.log.Error("demo: sweep", "err", err)
			}
			if stats != (replay.SweepStats{}) {
				s.log.Info("demo: sweep", "ended", stats.Ended, "kept", stats.Kept, "dropped", stats.Dropped, "expired", stats.Expired)
			}
		}
	}
}

// FindNodeModules returns the web/node_modules directory of this module,
// looking in the working directory and its parents.
func FindNodeModules() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		nm := filepath.Join(dir, "web", "node_modules")
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if _, err := os.Stat(nm); err != nil {
				return "", fmt.Errorf("demo: %s is missing: run npm ci in %s", nm, filepath.Join(dir, "web"))
			}
			return nm, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("demo: web/node_modules not found: run the demo from the module's directory")
		}
		dir = parent
	}
}

// AllowOrigins adds the origins a browser uses to reach addr (a listen
// address such as "127.0.0.1:8080" or ":8080") to the site's allowed
// origins, so the shop can record itself whatever address the demo listens
// on. Call it before the sites are used.
func AllowOrigins(site *replay.Site, addr string) {
	for _, o := range Origins(addr) {
		if !site.AllowsOrigin(o) {
			site.Origins = append(site.Origins, o)
		}
	}
}

// Origins returns the origins under which a server listening on addr is
// reached from this machine: http://localhost:PORT and http://HOST:PORT.
func Origins(addr string) []string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil
	}
	origins := []string{"http://localhost:" + port}
	switch host {
	case "", "0.0.0.0", "::":
		origins = append(origins, "http://127.0.0.1:"+port)
	case "localhost":
	default:
		origins = append(origins, "http://"+net.JoinHostPort(host, port))
	}
	return origins
}
