// Package secrets reads Obert's keys and credentials from HashiCorp Vault
// (or a compatible server): KV v2 secrets read at use, cached briefly so a
// rotation is picked up without a restart, and Transit for envelope
// encryption of stored facts (the data keys are wrapped by a key that never
// leaves Vault).
package secrets

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	vault "github.com/hashicorp/vault/api"
)

// Config configures the Vault client.
type Config struct {
	Addr  string
	Token string
	// TokenFile, if set, is read again as the token is kept (Vault Agent's
	// sink); it wins over Token when it holds one.
	TokenFile string
	KVMount   string        // default "secret"
	Prefix    string        // path prefix of Obert's secrets, default "obert"
	Transit   string        // Transit mount, default "transit"
	TTL       time.Duration // how long a read secret is reused, default 1 min
	Now       func() time.Time
	// Wrap, if set, wraps the client's HTTP transport (metrics).
	Wrap func(http.RoundTripper) http.RoundTripper
}

// Vault reads secrets and wraps data keys.
type Vault struct {
	c   *vault.Client
	cfg Config

	mu    sync.Mutex
	cache map[string]cached
}

type cached struct {
	data    map[string]any
	version int
	at      time.Time
}

// New connects to Vault and checks the token can be used.
func New(ctx context.Context, cfg Config) (*Vault, error) {
	if cfg.TokenFile != "" {
		b, err := os.ReadFile(cfg.TokenFile)
		if err != nil {
			return nil, fmt.Errorf("secrets: token file: %w", err)
		}
		cfg.Token = strings.TrimSpace(string(b))
	}
	if cfg.Addr == "" || cfg.Token == "" {
		return nil, errors.New("secrets: Vault address and token are required")
	}
	if cfg.KVMount == "" {
		cfg.KVMount = "secret"
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "obert"
	}
	if cfg.Transit == "" {
		cfg.Transit = "transit"
	}
	if cfg.TTL == 0 {
		cfg.TTL = time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	vc := vault.DefaultConfig()
	vc.Address = cfg.Addr
	vc.Timeout = 10 * time.Second
	if cfg.Wrap != nil {
		vc.HttpClient.Transport = cfg.Wrap(vc.HttpClient.Transport)
	}
	c, err := vault.NewClient(vc)
	if err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	c.SetToken(cfg.Token)
	if _, err := c.Auth().Token().LookupSelfWithContext(ctx); err != nil {
		return nil, fmt.Errorf("secrets: Vault at %s refuses the token: %w", cfg.Addr, err)
	}
	return &Vault{c: c, cfg: cfg, cache: map[string]cached{}}, nil
}

// Ready reports whether Vault answers and still accepts the token.
func (v *Vault) Ready(ctx context.Context) error {
	if _, err := v.c.Auth().Token().LookupSelfWithContext(ctx); err != nil {
		return fmt.Errorf("secrets: Vault: %w", err)
	}
	return nil
}

// KeepToken keeps the token usable until ctx ends: a renewable token is
// renewed when half its time to live has passed, and with TokenFile (kept
// fresh by Vault Agent) the file is read again at each turn and a new token
// in it is used. A failure is logged by the caller through errs and tried
// again at the next turn.
func (v *Vault) KeepToken(ctx context.Context, every time.Duration, errs func(error)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := v.refreshToken(ctx); err != nil {
			errs(err)
		}
	}
}

func (v *Vault) refreshToken(ctx context.Context) error {
	if v.cfg.TokenFile != "" {
		b, err := os.ReadFile(v.cfg.TokenFile)
		if err != nil {
			return fmt.Errorf("secrets: token file: %w", err)
		}
		if tok := strings.TrimSpace(string(b)); tok != "" && tok != v.c.Token() {
			v.c.SetToken(tok)
			return nil
		}
	}
	self, err := v.c.Auth().Token().LookupSelfWithContext(ctx)
	if err != nil {
		return fmt.Errorf("secrets: token: %w", err)
	}
	renewable, _ := self.TokenIsRenewable()
	ttl, _ := self.TokenTTL()
	if !renewable || ttl <= 0 {
		return nil // a root or periodic-less token that does not expire, or one Agent renews
	}
	if _, err := v.c.Auth().Token().RenewSelfWithContext(ctx, 0); err != nil {
		return fmt.Errorf("secrets: token renewal: %w", err)
	}
	return nil
}

