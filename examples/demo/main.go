// Command demo runs a small shop that records itself with replay, and the
// replay dashboard, on one address:
//
//	go run ./examples/demo [-addr 127.0.0.1:8080] [-data DIR] [-db DSN] [-blob URL] [-sites FILE] [-token T] [-sweep 5s]
//
// Sessions are kept on disk with filestore under -data, or, with -db, in
// that PostgreSQL database (storage/pgstore), their chunks in the database
// or, with -blob, in that gocloud.dev/blob bucket (file:///dir or mem://).
// Several demo processes started with the same -db and -blob serve one
// set of sessions, with no session affinity. The site
// configuration is -sites, or sites.json next to this file (embedded). The
// read token of the dashboard is random unless -token is given. rrweb and
// rrweb-player are served from web/node_modules: run npm ci in web/ first
// (make demo does).
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sessionreplay/replay"
	"github.com/sessionreplay/replay/internal/demo"
	"github.com/sessionreplay/replay/storage"
	"github.com/sessionreplay/replay/storage/filestore"
)

//go:embed sites.json
var defaultSites []byte

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen `address`")
	data := flag.String("data", "./demo-data", "`directory` of the file store")
	sitesFile := flag.String("sites", "", "site configuration `file` (JSON of API.md); default: the embedded examples/demo/sites.json")
	token := flag.String("token", "", "read `token` of the dashboard; default: a random one")
	sweep := flag.Duration("sweep", 5*time.Second, "how often idle sessions are ended and pending ones decided")
	db := flag.String("db", "", "PostgreSQL `DSN` (postgres://user:password@host:port/db) to keep sessions in; default: the file store under -data")
	blobURL := flag.String("blob", "", "gocloud.dev/blob `URL` (file:///dir, mem://) to keep chunks in, with -db; default: in the database")
	flag.Parse()
	if err := run(*addr, *data, *db, *blobURL, *sitesFile, *token, *sweep); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(addr, data, db, blobURL, sitesFile, token string, sweep time.Duration) error {
	if sweep <= 0 {
		return errors.New("-sweep: want a positive duration")
	}
	if blobURL != "" && db == "" {
		return errors.New("-blob needs -db: the file store keeps its chunks under -data")
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))

	var src io.Reader = bytes.NewReader(defaultSites)
	sitesName := "examples/demo/sites.json (embedded)"
	if sitesFile != "" {
		f, err := os.Open(sitesFile)
		if err != nil {
			return err
		}
		defer f.Close()
		src, sitesName = f, sitesFile
	}
	sites, err := replay.LoadSites(src)
	if err != nil {
		return fmt.Errorf("%s: %w", sitesName, err)
	}
	if s, ok := sites["demo"]; ok {
		demo.AllowOrigins(s, addr)
	}

	var store storage.Store
	where := data + " (file store)"
	if db != "" {
		pg, closeDB, err := demo.OpenDB(context.Background(), db, blobURL)
		if err != nil {
			return err
		}
		defer closeDB()
		store, where = pg, "PostgreSQL (-db)"
		if blobURL != "" {
			where += ", chunks in " + blobURL
		}
	} else {
		files, err := filestore.Open(data, nil)
		if err != nil {
			return err
		}
		defer files.Close()
		store = files
	}
	rec, err := replay.New(store, sites, &replay.Options{Logger: log})
	if err != nil {
		return err
	}
	if token == "" {
		token = rand.Text()
	}
	srv, err := demo.NewServer(rec, &demo.Options{Token: token, Logger: log})
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	base := "http://" + displayAddr(ln.Addr().String(), addr)
	fmt.Printf("replay demo\n  shop:      %s/\n  dashboard: %s/replay/\n  token:     %s\n  sessions:  %s\n  sites:     %s\nPress Ctrl-C to stop.\n",
		base, base, token, where, sitesName)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go srv.Sweep(ctx, sweep)
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	fmt.Println("\nstopping")
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return hs.Shutdown(shutdown)
}

// displayAddr is the host:port to print: the listen address, with an
// unspecified host shown as 127.0.0.1.
func displayAddr(actual, asked string) string {
	host, port, err := net.SplitHostPort(actual)
	if err != nil {
		return asked
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
