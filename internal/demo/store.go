package demo

import (
	"context"
	"errors"
	"fmt"

	"gocloud.dev/blob"
	// The bucket schemes the demo can open: file:// and mem://. An
	// application that keeps chunks in S3, GCS or Azure imports
	// gocloud.dev/blob/s3blob, gcsblob or azureblob the same way.
	_ "gocloud.dev/blob/fileblob"
	_ "gocloud.dev/blob/memblob"

	"github.com/sessionreplay/replay/storage/pgstore"
)

// OpenDB opens the production setup of the demo: sessions in the
// PostgreSQL database of dsn and, when blobURL is not empty, chunks in that
// gocloud.dev/blob bucket (file:///dir or mem://). Close closes both.
// Several demo processes opened on the same dsn and blobURL share one set
// of sessions.
func OpenDB(ctx context.Context, dsn, blobURL string) (store *pgstore.Store, close func() error, err error) {
	if dsn == "" {
		return nil, nil, errors.New("-db: want a PostgreSQL URL, postgres://user:password@host:port/db")
	}
	var bucket *blob.Bucket
	if blobURL != "" {
		bucket, err = blob.OpenBucket(ctx, blobURL)
		if err != nil {
			return nil, nil, fmt.Errorf("-blob %s: %w", blobURL, err)
		}
	}
	store, err = pgstore.Open(ctx, dsn, &pgstore.Options{Chunks: bucket})
	if err != nil {
		if bucket != nil {
			bucket.Close()
		}
		return nil, nil, fmt.Errorf("-db: %w", err)
	}
	return store, func() error {
		err := store.Close()
		if bucket != nil {
			err = errors.Join(err, bucket.Close())
		}
		return err
	}, nil
}
