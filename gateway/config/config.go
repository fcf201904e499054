// Package config reads gatewayd's configuration from flags and OBERT_*
// environment variables (a flag wins over its variable) and enforces the
// rules of the two modes: dev may use generated keys, the development
// sign-in provider and the Via Oberta simulator; prod may not.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Modes.
const (
	Dev  = "dev"
	Prod = "prod"
)

// Config is gatewayd's configuration.
type Config struct {
	Mode             string
	Addr             string
	PublicURL        string
	DatabaseURL      string
	DataDir          string
	SecretKey        string // hex, 32+ bytes: root of subject keys and sealing
	AuditSigningKey  string // note signer key of the audit checkpoints
	AuditOrigin      string
	ClaveIdPMetadata string
	ClaveKeyFile     string // PEM key that signs our SAML messages and metadata
	ClaveCertFile    string
	ClaveEncKeyFile  string // PEM key assertions are encrypted to
	ClaveEncCertFile string
	ClaveLoA         string // minimum level of assurance requested
	DevClaveAddr     string
	AdminIssuer      string // OAuth2/OIDC issuer of the administrations' access tokens
	AdminAudience    string
	IdcatIssuer      string
	IdcatClientID    string
	IdcatSecret      string
	VaultAddr        string
	VaultToken       string
	VaultTokenFile   string // kept fresh by Vault Agent; read again as the token is kept
	SMTPURL          string
	DevSMTPAddr      string // dev only: the development mail box (an SMTP sink)
	ViaObertaURL     string // empty in dev: the in-process simulator
	SCSPKeyFile      string // PEM key that signs SCSP requests (dev: generated)
	SCSPCertFile     string // its certificate
	ViaObertaCert    string // PEM certificate Via Oberta signs answers with
	// SCSPRSA is what makes the SCSP requests' RSA signatures: auto (the
	// system's libcrypto where it loads, else Go's crypto/rsa), libcrypto
	// (refuse to start without it) or go.
	SCSPRSA          string
	DocumentKeyFile  string // PEM key that signs the citizens' documents (dev: generated)
	DocumentCertFile string // its certificate
	DevIdPAddr       string
	SimAddr          string
	// DevPopulation is how many synthetic citizens the development
	// providers offer (and the in-process simulator holds): a simulator
	// run apart (OBERT_VIAOBERTA_URL in dev) must hold the same
	// (viaoberta-sim -seed 2026 -population N).
	DevPopulation   int
	LogLevel        string
	LogFormat       string
	ShutdownTimeout time.Duration
	// TrustedProxies are the reverse proxies (CIDRs, comma-separated)
	// whose X-Forwarded-For is believed for the client's address.
	TrustedProxies string
	// OpsAddr, if set, serves /metrics (and the probes) on a listener of
	// its own instead of the public one.
	OpsAddr string
}

type setting struct {
	name, env, def, help string
	dst                  *string
}

