package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// runConnector registers (or updates) a connector from a file through the
// administrations' API, with the administration's client credentials.
func runConnector(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 || args[0] != "register" {
		fmt.Fprint(stderr, usage)
		return 2
	}
	fs := flag.NewFlagSet("connector register", flag.ContinueOnError)
	fs.SetOutput(stderr)
	api := fs.String("api", "", "base URL of Obert, e.g. https://obert.example")
	tokenURL := fs.String("token-url", "", "the OAuth2 token endpoint of the administrations' issuer")
	clientID := fs.String("client-id", "", "the administration's client id")
	secretEnv := "OBERT_ADMIN_CLIENT_SECRET"
	files, ok := parseWithFiles(fs, args[1:])
	if !ok {
		return 2
	}
	secret := getenv(secretEnv)
	if len(files) != 1 || *api == "" || *tokenURL == "" || *clientID == "" || secret == "" {
		fmt.Fprintln(stderr, "usage: gatewayctl connector register FILE --api URL --token-url URL --client-id ID   (secret in $"+secretEnv+")")
		return 2
	}
	body, err := os.ReadFile(files[0])
	if err != nil {
		fmt.Fprintf(stderr, "gatewayctl connector register: %v\n", err)
		return 2
	}
	var spec struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &spec); err != nil || spec.ID == "" {
		fmt.Fprintf(stderr, "gatewayctl connector register: %s is not a registration with an id\n", files[0])
		return 2
	}
	cc := clientcredentials.Config{ClientID: *clientID, ClientSecret: secret, TokenURL: *tokenURL}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, &http.Client{Timeout: 30 * time.Second})
	hc := cc.Client(ctx)
	hc.Timeout = 60 * time.Second
	base := strings.TrimSuffix(*api, "/") + "/admin/v1/connectors"
	// Update when it exists, against the version just read (the API
	// refuses it if someone changed it in between), register otherwise.
	method, url, etag := http.MethodPost, base, ""
	if resp, err := hc.Get(base + "/" + spec.ID); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			method, url, etag = http.MethodPut, base+"/"+spec.ID, resp.Header.Get("ETag")
		}
	} else {
		fmt.Fprintf(stderr, "gatewayctl connector register: %v\n", err)
		return 1
	}
	req, _ := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if etag != "" {
		req.Header.Set("If-Match", etag)
	}
	resp, err := hc.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "gatewayctl connector register: %v\n", err)
		return 1
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 300 {
		fmt.Fprintf(stderr, "gatewayctl connector register: %s\n%s\n", resp.Status, out)
		return 1
	}
	verb := "registered"
	if method == http.MethodPut {
		verb = "updated"
	}
	fmt.Fprintf(stdout, "connector %s %s and active\n", spec.ID, verb)
	return 0
}
