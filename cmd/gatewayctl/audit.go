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

	"golang.org/x/mod/sumdb/note"

	"github.com/obert-gov/obert/audit"
	"github.com/obert-gov/obert/gateway/transparency"
)

func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	fs := flag.NewFlagSet("audit "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	logURL := fs.String("log", "", "base URL of the public log, e.g. https://obert.example/log")
	since := fs.String("since", "", "file with an older checkpoint to prove consistency with")
	key := fs.String("key", "", "verifier key of the log (or a file holding it); default: fetched from LOG/key")
	switch args[0] {
	case "verify":
		if err := fs.Parse(args[1:]); err != nil {
			return 2
		}
		if *logURL == "" {
			fmt.Fprintln(stderr, "gatewayctl audit verify: --log URL is required")
			return 2
		}
		c := &transparency.Client{Base: *logURL, HTTP: &http.Client{Timeout: 30 * time.Second}}
		v, err := verifier(ctx, *key, c)
		if err != nil {
			fmt.Fprintf(stderr, "gatewayctl audit verify: %v\n", err)
			return 2
		}
		var old *audit.Checkpoint
		if *since != "" {
			b, err := os.ReadFile(*since)
			if err != nil {
				fmt.Fprintf(stderr, "gatewayctl audit verify: %v\n", err)
				return 2
			}
			cp, err := audit.OpenCheckpoint(b, v)
			if err != nil {
				fmt.Fprintf(stderr, "gatewayctl audit verify: --since: %v\n", err)
				return 1
			}
			old = &cp
		}
		cp, err := audit.VerifyLog(ctx, c, v, old)
		if err != nil {
			fmt.Fprintf(stderr, "FAIL: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "OK: %s: %d entries, root %x, signature valid", cp.Origin, cp.Size, cp.Root[:])
		if old != nil {
			fmt.Fprintf(stdout, ", consistent with the checkpoint of size %d", old.Size)
		}
		fmt.Fprintln(stdout)
		return 0
	case "prove":
		if len(args) < 2 {
			fmt.Fprintln(stderr, "gatewayctl audit prove: ENTRY_FILE is required")
			return 2
		}
		if err := fs.Parse(args[2:]); err != nil {
			return 2
		}
		if *key == "" {
			fmt.Fprintln(stderr, "gatewayctl audit prove: --key is required offline")
			return 2
		}
		v, err := verifier(ctx, *key, nil)
		if err != nil {
			fmt.Fprintf(stderr, "gatewayctl audit prove: %v\n", err)
			return 2
		}
		raw, err := os.ReadFile(args[1])
		if err != nil {
			fmt.Fprintf(stderr, "gatewayctl audit prove: %v\n", err)
			return 2
		}
		var b audit.Bundle
		if err := json.Unmarshal(raw, &b); err != nil {
			fmt.Fprintf(stderr, "gatewayctl audit prove: not an entry bundle: %v\n", err)
			return 2
		}
		if err := audit.VerifyBundle(b, v); err != nil {
			fmt.Fprintf(stderr, "FAIL: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "OK: entry %s (%s at %s) is entry %d of the signed log\n", b.Entry.ID, b.Entry.Kind,
			b.Entry.Time.Format(time.RFC3339), b.Index)
		return 0
	default:
		fmt.Fprintf(stderr, "gatewayctl audit: unknown subcommand %q\n", args[0])
		return 2
	}
}

// verifier reads the key from the flag (a key or a file), or from the log.
func verifier(ctx context.Context, key string, c *transparency.Client) (note.Verifier, error) {
	if key == "" && c != nil {
		b, err := c.Get(ctx, "/key")
		if err != nil {
			return nil, fmt.Errorf("fetch the log's key: %w", err)
		}
		// A key fetched from the log proves only that the log is
		// self-consistent; pass --key from a trusted source to prove more.
		fmt.Fprintln(os.Stderr, "warning: using the key the log itself serves; pass --key to pin it")
		key = string(b)
	} else if b, err := os.ReadFile(key); err == nil {
		key = string(b)
	} else if !errors.Is(err, os.ErrNotExist) && !strings.Contains(key, "+") {
		return nil, err
	}
	v, err := note.NewVerifier(strings.TrimSpace(key))
	if err != nil {
		return nil, fmt.Errorf("verifier key: %w", err)
	}
	return v, nil
}