func (c *Config) settings() []setting {
	return []setting{
		{"mode", "OBERT_MODE", Dev, "dev or prod", &c.Mode},
		{"addr", "OBERT_ADDR", "127.0.0.1:8080", "listen address", &c.Addr},
		{"public-url", "OBERT_PUBLIC_URL", "", "public base URL (https in prod; dev: http://ADDR)", &c.PublicURL},
		{"database", "OBERT_DATABASE_URL", "", "sqlite:PATH or postgres://… (dev: sqlite under the data dir)", &c.DatabaseURL},
		{"data-dir", "OBERT_DATA_DIR", "./.data", "directory for dev data and generated dev keys", &c.DataDir},
		{"secret-key", "OBERT_SECRET_KEY", "", "hex root secret, 32+ bytes (dev: generated into the data dir)", &c.SecretKey},
		{"audit-signing-key", "OBERT_AUDIT_SIGNING_KEY", "", "note signer key of the audit log (dev: generated)", &c.AuditSigningKey},
		{"audit-origin", "OBERT_AUDIT_ORIGIN", "", "origin line of the audit checkpoints (default: public URL host + /audit)", &c.AuditOrigin},
		{"clave-idp-metadata", "OBERT_CLAVE_IDP_METADATA", "", "Cl@ve IdP metadata URL or file", &c.ClaveIdPMetadata},
		{"clave-key-file", "OBERT_CLAVE_KEY_FILE", "", "PEM key that signs Cl@ve requests and our SP metadata (dev: generated)", &c.ClaveKeyFile},
		{"clave-cert-file", "OBERT_CLAVE_CERT_FILE", "", "PEM certificate of that key", &c.ClaveCertFile},
		{"clave-enc-key-file", "OBERT_CLAVE_ENC_KEY_FILE", "", "PEM key Cl@ve encrypts assertions to (dev: generated)", &c.ClaveEncKeyFile},
		{"clave-enc-cert-file", "OBERT_CLAVE_ENC_CERT_FILE", "", "PEM certificate of that key", &c.ClaveEncCertFile},
		{"clave-loa", "OBERT_CLAVE_LOA", "substantial", "minimum Cl@ve level of assurance: low, substantial or high", &c.ClaveLoA},
		{"admin-issuer", "OBERT_ADMIN_ISSUER", "", "issuer of the administrations' API access tokens (dev: the development provider)", &c.AdminIssuer},
		{"admin-audience", "OBERT_ADMIN_AUDIENCE", "obert-admin", "audience of the administrations' API access tokens", &c.AdminAudience},
		{"idcat-issuer", "OBERT_IDCAT_ISSUER", "", "IdCAT OpenID issuer (dev: the development provider)", &c.IdcatIssuer},
		{"idcat-client-id", "OBERT_IDCAT_CLIENT_ID", "", "IdCAT client id", &c.IdcatClientID},
		{"idcat-client-secret", "OBERT_IDCAT_CLIENT_SECRET", "", "IdCAT client secret", &c.IdcatSecret},
		{"vault-addr", "OBERT_VAULT_ADDR", "", "Vault address for keys and credentials", &c.VaultAddr},
		{"vault-token", "VAULT_TOKEN", "", "Vault token", &c.VaultToken},
		{"vault-token-file", "OBERT_VAULT_TOKEN_FILE", "", "file holding the Vault token, kept fresh by Vault Agent (read again every minute; wins over VAULT_TOKEN)", &c.VaultTokenFile},
		{"smtp-url", "OBERT_SMTP_URL", "", "SMTP server for alerts: smtp[s]://[user:pass@]host[:port]?from=ADDRESS (dev: the development mail box)", &c.SMTPURL},
		{"dev-smtp-addr", "OBERT_DEV_SMTP_ADDR", "127.0.0.1:8025", "dev only: address of the development mail box (an SMTP server that keeps what it receives, shown at /dev/mail)", &c.DevSMTPAddr},
		{"viaoberta-url", "OBERT_VIAOBERTA_URL", "", "Via Oberta SCSP endpoint (dev: the in-process simulator)", &c.ViaObertaURL},
		{"scsp-key-file", "OBERT_SCSP_KEY_FILE", "", "PEM key that signs SCSP requests (dev: generated)", &c.SCSPKeyFile},
		{"scsp-cert-file", "OBERT_SCSP_CERT_FILE", "", "PEM certificate of that key", &c.SCSPCertFile},
		{"scsp-rsa", "OBERT_SCSP_RSA", "auto", "what signs SCSP requests: auto (the system's libcrypto where it loads, else Go's crypto/rsa), libcrypto (refuse to start without it) or go", &c.SCSPRSA},
		{"viaoberta-cert-file", "OBERT_VIAOBERTA_CERT_FILE", "", "PEM certificate Via Oberta signs its answers with", &c.ViaObertaCert},
		{"document-key-file", "OBERT_DOCUMENT_KEY_FILE", "", "PEM RSA key that signs the documents citizens get (PDF, PAdES) (dev: generated)", &c.DocumentKeyFile},
		{"document-cert-file", "OBERT_DOCUMENT_CERT_FILE", "", "PEM certificate of that key, embedded in every signed document", &c.DocumentCertFile},
		{"dev-clave-addr", "OBERT_DEV_CLAVE_ADDR", "127.0.0.1:8092", "dev only: address of the development Cl@ve IdP", &c.DevClaveAddr},
		{"dev-idp-addr", "OBERT_DEV_IDP_ADDR", "127.0.0.1:8090", "dev only: address of the development IdCAT provider", &c.DevIdPAddr},
		{"sim-addr", "OBERT_SIM_ADDR", "127.0.0.1:8091", "dev only: address of the Via Oberta simulator", &c.SimAddr},
		{"log-level", "OBERT_LOG_LEVEL", "info", "debug, info, warn or error", &c.LogLevel},
		{"log-format", "OBERT_LOG_FORMAT", "text", "text or json", &c.LogFormat},
		{"ops-addr", "OBERT_OPS_ADDR", "", "separate listen address for /metrics, /healthz and /readyz (empty: /metrics on the main address)", &c.OpsAddr},
		{"trusted-proxies", "OBERT_TRUSTED_PROXIES", "", "reverse proxies whose X-Forwarded-For is believed: comma-separated CIDRs or addresses (none: the peer's address counts)", &c.TrustedProxies},
	}
}

