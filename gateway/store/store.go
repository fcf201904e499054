// Package store implements every domain's Store interface on SQLite
// (modernc.org/sqlite, pure Go, WAL mode) and PostgreSQL (pgx/v5 pool), with
// versioned migrations embedded in the binary.
//
// Both backends share one code path through database/sql: PostgreSQL is
// reached through a pgxpool wrapped by pgx's stdlib adapter, SQLite through
// its database/sql driver. Queries are written with '?' placeholders and
// rebound for PostgreSQL. Times are stored as Unix microseconds (BIGINT) so
// that both backends compare and order them identically.
//
// Transactions never leave this package: domains call operations.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

//go:embed migrations/*.sql
var migrations embed.FS

// Flavor names the SQL backend.
type Flavor string

const (
	SQLite   Flavor = "sqlite"
	Postgres Flavor = "postgres"
)

// Store is a handle on one database. It is safe for concurrent use.
type Store struct {
	db     *sql.DB
	flavor Flavor
	pool   *pgxpool.Pool // PostgreSQL only
	stmts  *stmtCache    // SQLite only
	tail   auditTail     // PostgreSQL only: see appendPostgres
}

// Open connects to url: "sqlite:PATH" (or "sqlite::memory:") or
// "postgres://…". It does not migrate; call Migrate.
func Open(ctx context.Context, url string) (*Store, error) {
	switch {
	case strings.HasPrefix(url, "sqlite:"):
		return openSQLite(ctx, strings.TrimPrefix(url, "sqlite:"))
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		return openPostgres(ctx, url)
	default:
		return nil, fmt.Errorf("store: unsupported database URL scheme (want sqlite:PATH or postgres://…)")
	}
}

func openSQLite(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("store: sqlite: empty path")
	}
	if path != ":memory:" {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("store: sqlite: %w", err)
		}
	}
	// WAL lets readers run beside the one writer; immediate transactions take
	// the write lock at BEGIN so two writers wait instead of failing at commit.
	// A multi-row statement inside a transaction keeps a statement journal
	// to undo itself alone; in memory (temp_store) rather than a temporary
	// file, whose writes were a quarter of an audit commit (durability is
	// the WAL's, not this journal's).
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)" +
		"&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_pragma=temp_store(MEMORY)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: sqlite: %w", err)
	}
	if path == ":memory:" {
		db.SetMaxOpenConns(1) // each connection would be a separate database
	} else {
		// Keep connections: opening one runs the pragmas, which costs more
		// than most queries; concurrent exchanges each need one.
		db.SetMaxIdleConns(16)
		db.SetConnMaxIdleTime(5 * time.Minute)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: sqlite: %w", err)
	}
	s := &Store{db: db, flavor: SQLite}
	if path != ":memory:" {
		// Not on the one connection of a memory database: preparing on the
		// pool inside a transaction would wait for the transaction's own.
		s.stmts = &stmtCache{}
	}
	return s, nil
}

func openPostgres(ctx context.Context, url string) (*Store, error) {
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("store: postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("store: postgres: %w", err)
	}
	return &Store{db: stdlib.OpenDBFromPool(pool), flavor: Postgres, pool: pool}, nil
}

// Flavor reports the backend.
func (s *Store) Flavor() Flavor { return s.flavor }

// DB exposes the database handle for benchmarks and tamper tests in this
// module; domain code never uses it.
func (s *Store) DB() *sql.DB { return s.db }

