package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/obert-gov/obert/connectors/sim"
	"github.com/obert-gov/obert/gateway"
	"github.com/obert-gov/obert/gateway/config"
)

// TestConnectorRegister: gatewayctl registers a connector through a live
// gateway's API with client credentials, then updates it.
func TestConnectorRegister(t *testing.T) {
	ctx := context.Background()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	base := "http://" + ln.Addr().String()
	cfg, err := config.Load([]string{"-addr", ln.Addr().String(), "-public-url", base, "-data-dir", t.TempDir(),
		"-dev-idp-addr", "127.0.0.1:0", "-dev-clave-addr", "127.0.0.1:0", "-sim-addr", "127.0.0.1:0", "-dev-smtp-addr", "127.0.0.1:0"}, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	g, err := gateway.New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(g.Handler)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(func() { srv.Close(); g.Close(ctx) })

	resp, _ := http.Get(g.Dev.SimURL + "/certificate")
	cert, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := map[string]string{"title": "Dependency", "what": "w", "from": "f", "why": "y", "how_long": "h", "who_else": "n", "if_no": "i",
		"requester": "r", "source": "s"}
	reg := map[string]any{"id": "dependency-cli", "category": "dependency", "source": "gencat-sisaad", "service_code": sim.ServiceDependency,
		"endpoint": g.Dev.SimURL + "/scsp/dependency", "certificate": string(cert), "namespace": sim.NSDependency,
		"fields": []map[string]any{{"name": "dependency_grade", "element": "Grau", "type": "int",
			"labels": map[string]string{"ca": "Grau de dependència", "es": "Grado de dependencia", "en": "Dependency grade"}}},
		"purposes": []string{"aid-recommendation"}, "legal_bases": []string{"gdpr-6-1-a"}, "min_loa": "substantial", "retention": "720h",
		"texts":   map[string]any{"ca": text, "es": text, "en": text},
		"sandbox": map[string]string{"doc_type": "NIF", "doc_number": g.Dev.Citizens[4].DocNumber}}
	file := filepath.Join(t.TempDir(), "connector.json")
	b, _ := json.Marshal(reg)
	os.WriteFile(file, b, 0o600)
	secret := g.Dev.AdminClients["sandbox-gencat"].Secret
	env := func(k string) string {
		if k == "OBERT_ADMIN_CLIENT_SECRET" {
			return secret
		}
		return ""
	}
	args := []string{"connector", "register", file, "--api", base, "--token-url", g.Dev.IdPURL + "/token", "--client-id", "sandbox-gencat"}
	var out, errb bytes.Buffer
	if code := run(ctx, args, &out, &errb, env); code != 0 || !strings.Contains(out.String(), "dependency-cli registered") {
		t.Fatalf("register: exit %d: %s %s", code, out.String(), errb.String())
	}
	out.Reset()
	if code := run(ctx, args, &out, &errb, env); code != 0 || !strings.Contains(out.String(), "dependency-cli updated") {
		t.Fatalf("update: exit %d: %s %s", code, out.String(), errb.String())
	}
	// A wrong secret is refused.
	out.Reset()
	errb.Reset()
	bad := func(k string) string { return "wrong" }
	if code := run(ctx, args, &out, &errb, bad); code == 0 {
		t.Fatalf("a wrong secret registered: %s", out.String())
	}
}
