package pgstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migrations holds the schema, one file per version: NNNN_name.sql, applied
// in order, each in its own transaction.
//
//go:embed migrations/*.sql
var migrations embed.FS

// ErrNewerSchema is wrapped by the error of [Open] for a database whose
// schema was migrated by a newer version of this package: the code refuses
// to read or write a schema it does not know.
var ErrNewerSchema = errors.New("pgstore: the database schema is newer than this code")

// migrationLock is the advisory lock key that serialises migrations of
// processes opening one database at once.
const migrationLock = 0x7265706c6179 // "replay"

// migrate brings the schema up to date. Versions are counted in the
// replay_schema table; a database at a higher version than the code knows
// is refused, so that old code never writes a schema it does not know.
func migrate(ctx context.Context, pool *pgxpool.Pool, schema string) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, int64(migrationLock)); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, int64(migrationLock)) //nolint:errcheck // the lock ends with the session anyway
	if schema != "" {
		if _, err := conn.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{schema}.Sanitize()); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS replay_schema (version integer NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var version int
	err = conn.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM replay_schema`).Scan(&version)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	slices.Sort(names)
	if version > len(names) {
		return fmt.Errorf("migrate: %w: database at version %d, code at %d; upgrade the code", ErrNewerSchema, version, len(names))
	}
	for i, name := range names[version:] {
		v := version + i + 1
		if n, err := strconv.Atoi(strings.SplitN(path.Base(name), "_", 2)[0]); err != nil || n != v {
			return fmt.Errorf("migrate: migration %s is not version %d", name, v)
		}
		sql, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		tx, err := conn.Begin(ctx)
		if err != nil {
			return fmt.Errorf("migrate to %d: %w", v, err)
		}
		if _, err := tx.Exec(ctx, string(sql)); err != nil {
			_ = tx.Rollback(ctx)
			return fmt.Errorf("migrate to %d (%s): %w", v, path.Base(name), err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO replay_schema (version) VALUES ($1)`, v); err != nil {
			_ = tx.Rollback(ctx)
			return fmt.Errorf("migrate to %d: %w", v, err)
		}
		if err := tx.Commit(ctx); err != nil {
			return fmt.Errorf("migrate to %d: %w", v, err)
		}
	}
	return nil
}
