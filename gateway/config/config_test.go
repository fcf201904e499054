package config

import (
	"io"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDevDefaults(t *testing.T) {
	c, err := Load(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !c.DevMode() || !c.DevIdP() || !c.DevSim() || c.DatabaseURL != "sqlite:./.data/obert.db" ||
		c.PublicURL != "http://127.0.0.1:8080" || c.AuditOrigin != "127.0.0.1:8080/audit" {
		t.Fatalf("dev defaults: %+v", c)
	}
}

func TestFlagWinsOverEnv(t *testing.T) {
	c, err := Load([]string{"-addr", "127.0.0.1:9000"}, env(map[string]string{"OBERT_ADDR": "127.0.0.1:7000", "OBERT_LOG_LEVEL": "debug"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9000" || c.LogLevel != "debug" {
		t.Fatalf("precedence: %+v", c)
	}
}

func TestProdRefusesDevAndMissingSecrets(t *testing.T) {
	_, err := Load(nil, env(map[string]string{"OBERT_MODE": "prod", "OBERT_PUBLIC_URL": "http://obert.example"}), io.Discard)
	if err == nil {
		t.Fatal("prod started with nothing configured")
	}
	for _, want := range []string{"OBERT_PUBLIC_URL must be an https", "OBERT_DATABASE_URL is required", "OBERT_SECRET_KEY",
		"OBERT_AUDIT_SIGNING_KEY", "no sign-in provider", "OBERT_VIAOBERTA_URL is required"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("prod error does not say %q:\n%v", want, err)
		}
	}
	good := map[string]string{
		"OBERT_MODE": "prod", "OBERT_PUBLIC_URL": "https://obert.example", "OBERT_DATABASE_URL": "postgres://db/obert",
		"OBERT_SECRET_KEY": strings.Repeat("ab", 32), "OBERT_AUDIT_SIGNING_KEY": "PRIVATE+KEY+x",
		"OBERT_IDCAT_ISSUER": "https://idcat.example", "OBERT_IDCAT_CLIENT_ID": "obert", "OBERT_IDCAT_CLIENT_SECRET": "s",
		"OBERT_VIAOBERTA_URL": "https://via-oberta.example/scsp", "OBERT_SCSP_KEY_FILE": "/k", "OBERT_SCSP_CERT_FILE": "/c",
		"OBERT_VIAOBERTA_CERT_FILE": "/v", "OBERT_DOCUMENT_KEY_FILE": "/dk", "OBERT_DOCUMENT_CERT_FILE": "/dc",
	}
	c, err := Load(nil, env(good), io.Discard)
	if err != nil {
		t.Fatalf("complete prod config refused: %v", err)
	}
	if c.DevIdP() || c.DevSim() {
		t.Fatal("prod would start a development provider")
	}
	if c.SCSPRSA != "auto" {
		t.Errorf("OBERT_SCSP_RSA defaults to %q", c.SCSPRSA)
	}
	for k, v := range map[string]string{"OBERT_IDCAT_ISSUER": "http://idcat.example", "OBERT_VIAOBERTA_URL": "http://x", "OBERT_DATABASE_URL": "sqlite::memory:", "OBERT_IDCAT_CLIENT_SECRET": "", "OBERT_SCSP_RSA": "openssl"} {
		m := map[string]string{}
		for a, b := range good {
			m[a] = b
		}
		m[k] = v
		if _, err := Load(nil, env(m), io.Discard); err == nil {
			t.Errorf("prod accepted %s=%q", k, v)
		}
	}
	if _, err := Load(nil, env(map[string]string{"OBERT_MODE": "staging"}), io.Discard); err == nil {
		t.Fatal("unknown mode accepted")
	}
}