// Load reads args and the environment.
func Load(args []string, getenv func(string) string, usage io.Writer) (Config, error) {
	var c Config
	fs := flag.NewFlagSet("gatewayd", flag.ContinueOnError)
	fs.SetOutput(usage)
	for _, s := range c.settings() {
		def := s.def
		if v := getenv(s.env); v != "" {
			def = v
		}
		fs.StringVar(s.dst, s.name, def, s.help+" ["+s.env+"]")
	}
	shutdown := "20s"
	if v := getenv("OBERT_SHUTDOWN_TIMEOUT"); v != "" {
		shutdown = v
	}
	st := fs.String("shutdown-timeout", shutdown, "time to finish requests in flight [OBERT_SHUTDOWN_TIMEOUT]")
	pop := "60"
	if v := getenv("OBERT_DEV_POPULATION"); v != "" {
		pop = v
	}
	popFlag := fs.String("dev-population", pop, "dev only: synthetic citizens of the development providers and simulator (seed 2026) [OBERT_DEV_POPULATION]")
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	d, err := time.ParseDuration(*st)
	if err != nil || d <= 0 {
		return Config{}, fmt.Errorf("config: OBERT_SHUTDOWN_TIMEOUT %q is not a positive duration", *st)
	}
	c.ShutdownTimeout = d
	if c.DevPopulation, err = strconv.Atoi(*popFlag); err != nil || c.DevPopulation < 1 || c.DevPopulation > 100_000 {
		return Config{}, fmt.Errorf("config: OBERT_DEV_POPULATION %q is not a number from 1 to 100000", *popFlag)
	}
	if c.Mode != Dev && c.Mode != Prod {
		return Config{}, fmt.Errorf("config: OBERT_MODE must be dev or prod, not %q", c.Mode)
	}
	if c.Mode == Dev {
		if c.PublicURL == "" {
			c.PublicURL = "http://" + c.Addr
		}
		if c.DatabaseURL == "" {
			c.DatabaseURL = "sqlite:" + strings.TrimSuffix(c.DataDir, "/") + "/obert.db"
		}
	}
	if c.AuditOrigin == "" {
		if u, err := url.Parse(c.PublicURL); err == nil && u.Host != "" {
			c.AuditOrigin = u.Host + "/audit"
		}
	}
	return c, c.Validate()
}

// DevMode reports whether development defaults are allowed.
func (c Config) DevMode() bool { return c.Mode == Dev }

// DevIdP reports whether the development IdCAT provider is to be started:
// in dev mode when no real issuer is configured.
func (c Config) DevIdP() bool { return c.DevMode() && c.IdcatIssuer == "" }

// DevClave reports whether the development Cl@ve IdP is to be started: in
// dev mode when no real IdP metadata is configured.
func (c Config) DevClave() bool { return c.DevMode() && c.ClaveIdPMetadata == "" }

// DevSim reports whether the Via Oberta simulator is to be started.
func (c Config) DevSim() bool { return c.DevMode() && c.ViaObertaURL == "" }

