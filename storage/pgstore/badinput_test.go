package pgstore_test

import (
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionreplay/replay/storage"
	"github.com/sessionreplay/replay/storage/pgstore"
)

// A DSN that does not connect fails at Open with an error that names the
// host and wraps ErrUnavailable, and never shows the password.
func TestOpenUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close()) // nothing listens there now

	for _, tt := range []struct{ dsn, host string }{
		{"postgres://replay:s3cret-pw@" + addr + "/replay?sslmode=disable", addr},
		{"host=" + strings.Split(addr, ":")[0] + " port=" + strings.Split(addr, ":")[1] + " user=replay password=s3cret-pw sslmode=disable", addr},
		{"postgres://replay:s3cret-pw@nohost.invalid:5432/replay?sslmode=disable&connect_timeout=2", "nohost.invalid:5432"},
	} {
		s, err := pgstore.Open(t.Context(), tt.dsn, nil)
		if s != nil {
			s.Close()
		}
		require.Error(t, err, tt.dsn)
		assert.Contains(t, err.Error(), tt.host, "the error names the host")
		assert.NotContains(t, err.Error(), "s3cret-pw", "the error shows the password")
		assert.ErrorIs(t, err, storage.ErrUnavailable)
	}
}

// A DSN that cannot be parsed is refused without showing the password.
func TestOpenBadDSN(t *testing.T) {
	_, err := pgstore.Open(t.Context(), "postgres://replay:s3cret-pw@127.0.0.1:notaport/replay", nil)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "s3cret-pw")
	_, err = pgstore.Open(t.Context(), "postgres://127.0.0.1/replay", &pgstore.Options{Schema: "Bad-Name"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "schema")
}

// A database migrated by newer code is refused; one at this version opens
// again (migrations are not re-run).
func TestOpenNewerSchema(t *testing.T) {
	needDB(t)
	schema := newSchema(t)
	openStore(t, schema, nil).Close()
	openStore(t, schema, nil).Close()

	conn, err := pgx.Connect(t.Context(), testDSN)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	_, err = conn.Exec(t.Context(), "INSERT INTO "+schema+".replay_schema (version) VALUES (999)")
	require.NoError(t, err)

	s, err := pgstore.Open(t.Context(), testDSN, &pgstore.Options{Schema: schema})
	if s != nil {
		s.Close()
	}
	require.ErrorIs(t, err, pgstore.ErrNewerSchema)
	assert.Contains(t, err.Error(), "999")
}

// Processes opening one new database at once migrate it once.
func TestOpenConcurrently(t *testing.T) {
	needDB(t)
	schema := newSchema(t)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			s, err := pgstore.Open(t.Context(), testDSN, &pgstore.Options{Schema: schema})
			if assert.NoError(t, err) {
				s.Close()
			}
		})
	}
	wg.Wait()
}

// proxy forwards TCP connections to the database until cut is called, which
// closes every connection: a database that went away.
type proxy struct {
	l     net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &proxy{l: l}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
	t.Cleanup(p.cut)
	return p
}

func (p *proxy) cut() {
	p.l.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// A database that goes away: every call fails with an error wrapping
// ErrUnavailable, which the HTTP handler answers 503 with Retry-After.
func TestDatabaseDown(t *testing.T) {
	needDB(t)
	cfg, err := pgx.ParseConfig(testDSN)
	require.NoError(t, err)
	p := newProxy(t, net.JoinHostPort(cfg.Host, itoa(int(cfg.Port))))
	dsn := strings.Replace(testDSN, net.JoinHostPort(cfg.Host, itoa(int(cfg.Port))), p.l.Addr().String(), 1)
	store := openStoreDSN(t, dsn, newSchema(t))
	rec := newRecorder(t, store)
	_, steps := workload(t)
	ctx := t.Context()
	_, err = do(ctx, rec, steps["visit-0000"][0])
	require.NoError(t, err)

	p.cut()
	key := storage.Key{Site: "shop", Session: "visit-0000"}
	_, err = do(ctx, rec, steps["visit-0000"][1])
	assert.ErrorIs(t, err, storage.ErrUnavailable, "Ingest")
	_, err = store.Session(ctx, key)
	assert.ErrorIs(t, err, storage.ErrUnavailable, "Session")
	_, err = store.List(ctx, storage.Query{Site: "shop"})
	assert.ErrorIs(t, err, storage.ErrUnavailable, "List")
	assert.ErrorIs(t, store.Append(ctx, key, storage.Chunk{Window: "w9", Data: []byte("x")}), storage.ErrUnavailable, "Append")
	assert.ErrorIs(t, store.Delete(ctx, key), storage.ErrUnavailable, "Delete")
	for _, err := range store.Chunks(ctx, key, "") {
		assert.ErrorIs(t, err, storage.ErrUnavailable, "Chunks")
		break
	}
}

// A database that is full: the batch fails with an error wrapping ErrFull
// (answered 507), and nothing of it is stored, not even its chunk.
func TestDatabaseFull(t *testing.T) {
	needDB(t)
	schema := newSchema(t)
	store := openStore(t, schema, nil)
	rec := newRecorder(t, store)
	_, steps := workload(t)
	ctx := t.Context()
	_, err := do(ctx, rec, steps["visit-0001"][0])
	require.NoError(t, err)
	before, err := store.Session(ctx, storage.Key{Site: "shop", Session: "visit-0001"})
	require.NoError(t, err)

	// The server reports disk_full when the session row is written, after
	// the chunk was inserted.
	conn, err := pgx.Connect(ctx, testDSN)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, `CREATE FUNCTION `+schema+`.refuse_write() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = 'disk_full'; END $$;
		CREATE TRIGGER refuse_write BEFORE UPDATE ON `+schema+`.sessions FOR EACH ROW EXECUTE FUNCTION `+schema+`.refuse_write()`)
	require.NoError(t, err)

	_, err = do(ctx, rec, steps["visit-0001"][1])
	require.ErrorIs(t, err, storage.ErrFull)
	after, err := store.Session(ctx, storage.Key{Site: "shop", Session: "visit-0001"})
	require.NoError(t, err)
	assert.Equal(t, before, after, "the session changed")
	var chunks int
	for _, err := range store.Chunks(ctx, storage.Key{Site: "shop", Session: "visit-0001"}, "") {
		require.NoError(t, err)
		chunks++
	}
	assert.Equal(t, 1, chunks, "the failed batch's chunk was kept")

	_, err = conn.Exec(ctx, `DROP TRIGGER refuse_write ON `+schema+`.sessions`)
	require.NoError(t, err)
	a, err := do(ctx, rec, steps["visit-0001"][1])
	require.NoError(t, err, "the retry")
	assert.Contains(t, a, "record true")
}
