package audit

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Sealer seals full entries for their subject.
type Sealer interface {
	Seal(plaintext, context []byte) []byte
	Open(sealed, context []byte) ([]byte, error)
}

// Config configures a Log.
type Config struct {
	Store    Store
	Sealer   Sealer
	Signer   note.Signer // Ed25519 note signer of the checkpoints
	Origin   string      // checkpoint origin line, e.g. "obert.gencat.cat/audit"
	MaxBatch int         // entries integrated in one transaction (default 256)
	Rand     io.Reader   // source of the entries' salts (default crypto/rand.Reader)
	// Linger is how long a batch waits for more appends under load, that
	// is when the batch before it held more than one caller's entries
	// (default DefaultLinger; negative: never). A lone append is committed
	// at once.
	Linger time.Duration
}

// Log is the writer and reader of the audit log.
type Log struct {
	cfg    Config
	empty  []byte // the signed checkpoint of the empty tree, published until the first append
	reqs   chan appendReq
	done   chan struct{}
	closed sync.Once
	wg     sync.WaitGroup
	// known are stored hashes of the tree that committed batches wrote or
	// read. A stored hash never changes once its leaves are in, so a batch
	// reads from the database only those it has not seen: the tree's right
	// edge is mostly the previous batches'. Other replicas' appends only
	// add hashes past what is known. batch is the hashes of the batch being
	// committed, kept once it is. Only the sequencing goroutine uses them.
	known, batch map[int64]tlog.Hash
}

// maxKnown bounds Log.known; past it only the last batch's are kept.
const maxKnown = 1 << 14

// appendReq is one caller's entries, committed together in one batch.
type appendReq struct {
	ctx    context.Context
	leaves []Leaf
	res    chan appendRes
}

type appendRes struct {
	index int64
	err   error
}

// sealedEntry is what is sealed for the subject.
type sealedEntry struct {
	Entry Entry  `json:"entry"`
	Salt  []byte `json:"salt"`
}

// DefaultLinger is Config.Linger's default. Each batch costs the database
// its round trips and a flush whatever its size; under BenchmarkPipeline,
// waiting this long for more appends after a batch of several makes fewer,
// larger batches: at 0.7 ms it saved a ninth to a sixth of PostgreSQL's
// CPU an exchange, and 2 ms a further 7 % of gatewayd's on SQLite,
// where each batch is a commit of the one writer (docs/performance.md). A
// citizen's fetch alone waits at most once, for its next intents after its
// outcomes came in together, mostly while its requests are signed
// (BenchmarkFanOut: 1.030-1.038 against 1.030-1.037 at 0.7 ms).
const DefaultLinger = 2 * time.Millisecond