// Validate checks the configuration; in prod it lists every problem at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.DatabaseURL == "" {
		bad("OBERT_DATABASE_URL is required")
	}
	switch c.ClaveLoA {
	case "low", "substantial", "high":
	default:
		bad("OBERT_CLAVE_LOA must be low, substantial or high (got %q)", c.ClaveLoA)
	}
	switch c.SCSPRSA {
	case "auto", "libcrypto", "go":
	default:
		bad("OBERT_SCSP_RSA must be auto, libcrypto or go (got %q)", c.SCSPRSA)
	}
	for _, f := range strings.Split(c.TrustedProxies, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		if _, err := netip.ParsePrefix(f); err != nil {
			if _, err := netip.ParseAddr(f); err != nil {
				bad("OBERT_TRUSTED_PROXIES: %q is not a CIDR or an address", f)
			}
		}
	}
	if c.Mode == Prod {
		u, err := url.Parse(c.PublicURL)
		if c.PublicURL == "" || err != nil || u.Scheme != "https" || u.Host == "" {
			bad("OBERT_PUBLIC_URL must be an https:// URL in prod (got %q)", c.PublicURL)
		}
		if strings.Contains(c.DatabaseURL, ":memory:") {
			bad("OBERT_DATABASE_URL must not be an in-memory database in prod")
		}
		if c.VaultAddr == "" && c.SecretKey == "" {
			bad("OBERT_SECRET_KEY is required in prod without Vault (hex, at least 32 bytes); with OBERT_VAULT_ADDR it is read from obert/gateway#secret_key")
		}
		if c.VaultAddr == "" && c.AuditSigningKey == "" {
			bad("OBERT_AUDIT_SIGNING_KEY is required in prod without Vault (a note signer key); with OBERT_VAULT_ADDR it is read from obert/audit#signing_key")
		}
		if c.VaultAddr != "" && c.VaultToken == "" && c.VaultTokenFile == "" {
			bad("VAULT_TOKEN or OBERT_VAULT_TOKEN_FILE is required with OBERT_VAULT_ADDR")
		}
		if c.IdcatIssuer == "" && c.ClaveIdPMetadata == "" {
			bad("no sign-in provider: set OBERT_IDCAT_ISSUER or OBERT_CLAVE_IDP_METADATA (the development provider is not allowed in prod)")
		}
		if c.SMTPURL != "" {
			if u, err := url.Parse(c.SMTPURL); err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Query().Get("starttls") == "none" {
				bad("OBERT_SMTP_URL must be smtp:// (with STARTTLS) or smtps:// in prod")
			}
		}
		if c.AdminIssuer != "" {
			if u, err := url.Parse(c.AdminIssuer); err != nil || u.Scheme != "https" {
				bad("OBERT_ADMIN_ISSUER must be an https:// URL in prod (got %q)", c.AdminIssuer)
			}
		}
		if c.IdcatIssuer != "" {
			if u, err := url.Parse(c.IdcatIssuer); err != nil || u.Scheme != "https" {
				bad("OBERT_IDCAT_ISSUER must be an https:// URL in prod (got %q)", c.IdcatIssuer)
			}
			if c.IdcatClientID == "" || c.IdcatSecret == "" {
				bad("OBERT_IDCAT_CLIENT_ID and OBERT_IDCAT_CLIENT_SECRET are required with OBERT_IDCAT_ISSUER")
			}
		}
		if c.ClaveIdPMetadata != "" && (c.ClaveKeyFile == "" || c.ClaveCertFile == "" || c.ClaveEncKeyFile == "" || c.ClaveEncCertFile == "") {
			bad("OBERT_CLAVE_KEY_FILE, OBERT_CLAVE_CERT_FILE, OBERT_CLAVE_ENC_KEY_FILE and OBERT_CLAVE_ENC_CERT_FILE are required with OBERT_CLAVE_IDP_METADATA")
		}
		if c.VaultAddr == "" && (c.SCSPKeyFile == "" || c.SCSPCertFile == "") {
			bad("OBERT_SCSP_KEY_FILE and OBERT_SCSP_CERT_FILE are required in prod without Vault (with it: obert/scsp#private_key and #certificate)")
		}
		if c.ViaObertaCert == "" {
			bad("OBERT_VIAOBERTA_CERT_FILE is required in prod")
		}
		if c.DocumentKeyFile == "" || c.DocumentCertFile == "" {
			bad("OBERT_DOCUMENT_KEY_FILE and OBERT_DOCUMENT_CERT_FILE are required in prod (the key that signs citizens' documents)")
		}
		if c.ViaObertaURL == "" {
			bad("OBERT_VIAOBERTA_URL is required in prod (the simulator is not allowed in prod)")
		} else if u, err := url.Parse(c.ViaObertaURL); err != nil || u.Scheme != "https" {
			bad("OBERT_VIAOBERTA_URL must be an https:// URL in prod (got %q)", c.ViaObertaURL)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("config: cannot start in %s mode:\n  - %w", c.Mode, joinLines(errs))
}

func joinLines(errs []error) error {
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return errors.New(strings.Join(msgs, "\n  - "))
}