// Client is the underlying Vault client (for set-up and tests).
func (v *Vault) Client() *vault.Client { return v.c }

// ErrNoSecret is returned for a secret or field that is not in Vault.
var ErrNoSecret = errors.New("secrets: not in Vault")

// Get returns the field of the KV v2 secret at Prefix/path, read from Vault
// at most every TTL, and the secret's version.
func (v *Vault) Get(ctx context.Context, path, field string) (string, int, error) {
	full := v.cfg.Prefix + "/" + path
	v.mu.Lock()
	c, ok := v.cache[full]
	v.mu.Unlock()
	if !ok || v.cfg.Now().Sub(c.at) >= v.cfg.TTL {
		s, err := v.c.KVv2(v.cfg.KVMount).Get(ctx, full)
		if errors.Is(err, vault.ErrSecretNotFound) {
			return "", 0, fmt.Errorf("%w: %s", ErrNoSecret, full)
		}
		if err != nil {
			if ok { // Vault unreachable: keep using what was read
				return fieldOf(c, full, field)
			}
			return "", 0, fmt.Errorf("secrets: read %s: %w", full, err)
		}
		c = cached{data: s.Data, at: v.cfg.Now()}
		if s.VersionMetadata != nil {
			c.version = s.VersionMetadata.Version
		}
		v.mu.Lock()
		v.cache[full] = c
		v.mu.Unlock()
	}
	return fieldOf(c, full, field)
}

func fieldOf(c cached, full, field string) (string, int, error) {
	s, ok := c.data[field].(string)
	if !ok || s == "" {
		return "", 0, fmt.Errorf("%w: %s#%s", ErrNoSecret, full, field)
	}
	return s, c.version, nil
}

// Put writes a KV v2 secret at Prefix/path (operators' and tests' use).
func (v *Vault) Put(ctx context.Context, path string, data map[string]any) error {
	_, err := v.c.KVv2(v.cfg.KVMount).Put(ctx, v.cfg.Prefix+"/"+path, data)
	return err
}

// Envelope seals data with AES-256-GCM under a data key that Vault Transit
// generates and wraps with key (which never leaves Vault). The wrapped data
// key travels with each sealed value, so any replica opens it by asking
// Vault to unwrap; plain data keys are kept in memory only.
type Envelope struct {
	v    *Vault
	key  string
	mu   sync.Mutex
	cur  dataKey           // the key new values are sealed with
	open map[string][]byte // wrapped → plain, for opening
	made time.Time
	life time.Duration
}

type dataKey struct {
	wrapped string
	aead    cipher.AEAD
}

// NewEnvelope returns an envelope sealer over Transit key (created if it
// does not exist); a new data key is made every life.
func (v *Vault) NewEnvelope(ctx context.Context, key string, life time.Duration) (*Envelope, error) {
	// Created once; an existing key's configuration (its rotation, its
	// minimum decryption version) is the operator's and is left alone.
	existing, err := v.c.Logical().ReadWithContext(ctx, v.cfg.Transit+"/keys/"+key)
	if err != nil {
		return nil, fmt.Errorf("secrets: transit key %s: %w", key, err)
	}
	if existing == nil {
		if _, err := v.c.Logical().WriteWithContext(ctx, v.cfg.Transit+"/keys/"+key, map[string]any{"type": "aes256-gcm96"}); err != nil {
			return nil, fmt.Errorf("secrets: transit key %s: %w", key, err)
		}
	}
	e := &Envelope{v: v, key: key, open: map[string][]byte{}, life: life}
	if err := e.rotate(ctx); err != nil {
		return nil, err
	}
	return e, nil
}