// New starts a Log. Close stops it.
func New(cfg Config) (*Log, error) {
	if cfg.Store == nil || cfg.Sealer == nil || cfg.Signer == nil || cfg.Origin == "" {
		return nil, errors.New("audit: store, sealer, signer and origin are required")
	}
	if cfg.MaxBatch == 0 {
		cfg.MaxBatch = 256
	}
	if cfg.Linger == 0 {
		cfg.Linger = DefaultLinger
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	// A fresh log publishes the empty tree (RFC 6962: the root is SHA-256 of
	// the empty string), so that clients see size 0 rather than no log.
	var root tlog.Hash
	copy(root[:], rfc6962.DefaultHasher.EmptyRoot())
	empty, err := note.Sign(&note.Note{Text: FormatCheckpoint(cfg.Origin, 0, root)}, cfg.Signer)
	if err != nil {
		return nil, fmt.Errorf("audit: sign the empty checkpoint: %w", err)
	}
	l := &Log{cfg: cfg, empty: empty, reqs: make(chan appendReq), done: make(chan struct{})}
	l.wg.Add(1)
	go l.sequence()
	return l, nil
}

// SaltSize is the length of an entry's salt. It is fixed, so that salt ‖
// entry splits one way only.
const SaltSize = 32

// Commitment returns the public leaf data of an entry: SHA-256 of the salt
// and the entry's canonical JSON.
func Commitment(e Entry, salt []byte) []byte {
	b, _ := json.Marshal(e) // struct fields in a fixed order: canonical for our own type
	return commitment(b, salt)
}

// commitment is Commitment of the entry whose JSON is b.
func commitment(b, salt []byte) []byte {
	h := sha256.New()
	h.Write(salt)
	h.Write(b)
	return h.Sum(nil)
}

// sealedJSON is json.Marshal(sealedEntry{e, salt}) from b, e's JSON:
// an entry is encoded once, for its commitment and its sealed copy alike
// (TestSealedJSONIsMarshal holds the two equal).
func sealedJSON(b, salt []byte) []byte {
	out := make([]byte, 0, len(b)+len(`{"entry":,"salt":""}`)+base64.StdEncoding.EncodedLen(len(salt)))
	out = append(out, `{"entry":`...)
	out = append(out, b...)
	if salt == nil {
		return append(out, `,"salt":null}`...)
	}
	out = append(out, `,"salt":"`...)
	out = base64.StdEncoding.AppendEncode(out, salt)
	return append(out, `"}`...)
}

// Append commits e and returns its index. It returns only once the entry,
// its tree hashes and a checkpoint covering it are durably committed; on
// error nothing of it is committed, and callers must not proceed with what
// the entry records.
func (l *Log) Append(ctx context.Context, e Entry) (int64, error) {
	return l.AppendAll(ctx, []Entry{e})
}

// AppendAll commits entries in one transaction and returns the index of the
// first (the others follow in order). Like Append, it returns only once all
// are durably committed, and on error none is. It lets a batch job record
// thousands of uses without waiting for one commit each.
func (l *Log) AppendAll(ctx context.Context, entries []Entry) (int64, error) {
	if len(entries) == 0 {
		return 0, errors.New("audit: no entries")
	}
	leaves := make([]Leaf, len(entries))
	for i, e := range entries {
		if e.ID == "" || e.Subject == "" || e.Kind == "" {
			return 0, fmt.Errorf("audit: entry needs an id, a subject and a kind")
		}
		e.Time = e.Time.UTC()
		salt := make([]byte, SaltSize)
		if _, err := io.ReadFull(l.cfg.Rand, salt); err != nil {
			return 0, fmt.Errorf("audit: salt: %w", err)
		}
		// An entry that does not encode (a time past year 9999) would commit
		// to its salt alone, and any entry would then match its proof.
		b, err := json.Marshal(e)
		if err != nil {
			return 0, fmt.Errorf("audit: entry %s: %w", e.ID, err)
		}
		leaves[i] = Leaf{EntryID: e.ID, Subject: e.Subject, Time: e.Time.UnixMicro(), Commitment: commitment(b, salt),
			Sealed: l.cfg.Sealer.Seal(sealedJSON(b, salt), sealContext(e.ID)), Usage: UsageOf(e)}
	}
	req := appendReq{ctx: ctx, leaves: leaves, res: make(chan appendRes, 1)}
	select {
	case l.reqs <- req:
	case <-l.done:
		return 0, fmt.Errorf("%w: log closed", ErrUnavailable)
	case <-ctx.Done():
		return 0, fmt.Errorf("%w: %w", ErrUnavailable, ctx.Err())
	}
	r := <-req.res // always answered: the sequencer owns the request now
	return r.index, r.err
}

func sealContext(id string) []byte { return []byte("audit/" + id) }

// WriteProber is implemented by stores that can check, without writing
// anything, that an append would be accepted now.
type WriteProber interface {
	ProbeWrite(ctx context.Context) error
}

// Ready reports whether appends can be committed: the log is open and its
// store accepts writes. It appends nothing, so readiness probes do not grow
// the public log.
func (l *Log) Ready(ctx context.Context) error {
	select {
	case <-l.done:
		return fmt.Errorf("%w: log closed", ErrUnavailable)
	default:
	}
	if p, ok := l.cfg.Store.(WriteProber); ok {
		if err := p.ProbeWrite(ctx); err != nil {
			return fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return nil
	}
	_, _, err := l.cfg.Store.Checkpoint(ctx)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return nil
}

// sequence batches concurrent appends into one transaction each.
func (l *Log) sequence() {
	defer l.wg.Done()
	loaded := false // the last batch held more than one caller's entries
	for {
		var batch []appendReq
		n := 0
		select {
		case r := <-l.reqs:
			batch, n = append(batch, r), len(r.leaves)
		case <-l.done:
			return
		}
		// Group commit: take what is already waiting; whatever arrives
		// while this batch commits forms the next, so under load batches
		// grow by themselves. Under load the batch also waits up to
		// Linger for more, which makes fewer and larger transactions; a
		// lone append after a lone append is committed at once.
		var linger <-chan time.Time // a timer no one holds is collected, fired or not
		if loaded && l.cfg.Linger > 0 {
			linger = time.After(l.cfg.Linger)
		}
	fill:
		for n < l.cfg.MaxBatch {
			if linger != nil {
				select {
				case r := <-l.reqs:
					batch, n = append(batch, r), n+len(r.leaves)
					continue
				case <-linger:
				case <-l.done:
				}
				linger = nil
			}
			select {
			case r := <-l.reqs:
				batch, n = append(batch, r), n+len(r.leaves)
			default:
				break fill
			}
		}
		loaded = len(batch) > 1
		l.commit(batch)
	}
}

func (l *Log) commit(batch []appendReq) {
	leaves := make([]Leaf, 0, len(batch))
	live := batch[:0]
	for _, r := range batch {
		if r.ctx.Err() != nil {
			r.res <- appendRes{err: fmt.Errorf("%w: %w", ErrUnavailable, r.ctx.Err())}
			continue
		}
		leaves = append(leaves, r.leaves...)
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l.batch = nil
	first, err := l.cfg.Store.AppendBatch(ctx, leaves, l.integrate)
	if err == nil {
		if len(l.known)+len(l.batch) > maxKnown {
			l.known = nil
		}
		if l.known == nil {
			l.known = make(map[int64]tlog.Hash, len(l.batch))
		}
		maps.Copy(l.known, l.batch)
	}
	for _, r := range live {
		if err != nil {
			r.res <- appendRes{err: fmt.Errorf("%w: %w", ErrUnavailable, err)}
		} else {
			r.res <- appendRes{index: first}
		}
		first += int64(len(r.leaves))
	}
}

// integrate computes the stored hashes for leaves appended at size and signs
// the checkpoint of the new tree.
func (l *Log) integrate(size int64, leaves []Leaf, r tlog.HashReader) ([]tlog.Hash, []byte, error) {
	var all []tlog.Hash
	pending := map[int64]tlog.Hash{}
	reader := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		var missing []int64
		var at []int
		for i, x := range idx {
			if h, ok := pending[x]; ok {
				out[i] = h
			} else if h, ok := l.known[x]; ok {
				out[i] = h
			} else {
				missing, at = append(missing, x), append(at, i)
			}
		}
		if len(missing) > 0 {
			got, err := r.ReadHashes(missing)
			if err != nil {
				return nil, err
			}
			for j, x := range missing {
				out[at[j]] = got[j]
				pending[x] = got[j] // read in this batch: known once it commits
			}
		}
		return out, nil
	})
	for i, lf := range leaves {
		n := size + int64(i)
		hs, err := tlog.StoredHashes(n, lf.Commitment, reader)
		if err != nil {
			return nil, nil, err
		}
		base := tlog.StoredHashIndex(0, n)
		for k, h := range hs {
			pending[base+int64(k)] = h
		}
		all = append(all, hs...)
	}
	newSize := size + int64(len(leaves))
	root, err := tlog.TreeHash(newSize, reader)
	if err != nil {
		return nil, nil, err
	}
	cp, err := note.Sign(&note.Note{Text: FormatCheckpoint(l.cfg.Origin, newSize, root)}, l.cfg.Signer)
	if err != nil {
		return nil, nil, err
	}
	l.batch = pending
	return all, cp, nil
}

// FormatCheckpoint is the C2SP tlog-checkpoint body.
func FormatCheckpoint(origin string, size int64, root tlog.Hash) string {
	return fmt.Sprintf("%s\n%d\n%s\n", origin, size, base64.StdEncoding.EncodeToString(root[:]))
}

// Checkpoint is a parsed, signature-checked checkpoint.
type Checkpoint struct {
	Origin string
	Size   int64
	Root   tlog.Hash
	Note   []byte
}

// OpenCheckpoint checks msg's signature with verifier and parses it.
func OpenCheckpoint(msg []byte, verifier note.Verifier) (Checkpoint, error) {
	n, err := note.Open(msg, note.VerifierList(verifier))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("%w: %v", ErrBadCheckpoint, err)
	}
	lines := strings.SplitN(n.Text, "\n", 4)
	if len(lines) < 4 {
		return Checkpoint{}, fmt.Errorf("%w: too few lines", ErrBadCheckpoint)
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 {
		return Checkpoint{}, fmt.Errorf("%w: size", ErrBadCheckpoint)
	}
	rb, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(rb) != tlog.HashSize {
		return Checkpoint{}, fmt.Errorf("%w: root", ErrBadCheckpoint)
	}
	var root tlog.Hash
	copy(root[:], rb)
	return Checkpoint{Origin: lines[0], Size: size, Root: root, Note: msg}, nil
}

// Close stops accepting appends and waits for the sequencer to finish the
// batch in flight.
func (l *Log) Close(ctx context.Context) error {
	l.closed.Do(func() { close(l.done) })
	ch := make(chan struct{})
	go func() { l.wg.Wait(); close(ch) }()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
