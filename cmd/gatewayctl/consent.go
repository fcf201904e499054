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
	status := fs.String("status", "", "where to ask whether the receipt still stands: Obert's base URL (default: the keys URL's, when it is one; \"none\" not to ask)")
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
	// A receipt verifies for ever; whether it still states its grant as it
	// is, Obert says (signed): a later withdrawal or pause supersedes it.
	base := *status
	if base == "" && (strings.HasPrefix(*keys, "http://") || strings.HasPrefix(*keys, "https://")) {
		base = strings.TrimSuffix(*keys, "/consent/receipt-keys")
	}
	if base == "" || base == "none" {
		return 0
	}
	st, err := receiptStatus(ctx, strings.TrimSuffix(base, "/")+"/consent/receipts/"+r.ReceiptID+"/status", set)
	if err != nil {
		fmt.Fprintf(stderr, "gatewayctl consent verify-receipt: status: %v\n", err)
		return 2
	}
	if st.ReceiptID != r.ReceiptID {
		fmt.Fprintf(stderr, "gatewayctl consent verify-receipt: the status answers for another receipt (%s)\n", st.ReceiptID)
		return 1
	}
	if st.Superseded {
		fmt.Fprintf(stdout, "superseded: the consent is now %s (receipt %s), as of %s\n", st.Status, st.Current,
			time.Unix(st.AsOf, 0).UTC().Format(time.RFC3339))
		return 1
	}
	fmt.Fprintf(stdout, "current: the consent is still %s, as of %s\n", st.Status, time.Unix(st.AsOf, 0).UTC().Format(time.RFC3339))
	return 0
}

// receiptStatus asks Obert for a receipt's status and checks its signature.
func receiptStatus(ctx context.Context, url string, keys jose.JSONWebKeySet) (consent.ReceiptStatus, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return consent.ReceiptStatus{}, err
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return consent.ReceiptStatus{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return consent.ReceiptStatus{}, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	var doc struct {
		JWS string `json:"jws"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&doc); err != nil {
		return consent.ReceiptStatus{}, err
	}
	return consent.VerifyStatus(doc.JWS, keys)
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
