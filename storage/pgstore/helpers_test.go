package pgstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"gocloud.dev/blob"

	"github.com/sessionreplay/replay/storage/pgstore"
)

// testDSN is the database the tests use: REPLAY_TEST_POSTGRES, or a
// throwaway cluster that TestMain starts. "" means no server: tests skip
// (and fail when CI is set).
var (
	testDSN     string
	noServerWhy string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if dsn := os.Getenv("REPLAY_TEST_POSTGRES"); dsn != "" {
		testDSN = dsn
		defer func() {
			for _, f := range cleanup {
				f()
			}
		}()
		return m.Run()
	}
	dsn, stop, err := startCluster()
	if err != nil {
		noServerWhy = err.Error()
		fmt.Fprintf(os.Stderr, "\n*** pgstore: NO POSTGRESQL: %v\n*** the tests that need a server are skipped; set REPLAY_TEST_POSTGRES or install postgresql\n\n", err)
		return m.Run()
	}
	defer stop()
	testDSN = dsn
	defer func() {
		for _, f := range cleanup {
			f()
		}
	}()
	return m.Run()
}

// needDB skips t when there is no server, loudly, and fails it when CI is
// set.
func needDB(t testing.TB) {
	t.Helper()
	if testDSN != "" {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("no PostgreSQL server and CI is set: %s", noServerWhy)
	}
	t.Skipf("SKIPPED: no PostgreSQL server (%s); set REPLAY_TEST_POSTGRES or install postgresql", noServerWhy)
}

// pgBin finds a PostgreSQL server program: on PATH, or in Debian's
// versioned directories.
func pgBin(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/" + name)
	if len(matches) == 0 {
		return "", fmt.Errorf("%s not found on PATH or in /usr/lib/postgresql/*/bin", name)
	}
	return matches[len(matches)-1], nil
}

// startCluster initdbs a cluster into a temporary directory and starts it
// on a free port of 127.0.0.1, as the postgres user when running as root
// (the server refuses to run as root). stop stops it and removes the
// directory.
func startCluster() (dsn string, stop func(), err error) {
	initdb, err := pgBin("initdb")
	if err != nil {
		return "", nil, err
	}
	pgctl, err := pgBin("pg_ctl")
	if err != nil {
		return "", nil, err
	}
	dir, err := os.MkdirTemp("", "pgstore-test-")
	if err != nil {
		return "", nil, err
	}
	var prefix []string
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return "", nil, fmt.Errorf("running as root and no postgres user to run the server: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return "", nil, err
		}
		prefix = []string{"runuser", "-u", "postgres", "--"}
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	cmd := func(args ...string) *exec.Cmd {
		all := append(append([]string{}, prefix...), args...)
		return exec.Command(all[0], all[1:]...)
	}
	data := filepath.Join(dir, "data")
	if out, err := cmd(initdb, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync", "-D", data).CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	port, err := freePort()
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200", port, dir)
	if out, err := cmd(pgctl, "-D", data, "-o", opts, "-l", filepath.Join(dir, "log"), "-w", "-t", "60", "start").CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("pg_ctl start: %v\n%s\n%s", err, out, log)
	}
	stop = func() {
		if out, err := cmd(pgctl, "-D", data, "-m", "immediate", "-w", "stop").CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "pg_ctl stop: %v\n%s", err, out)
		}
		os.RemoveAll(dir)
	}
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port), stop, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

var (
	schemaMu sync.Mutex
	schemaN  int
)

// newSchema returns the name of a fresh schema, dropped when t ends.
func newSchema(t testing.TB) string {
	t.Helper()
	needDB(t)
	var r [4]byte
	_, _ = rand.Read(r[:])
	schemaMu.Lock()
	schemaN++
	name := fmt.Sprintf("t%d_%s", schemaN, hex.EncodeToString(r[:]))
	schemaMu.Unlock()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, testDSN)
		if err != nil {
			t.Errorf("drop schema %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+name+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", name, err)
		}
	})
	return name
}

// openStore opens a Store on schema, closed when t ends.
func openStore(t testing.TB, schema string, bucket *blob.Bucket) *pgstore.Store {
	t.Helper()
	s, err := pgstore.Open(context.Background(), testDSN, &pgstore.Options{Schema: schema, Chunks: bucket})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// newStore opens a Store on a fresh schema.
func newStore(t testing.TB, bucket *blob.Bucket) *pgstore.Store {
	t.Helper()
	return openStore(t, newSchema(t), bucket)
}

// openStoreDSN opens a Store on dsn and schema, closed when t ends.
func openStoreDSN(t testing.TB, dsn, schema string) *pgstore.Store {
	t.Helper()
	s, err := pgstore.Open(context.Background(), dsn, &pgstore.Options{Schema: schema})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func itoa(n int) string { return strconv.Itoa(n) }