// Close releases the connections.
func (s *Store) Close() error {
	s.stmts.close()
	err := s.db.Close()
	if s.pool != nil {
		s.pool.Close()
	}
	return err
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// Migrate applies every pending embedded migration, ours and River's. On
// PostgreSQL it runs under a session advisory lock, so that replicas or
// operators migrating at the same time take turns: the first applies, the
// others find nothing left to do.
func (s *Store) Migrate(ctx context.Context) ([]string, error) {
	var applied []string
	err := s.exclusively(ctx, func() error {
		p, err := s.migrations()
		if err != nil {
			return err
		}
		res, err := p.Up(ctx)
		if err != nil {
			return fmt.Errorf("store: migrate: %w", err)
		}
		for _, r := range res {
			applied = append(applied, r.Source.Path)
		}
		return s.migrateJobs(ctx)
	})
	return applied, err
}

// Schema is where the database's schema stands against this binary.
type Schema struct {
	Current, Latest int64    // the version applied, the newest this binary knows
	Pending         []string // migrations not applied yet
}

// SchemaStatus reports the database's schema version against the
// migrations embedded in this binary.
func (s *Store) SchemaStatus(ctx context.Context) (Schema, error) {
	var sc Schema
	err := s.exclusively(ctx, func() error {
		p, err := s.migrations()
		if err != nil {
			return err
		}
		if sc.Current, err = p.GetDBVersion(ctx); err != nil {
			return fmt.Errorf("store: schema version: %w", err)
		}
		for _, src := range p.ListSources() {
			sc.Latest = max(sc.Latest, src.Version)
			if src.Version > sc.Current {
				sc.Pending = append(sc.Pending, src.Path)
			}
		}
		return nil
	})
	return sc, err
}

// ErrSchema is a database whose schema is not the one this binary needs.
var ErrSchema = errors.New("store: the database schema does not match this gatewayd")

// CheckSchema refuses a database whose schema is older than this binary
// needs (run gatewayctl migrate) or newer than it knows (run a newer
// gatewayd), with a message that says which.
func (s *Store) CheckSchema(ctx context.Context) error {
	sc, err := s.SchemaStatus(ctx)
	if err != nil {
		return err
	}
	switch {
	case sc.Current < sc.Latest:
		return fmt.Errorf("%w: it is at version %d and this gatewayd needs %d (%d migrations pending); run `gatewayctl migrate`",
			ErrSchema, sc.Current, sc.Latest, len(sc.Pending))
	case sc.Current > sc.Latest:
		return fmt.Errorf("%w: it is at version %d, newer than this gatewayd knows (%d); run the gatewayd that migrated it, or a newer one",
			ErrSchema, sc.Current, sc.Latest)
	}
	return nil
}

func (s *Store) migrations() (*goose.Provider, error) {
	dialect := goose.DialectSQLite3
	if s.flavor == Postgres {
		dialect = goose.DialectPostgres
	}
	p, err := goose.NewProvider(dialect, s.db, mustSub(migrations, "migrations"))
	if err != nil {
		return nil, fmt.Errorf("store: migrations: %w", err)
	}
	return p, nil
}

// migrationLockKey is the PostgreSQL advisory lock migrations take.
const migrationLockKey = 0x6f62657274_01 // "obert", 1

// exclusively runs fn holding the migration lock on PostgreSQL (SQLite's
// write lock already serialises its writers).
func (s *Store) exclusively(ctx context.Context, fn func() error) error {
	if s.flavor != Postgres {
		return fn()
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: migration lock: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, int64(migrationLockKey)); err != nil {
		return fmt.Errorf("store: migration lock: %w", err)
	}
	defer conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock($1)`, int64(migrationLockKey))
	return fn()
}

// rebind turns '?' placeholders into PostgreSQL's $n. Queries in this package
// never contain '?' inside string literals.
func (s *Store) rebind(q string) string {
	if s.flavor != Postgres {
		return q
	}
	return dollars(q)
}

// dollars is q with its '?' placeholders numbered as PostgreSQL's $n.
func dollars(q string) string {
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// querier is what both *sql.DB and *sql.Tx offer.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// inTx runs fn in one transaction, committed only if fn returns nil.
func (s *Store) inTx(ctx context.Context, fn func(q querier) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	if err := fn(txQuerier{tx, s}); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// pgTx runs a transaction on one connection of the pool in two round
// trips: BEGIN and the statements head queues, pipelined; then the
// function then, which may query on conn (inside the transaction) and
// queues the rest, pipelined with COMMIT. Without then, it is one round
// trip: BEGIN, head's statements and COMMIT. The server runs a
// pipeline's statements in order, each with its own snapshot, as if sent
// one by one. Any failure rolls the transaction back (and if that fails
// too, the connection is closed rather than given back in it).
func (s *Store) pgTx(ctx context.Context, head func(b *pgx.Batch), then func(conn *pgx.Conn, b *pgx.Batch) error) error {
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer c.Release()
	conn := c.Conn()
	committed := false
	defer func() {
		if !committed {
			if _, err := conn.Exec(context.WithoutCancel(ctx), "ROLLBACK"); err != nil || conn.PgConn().TxStatus() != 'I' {
				conn.Close(context.WithoutCancel(ctx))
			}
		}
	}()
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	head(b)
	if then != nil {
		if err := conn.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		b = &pgx.Batch{}
		if err := then(conn, b); err != nil {
			return err
		}
	}
	b.Queue("COMMIT")
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		return err
	}
	if conn.PgConn().TxStatus() != 'I' {
		return fmt.Errorf("not committed")
	}
	committed = true
	return nil
}

// rowsIter is a query's rows, from database/sql or from pgx.
type rowsIter interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// txQuerier and dbQuerier rebind placeholders so callers write '?' only.
type txQuerier struct {
	tx *sql.Tx
	s  *Store
}

func (t txQuerier) ExecContext(ctx context.Context, q string, a ...any) (sql.Result, error) {
	if st := t.s.stmts.get(ctx, t.s.db, q); st != nil {
		return t.tx.StmtContext(ctx, st).ExecContext(ctx, a...)
	}
	return t.tx.ExecContext(ctx, t.s.rebind(q), a...)
}
func (t txQuerier) QueryContext(ctx context.Context, q string, a ...any) (*sql.Rows, error) {
	if st := t.s.stmts.get(ctx, t.s.db, q); st != nil {
		return t.tx.StmtContext(ctx, st).QueryContext(ctx, a...)
	}
	return t.tx.QueryContext(ctx, t.s.rebind(q), a...)
}
func (t txQuerier) QueryRowContext(ctx context.Context, q string, a ...any) *sql.Row {
	if st := t.s.stmts.get(ctx, t.s.db, q); st != nil {
		return t.tx.StmtContext(ctx, st).QueryRowContext(ctx, a...)
	}
	return t.tx.QueryRowContext(ctx, t.s.rebind(q), a...)
}

// q returns a querier on the pool that rebinds placeholders.
func (s *Store) q() querier { return dbQuerier{s} }

type dbQuerier struct{ s *Store }

func (d dbQuerier) ExecContext(ctx context.Context, q string, a ...any) (sql.Result, error) {
	if st := d.s.stmts.get(ctx, d.s.db, q); st != nil {
		return st.ExecContext(ctx, a...)
	}
	return d.s.db.ExecContext(ctx, d.s.rebind(q), a...)
}
func (d dbQuerier) QueryContext(ctx context.Context, q string, a ...any) (*sql.Rows, error) {
	if st := d.s.stmts.get(ctx, d.s.db, q); st != nil {
		return st.QueryContext(ctx, a...)
	}
	return d.s.db.QueryContext(ctx, d.s.rebind(q), a...)
}
func (d dbQuerier) QueryRowContext(ctx context.Context, q string, a ...any) *sql.Row {
	if st := d.s.stmts.get(ctx, d.s.db, q); st != nil {
		return st.QueryRowContext(ctx, a...)
	}
	return d.s.db.QueryRowContext(ctx, d.s.rebind(q), a...)
}

// isUniqueViolation reports a primary-key or unique constraint failure on
// either backend.
func isUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "SQLSTATE 23505") || // PostgreSQL unique_violation
		strings.Contains(msg, "UNIQUE constraint failed") || // SQLite
		strings.Contains(msg, "constraint failed: UNIQUE")
}

// micros and fromMicros store times as Unix microseconds; the zero time is 0.
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}
