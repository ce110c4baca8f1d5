package transport

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/sessionreplay/replay/storage"
)

// Who viewed a replay: each read of a session's events through the read API
// is recorded with the principal the Authorizer named (see
// PrincipalAuthorizer) and the server's time. The log is kept by the store
// when it implements [storage.ViewLog]; otherwise by the handler, in memory
// (lost on restart, not shared between processes, at most
// fallbackViewSessions sessions with their newest storage.MinViewsKept views
// each). It can be read through the read API, never written: only reading
// events adds to it.

// maxPrincipal bounds the bytes of a principal kept in the log.
const maxPrincipal = 256

// fallbackViewSessions bounds the sessions of the in-memory log.
const fallbackViewSessions = 10000

// viewsAnswer is the body of GET /v1/sites/{site}/sessions/{id}/views.
type viewsAnswer struct {
	// Views are oldest first.
	Views []storage.View `json:"views"`
	// Durable is false when the log is kept in the handler's memory only.
	Durable bool `json:"durable"`
}

// memViews is the in-memory view log of a handler whose store has none. It
// is safe for concurrent use.
type memViews struct {
	mu    sync.Mutex
	m     map[storage.Key][]storage.View
	order []storage.Key // keys in order of their first view, oldest first
}

func (l *memViews) add(key storage.Key, v storage.View) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[storage.Key][]storage.View{}
	}
	views, ok := l.m[key]
	if !ok {
		if len(l.order) >= fallbackViewSessions {
			delete(l.m, l.order[0])
			l.order = slices.Delete(l.order, 0, 1)
		}
		l.order = append(l.order, key)
	}
	if len(views) >= storage.MinViewsKept {
		views = slices.Delete(views, 0, len(views)-storage.MinViewsKept+1)
	}
	l.m[key] = append(views, v)
}

func (l *memViews) list(key storage.Key) []storage.View {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.m[key])
}

func (l *memViews) forget(key storage.Key) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.m[key]; !ok {
		return
	}
	delete(l.m, key)
	l.order = slices.DeleteFunc(l.order, func(k storage.Key) bool { return k == key })
}

// viewLog returns the store's view log, or nil when it has none.
func (h *handler) viewLog() storage.ViewLog {
	l, _ := h.rec.Store().(storage.ViewLog)
	return l
}

// recordView records that the request's principal read the events of key.
// A failure is logged: it does not fail the read.
func (h *handler) recordView(r *http.Request, key storage.Key) {
	p := principalOf(r)
	if len(p) > maxPrincipal {
		p = p[:maxPrincipal]
		for !utf8.ValidString(p) {
			p = p[:len(p)-1]
		}
	}
	v := storage.View{Principal: p, At: time.Now().UTC().Truncate(time.Millisecond)}
	l := h.viewLog()
	if l == nil {
		h.memViews.add(key, v)
		return
	}
	// The answer is sent already: record even if the client went away.
	if err := l.AddView(context.WithoutCancel(r.Context()), key, v); err != nil {
		h.log.WarnContext(r.Context(), "replay: view not recorded", "site", key.Site, "session", key.Session, "err", err)
	}
}

// views answers GET /v1/sites/{site}/sessions/{id}/views.
func (h *handler) views(w http.ResponseWriter, r *http.Request) {
	site, id, ok := pathSession(w, r)
	if !ok {
		return
	}
	if _, err := h.rec.Session(r.Context(), site, id); err != nil {
		h.fail(w, r, site, err)
		return
	}
	key := storage.Key{Site: site, Session: id}
	ans := viewsAnswer{}
	if l := h.viewLog(); l != nil {
		views, err := l.Views(r.Context(), key)
		if err != nil {
			h.fail(w, r, site, err)
			return
		}
		ans.Views, ans.Durable = views, true
	} else {
		ans.Views = h.memViews.list(key)
	}
	if ans.Views == nil {
		ans.Views = []storage.View{}
	}
	writeJSON(w, http.StatusOK, ans)
}

// Views returns who read a session's events through the read API, and
// when, oldest first. An unknown session is an [*HTTPError] that matches
// [storage.ErrNotFound].
func (c *Client) Views(ctx context.Context, site, id string) ([]storage.View, error) {
	var ans viewsAnswer
	err := c.do(ctx, http.MethodGet, sessionPath(site, id)+"/views", nil, nil, true,
		func(r io.Reader) error { return json.NewDecoder(r).Decode(&ans) })
	return ans.Views, err
}
