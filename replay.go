package replay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/sessionreplay/replay/storage"
)

// Recorder is the front end of the library: it takes batches of rrweb events
// from browsers, enforces each site's privacy policy, keeps the facts of every
// session, decides which sessions to keep, and stores what it keeps in a
// [storage.Store]. It also serves what is stored back, for the read API.
//
// A Recorder is safe for concurrent use by multiple goroutines. Several
// Recorders in one process may share one Store; Recorders in several
// processes may share a Store that implements [storage.SessionLocker] (as
// storage/pgstore does), which serialises each session's writes across
// processes.
type Recorder struct {
	store   storage.Store
	sites   Sites
	log     *slog.Logger
	now     func() time.Time
	opts    Options
	locks   sessionLocks
	mirrors *mirrorCache
	tstate  targetState // targeting counts and caches (lifecycle.go)

	assets      assetState  // content-addressed assets (assets.go)
	styles      *styleCache // processed style sheets (stylecache.go)
	siteMaskers siteMaskers // maskers that use styles
}

// Options configure a Recorder. The zero value, or a nil *Options, means the
// defaults.
type Options struct {
	// Logger receives what the Recorder has to say; nil discards it.
	Logger *slog.Logger
	// Now is the server clock used for the session lifecycle (idle timeout,
	// maximum duration, retention); nil means time.Now.
	Now func() time.Time
	// RageClick defines a rage click: at least Count clicks within Window,
	// all within Radius CSS pixels of the first. Zero fields take the
	// defaults 3, 1s and 30.
	RageClick RageClick
	// MirrorCache is how many windows' DOM mirrors are kept in memory
	// between batches; a mirror that is not in memory is rebuilt from the
	// stored chunks. 0 means 4096.
	MirrorCache int
	// StyleCache bounds the bytes of processed (minified) style sheets
	// kept in memory, so that a style sheet seen before is not processed
	// again. 0 means 64 MiB; negative turns the cache off.
	StyleCache int
	// AssetBudget is how many bytes of new assets one site may store per
	// hour through this Recorder when the store is a
	// [storage.AssetStore]; beyond it, strings stay inline in the chunks.
	// 0 means 64 MiB; negative writes new chunks with every string inline
	// (chunks with assets written before still read).
	AssetBudget int64
}

// RageClick is the definition of a rage click; see [Options].
type RageClick struct {
	Count  int
	Window time.Duration
	Radius float64
}

// Client describes who sent a request: it feeds the device, OS and browser
// facts and the origin check.
type Client struct {
	UserAgent string
	IP        string
	Origin    string
}

// Result is the answer to a batch.
type Result struct {
	// Accepted is the number of events in the batch.
	Accepted int `json:"accepted"`
	// Record is false when the session was dropped or deleted: the browser
	// should stop recording and sending.
	Record bool `json:"record"`
}

// New returns a Recorder that stores in store and finds site configuration
// in sites.
func New(store storage.Store, sites Sites, opts *Options) (*Recorder, error) {
	if store == nil {
		return nil, errors.New("replay.New: nil store")
	}
	if sites == nil {
		return nil, errors.New("replay.New: nil sites")
	}
	r := &Recorder{store: store, sites: sites}
	if opts != nil {
		r.opts = *opts
	}
	r.log = r.opts.Logger
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	r.now = r.opts.Now
	if r.now == nil {
		r.now = time.Now
	}
	if r.opts.RageClick.Count <= 0 {
		r.opts.RageClick.Count = 3
	}
	if r.opts.RageClick.Window <= 0 {
		r.opts.RageClick.Window = time.Second
	}
	if r.opts.RageClick.Radius <= 0 {
		r.opts.RageClick.Radius = 30
	}
	if r.opts.MirrorCache <= 0 {
		r.opts.MirrorCache = 4096
	}
	r.mirrors = newMirrorCache(r.opts.MirrorCache)
	if r.opts.StyleCache == 0 {
		r.opts.StyleCache = 64 << 20
	}
	r.styles = newStyleCache(r.opts.StyleCache)
	if r.opts.AssetBudget == 0 {
		r.opts.AssetBudget = defaultAssetBudget
	}
	if as, ok := store.(storage.AssetStore); ok {
		r.assets = assetState{store: as, write: r.opts.AssetBudget > 0, budget: r.opts.AssetBudget}
	}
	return r, nil
}