func (e *Envelope) rotate(ctx context.Context) error {
	s, err := e.v.c.Logical().WriteWithContext(ctx, e.v.cfg.Transit+"/datakey/plaintext/"+e.key, map[string]any{"bits": 256})
	if err != nil || s == nil {
		return fmt.Errorf("secrets: data key: %w", err)
	}
	plainB64, _ := s.Data["plaintext"].(string)
	wrapped, _ := s.Data["ciphertext"].(string)
	plain, err := base64.StdEncoding.DecodeString(plainB64)
	if err != nil || len(plain) != 32 || wrapped == "" {
		return errors.New("secrets: Transit returned no usable data key")
	}
	a, err := aeadOf(plain)
	if err != nil {
		return err
	}
	e.cur, e.made = dataKey{wrapped: wrapped, aead: a}, e.v.cfg.Now()
	e.open[wrapped] = plain
	return nil
}

func aeadOf(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

const envelopeTag = "ov1"

// Seal implements the gateway's Sealer: tag ‖ len ‖ wrapped key ‖ nonce ‖
// ciphertext, bound to context. A new data key is fetched when the current
// one is older than its life; if Vault cannot be reached then, the current
// key goes on (sealing never waits on Vault).
func (e *Envelope) Seal(plaintext, context []byte) []byte {
	e.mu.Lock()
	if e.v.cfg.Now().Sub(e.made) >= e.life {
		ctx, cancel := contextWithTimeout()
		if err := e.rotate(ctx); err != nil {
			e.made = e.v.cfg.Now() // try again after another life
		}
		cancel()
	}
	k := e.cur
	e.mu.Unlock()
	nonce := make([]byte, k.aead.NonceSize())
	rand.Read(nonce)
	out := make([]byte, 0, len(envelopeTag)+2+len(k.wrapped)+len(nonce)+len(plaintext)+k.aead.Overhead())
	out = append(out, envelopeTag...)
	out = binary.BigEndian.AppendUint16(out, uint16(len(k.wrapped)))
	out = append(out, k.wrapped...)
	out = append(out, nonce...)
	return k.aead.Seal(out, nonce, plaintext, context)
}

// Open implements the gateway's Sealer.
func (e *Envelope) Open(sealed, context []byte) ([]byte, error) {
	if len(sealed) < len(envelopeTag)+2 || string(sealed[:len(envelopeTag)]) != envelopeTag {
		return nil, errors.New("secrets: not an envelope")
	}
	rest := sealed[len(envelopeTag):]
	n := int(binary.BigEndian.Uint16(rest))
	if len(rest) < 2+n {
		return nil, errors.New("secrets: truncated envelope")
	}
	wrapped, rest := string(rest[2:2+n]), rest[2+n:]
	e.mu.Lock()
	plain, ok := e.open[wrapped]
	e.mu.Unlock()
	if !ok {
		ctx, cancel := contextWithTimeout()
		defer cancel()
		s, err := e.v.c.Logical().WriteWithContext(ctx, e.v.cfg.Transit+"/decrypt/"+e.key, map[string]any{"ciphertext": wrapped})
		if err != nil || s == nil {
			return nil, fmt.Errorf("secrets: unwrap data key: %w", err)
		}
		b64, _ := s.Data["plaintext"].(string)
		if plain, err = base64.StdEncoding.DecodeString(b64); err != nil || len(plain) != 32 {
			return nil, errors.New("secrets: Transit returned no usable data key")
		}
		e.mu.Lock()
		e.open[wrapped] = plain
		e.mu.Unlock()
	}
	a, err := aeadOf(plain)
	if err != nil {
		return nil, err
	}
	if len(rest) < a.NonceSize() {
		return nil, errors.New("secrets: truncated envelope")
	}
	return a.Open(nil, rest[:a.NonceSize()], rest[a.NonceSize():], context)
}

func contextWithTimeout() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 10*time.Second)
}
