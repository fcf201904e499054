package store

import (
	"context"
	"database/sql"
	"sync"
)

// maxStmts bounds the statements kept prepared: the store's queries are
// a few hundred texts, and a multi-row statement has one text per row
// count; past the bound a statement is prepared at each use, as without
// the cache.
const maxStmts = 512

// stmtCache keeps SQLite's statements prepared. Preparing a statement
// (parsing and compiling its SQL) was a tenth of the gateway's CPU under
// load; database/sql prepares a cached statement once on each connection
// and reuses it there, also inside transactions. PostgreSQL needs none:
// pgx keeps its connections' statements prepared itself. A nil cache
// caches nothing.
type stmtCache struct {
	mu     sync.RWMutex
	m      map[string]*sql.Stmt
	closed bool
}

// get returns the prepared statement of q, preparing it on first use;
// nil when q is not cached (cache full or closed, or q does not prepare,
// which running it unprepared then reports).
func (c *stmtCache) get(ctx context.Context, db *sql.DB, q string) *sql.Stmt {
	if c == nil {
		return nil
	}
	c.mu.RLock()
	st, full := c.m[q], len(c.m) >= maxStmts || c.closed
	c.mu.RUnlock()
	if st != nil || full {
		return st
	}
	st, err := db.PrepareContext(context.WithoutCancel(ctx), q)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev := c.m[q]; prev != nil || c.closed || len(c.m) >= maxStmts {
		st.Close()
		return prev
	}
	if c.m == nil {
		c.m = make(map[string]*sql.Stmt)
	}
	c.m[q] = st
	return st
}

func (c *stmtCache) close() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.m {
		st.Close()
	}
	c.m, c.closed = nil, true
}
