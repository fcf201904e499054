package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/obert-gov/obert/consent"
)

func runConsent(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "verify-receipt" {
		fmt.Fprint(stderr, usage)
		return 2
	}
	fs := flag.NewFlagSet("consent verify-receipt", flag.ContinueOnError)
	fs.SetOutput(stderr)
	keys := fs.String("keys", "", "the published receipt keys: a URL (https://obert.example/consent/receipt-keys) or a file")
	files, ok := parseWithFiles(fs, args[1:])
	if !ok {
		return 2
	}
	if len(files) != 1 || *keys == "" {
		fmt.Fprintln(stderr, "usage: gatewayctl consent verify-receipt FILE --keys URL|FILE")
		return 2
	}
	doc, err := os.ReadFile(files[0])
	if err != nil {
		fmt.Fprintf(stderr, "gatewayctl consent verify-receipt: %v\n", err)
		return 2
	}
	set, err := receiptKeys(ctx, *keys)
	if err != nil {
		fmt.Fprintf(stderr, "gatewayctl consent verify-receipt: keys: %v\n", err)
		return 2
	}
	r, err := consent.VerifyReceipt(doc, set)
	if err != nil {
		fmt.Fprintf(stderr, "gatewayctl consent verify-receipt: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "receipt %s verifies: %s consent to %s for %s (%s), legal basis %s, notice %s, given %s",
		r.ReceiptID, r.Status, strings.Join(r.Services[0].Purposes[0].PIICategory[:1], ""), r.Services[0].Purposes[0].Purpose,
		r.Services[0].Service, r.LegalBasis, r.TextVersion, time.Unix(r.ConsentTimestamp, 0).UTC().Format(time.RFC3339))
	if r.WithdrawnTimestamp != 0 {
		fmt.Fprintf(stdout, ", withdrawn %s", time.Unix(r.WithdrawnTimestamp, 0).UTC().Format(time.RFC3339))
	}
	fmt.Fprintln(stdout)
	return 0
}

// parseWithFiles parses flags that may come before or after the file
// arguments, as people type them, and returns the files.
func parseWithFiles(fs *flag.FlagSet, args []string) ([]string, bool) {
	var files []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			return nil, false
		}
		if fs.NArg() == 0 {
			break
		}
		files, args = append(files, fs.Arg(0)), fs.Args()[1:]
	}
	return files, true
}

// receiptKeys reads the published key set from a URL or a file.
func receiptKeys(ctx context.Context, src string) (jose.JSONWebKeySet, error) {
	var b []byte
	var err error
	if strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://") {
		req, rerr := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
		if rerr != nil {
			return jose.JSONWebKeySet{}, rerr
		}
		resp, rerr := (&http.Client{Timeout: 30 * time.Second}).Do(req)
		if rerr != nil {
			return jose.JSONWebKeySet{}, rerr
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return jose.JSONWebKeySet{}, fmt.Errorf("GET %s: %s", src, resp.Status)
		}
		b, err = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	} else {
		b, err = os.ReadFile(src)
	}
	if err != nil {
		return jose.JSONWebKeySet{}, err
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(b, &set); err != nil {
		return jose.JSONWebKeySet{}, err
	}
	if len(set.Keys) == 0 {
		return jose.JSONWebKeySet{}, errors.New("no keys")
	}
	return set, nil
}