// Ingest runs one batch through the pipeline: validate, mask, facts, target,
// encode, store. Nothing reaches the Store before it is masked.
//
// Errors: a [*ValidationError] for a batch that is not rrweb-shaped,
// [ErrUnknownSite] and [ErrSiteDisabled] for the site, and the store's errors
// (wrapping [storage.ErrFull], [storage.ErrUnavailable], ...). A batch that
// was already stored (same session, window and seq) is accepted again and
// stored once. Cancelling ctx abandons the batch before it is stored; once
// the chunk is appended the session's metadata is written too.
func (r *Recorder) Ingest(ctx context.Context, b *Batch, from Client) (Result, error) {
	site, cs, err := r.site(ctx, b.Site)
	if err != nil {
		return Result{}, err
	}
	accepted := Result{Accepted: len(b.Events), Record: true}
	if site.Disabled {
		return Result{}, fmt.Errorf("%w %q", ErrSiteDisabled, b.Site)
	}

	key := storage.Key{Site: b.Site, Session: b.Session}
	if r.tstate.isDropped(key) {
		return Result{Accepted: len(b.Events), Record: false}, nil // refused before any work
	}

	// 1. Validate.
	if err := b.Validate(); err != nil {
		return Result{}, err
	}
	defer r.locks.lock(key)()
	// Across processes, the store's session lock (when it has one)
	// serialises the batch with every other write of the session, and its
	// writes are kept whole or not at all.
	var stored *storage.Session
	err = r.locked(ctx, key, func(ctx context.Context) error {
		var err error
		accepted, stored, err = r.ingestLocked(ctx, cs, key, b, from, accepted)
		return err
	})
	if err != nil {
		return Result{}, err
	}
	if stored != nil {
		r.afterStore(ctx, cs.rules, stored) // the pending bound (lifecycle.go)
	}
	return accepted, nil
}

// ingestLocked is the part of Ingest that runs under the session's lock.
// It returns the session when its metadata was written.
func (r *Recorder) ingestLocked(ctx context.Context, cs *compiledSite, key storage.Key, b *Batch, from Client, accepted Result) (Result, *storage.Session, error) {
	now := r.now()
	sess, isNew, err := r.loadSession(ctx, key, now)
	if err != nil {
		return Result{}, nil, err
	}
	if sess.State == storage.StateDropped {
		return Result{Accepted: len(b.Events), Record: false}, nil, nil
	}

	// A retry of a batch whose facts the metadata holds: its chunk was
	// appended before them, so it is stored and counted once already.
	facts := loadFactState(&sess)
	counted, tracked := facts.seqsCounted(&sess, b.Window, b.Seq)
	if counted {
		return accepted, nil, nil
	}

	// 2. Mask, before anything is kept.
	text, err := r.mask(ctx, r.masker(b.Site, cs.masker), key, b)
	if err != nil {
		return Result{}, nil, err
	}

	// 3. Facts.
	knownWindow := slices.Contains(sess.WindowIDs, b.Window)
	r.updateFacts(&sess, facts, b, from, now)

	// 4. Target.
	switch r.target(cs.rules, &sess, false) {
	case drop:
		if err := r.drop(ctx, key, &sess, isNew); err != nil {
			return Result{}, nil, err
		}
		return Result{Accepted: len(b.Events), Record: false}, nil, nil
	}

	// 5. Encode and store.
	data, assetBytes, err := r.encode(ctx, key, text)
	if err != nil {
		r.abandon(ctx, key, isNew)
		return Result{}, nil, err
	}
	err = r.storeOf(ctx).Append(ctx, key, storage.Chunk{Window: b.Window, Seq: b.Seq, Events: len(b.Events), Data: data})
	switch {
	case errors.Is(err, storage.ErrExists) && !tracked && !isNew && knownWindow:
		// A session whose metadata does not record its seqs (stored
		// before the record existed): a known window means counted.
		return accepted, nil, nil
	case errors.Is(err, storage.ErrExists):
		// Stored before, but the metadata does not count it: the earlier
		// try failed after Append, so its facts are written now.
		sess.StoredBytes += int64(len(data)) + assetBytes
	case err != nil:
		r.abandon(ctx, key, isNew)
		return Result{}, nil, fmt.Errorf("append %s/%s/%s/%d: %w", key.Site, key.Session, b.Window, b.Seq, err)
	default:
		sess.StoredBytes += int64(len(data)) + assetBytes
	}
	if err := r.storeOf(ctx).PutSession(context.WithoutCancel(ctx), sess); err != nil {
		return Result{}, nil, fmt.Errorf("put session %s/%s: %w", key.Site, key.Session, err)
	}
	return accepted, &sess, nil
}

// site finds and compiles a site's configuration.
func (r *Recorder) site(ctx context.Context, id string) (*Site, *compiledSite, error) {
	site, err := r.sites.Site(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	cs, err := site.compile()
	if err != nil {
		return nil, nil, fmt.Errorf("site %q: %w", id, err)
	}
	return site, cs, nil
}

// loadSession returns the stored session, or a new one when there is none.
func (r *Recorder) loadSession(ctx context.Context, key storage.Key, now time.Time) (storage.Session, bool, error) {
	sess, err := r.storeOf(ctx).Session(ctx, key)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return storage.Session{ID: key.Session, Site: key.Site, State: storage.StatePending, FirstSeen: now}, true, nil
	case err != nil:
		return storage.Session{}, false, fmt.Errorf("load session %s/%s: %w", key.Site, key.Session, err)
	}
	return sess, false, nil
}

// drop deletes what is stored of a session and leaves a tombstone, so later
// batches are refused without being decoded.
func (r *Recorder) drop(ctx context.Context, key storage.Key, sess *storage.Session, isNew bool) error {
	ctx = context.WithoutCancel(ctx)
	if !isNew {
		if err := r.storeOf(ctx).Delete(ctx, key); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("drop %s/%s: %w", key.Site, key.Session, err)
		}
	}
	r.mirrors.forget(key)
	tomb := storage.Session{ID: key.Session, Site: key.Site, State: storage.StateDropped,
		FirstSeen: sess.FirstSeen, LastSeen: sess.LastSeen, Ended: true}
	if err := r.storeOf(ctx).PutSession(ctx, tomb); err != nil {
		return fmt.Errorf("drop %s/%s: %w", key.Site, key.Session, err)
	}
	return nil
}

// Session returns the metadata of a kept or pending session, or an error
// wrapping [storage.ErrNotFound].
func (r *Recorder) Session(ctx context.Context, site, id string) (storage.Session, error) {
	sess, err := r.storeOf(ctx).Session(ctx, storage.Key{Site: site, Session: id})
	if err != nil {
		return storage.Session{}, err
	}
	if sess.State == storage.StateDropped {
		return storage.Session{}, fmt.Errorf("session %s/%s: %w", site, id, storage.ErrNotFound)
	}
	return sess, nil
}

// Sessions lists sessions; see [storage.Query] for the filters.
func (r *Recorder) Sessions(ctx context.Context, q storage.Query) (storage.Page, error) {
	if q.State == storage.FilterDropped {
		return storage.Page{}, &ValidationError{Path: "state", Msg: `want "kept", "pending" or "all"`}
	}
	return r.store.List(ctx, q)
}

// Delete removes a session. Later batches of it are answered with
// Record false and not stored. Deleting an unknown session is an error
// wrapping [storage.ErrNotFound].
func (r *Recorder) Delete(ctx context.Context, site, id string) error {
	key := storage.Key{Site: site, Session: id}
	defer r.locks.lock(key)()
	return r.locked(ctx, key, func(ctx context.Context) error {
		sess, err := r.Session(ctx, site, id)
		if err != nil {
			return err
		}
		return r.drop(ctx, key, &sess, false)
	})
}

// locked runs fn under the store's lock of the session, when the store
// has one ([storage.SessionLocker]), with a ctx through which
// [Recorder.storeOf] reaches the locked view of the store. The caller holds
// the session's lock of this process.
func (r *Recorder) locked(ctx context.Context, key storage.Key, fn func(ctx context.Context) error) error {
	return storage.LockSession(ctx, r.store, key, func(st storage.Store) error {
		return fn(withStore(ctx, st))
	})
}
