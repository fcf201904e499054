package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// The scores every citizen's page must reach in Lighthouse's default mobile
// run (a mid-range phone on a slow 4G link, simulated).
var lighthouseBudget = map[string]float64{
	"accessibility":  1.00,
	"best-practices": 0.95,
	"performance":    0.95,
}

// lighthouseReport is the part of Lighthouse's JSON report the test reads.
type lighthouseReport struct {
	FinalURL     string `json:"finalDisplayedUrl"`
	RuntimeError *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"runtimeError"`
	Categories map[string]struct {
		Score     *float64 `json:"score"`
		AuditRefs []struct {
			ID     string  `json:"id"`
			Weight float64 `json:"weight"`
		} `json:"auditRefs"`
	} `json:"categories"`
	Audits map[string]struct {
		Title        string   `json:"title"`
		Score        *float64 `json:"score"`
		DisplayValue string   `json:"displayValue"`
		Details      *struct {
			Items []lighthouseItem `json:"items"`
		} `json:"details"`
	} `json:"audits"`
}

// lighthouseItem is one thing an audit found: an element, a resource or a
// message in the console.
type lighthouseItem struct {
	Node *struct {
		Selector string `json:"selector"`
		Snippet  string `json:"snippet"`
	} `json:"node"`
	URL            string `json:"url"`
	ResourceType   string `json:"resourceType"`
	ResourceSize   int    `json:"resourceSize"` // decoded bytes of a request's body
	Description    string `json:"description"`
	SourceLocation *struct {
		URL string `json:"url"`
	} `json:"sourceLocation"`
}

func (it lighthouseItem) String() string {
	switch {
	case it.Node != nil:
		return it.Node.Selector + ": " + it.Node.Snippet
	case it.SourceLocation != nil:
		return it.SourceLocation.URL + ": " + it.Description
	case it.URL != "":
		return it.URL
	}
	return it.Description
}

// TestLighthouse runs Google's Lighthouse, pinned in the Makefile, on
// Debian's Chromium against the pages a signed-in citizen sees most: the
// home page, the folder, the aids and the access log, with data fetched so
// that the aids and the log are full. Accessibility must be perfect, best
// practices and performance at least 0.95; a failure lists the audits that
// cost points. The reports are kept under .data/e2e/TestLighthouse.
func TestLighthouse(t *testing.T) {
	if os.Getenv("OBERT_E2E") != "1" {
		t.Skip("browser tests run with OBERT_E2E=1 (make e2e, make test)")
	}
	lighthouse := os.Getenv("OBERT_LIGHTHOUSE")
	if _, err := os.Stat(lighthouse); lighthouse == "" || err != nil {
		t.Fatalf("Lighthouse not found at OBERT_LIGHTHOUSE=%q (make deps-e2e installs it)", lighthouse)
	}
	chromium := os.Getenv("OBERT_CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("Chromium not found at %s (make deps-e2e installs it): %v", chromium, err)
	}

	d := startDev(t)
	u := consentAndFetch(t, d, d.citizenOf(t, "older-alone"))
	base, _ := url.Parse(d.URL)
	var cookies []string
	for _, c := range u.c.Jar.Cookies(base) {
		cookies = append(cookies, c.Name+"="+c.Value)
	}
	headers, _ := json.Marshal(map[string]string{"Cookie": strings.Join(cookies, "; ")})
	headersFile := filepath.Join(t.TempDir(), "headers.json")
	if err := os.WriteFile(headersFile, headers, 0o600); err != nil {
		t.Fatal(err)
	}
	reports := filepath.Join(repoRoot(t), ".data", "e2e", t.Name())
	if err := os.MkdirAll(reports, 0o755); err != nil {
		t.Fatal(err)
	}

	for _, page := range []struct{ name, path string }{
		{"home", "/"},
		{"folder", "/folder"},
		{"aids", "/folder/aids"},
		{"access", "/folder/access"},
	} {
		out := filepath.Join(reports, page.name+".json")
		r := runLighthouse(t, lighthouse, chromium, d.URL+page.path, headersFile, out)
		var scores []string
		for _, cat := range []string{"accessibility", "best-practices", "performance"} {
			c, ok := r.Categories[cat]
			if !ok || c.Score == nil {
				t.Errorf("%s: Lighthouse gave no %s score (report %s)", page.path, cat, out)
				continue
			}
			scores = append(scores, fmt.Sprintf("%s %.2f", cat, *c.Score))
			if *c.Score >= lighthouseBudget[cat] {
				continue
			}
			var lost []string
			for _, ref := range c.AuditRefs {
				a := r.Audits[ref.ID]
				if a.Score == nil || *a.Score >= 1 {
					continue
				}
				line := fmt.Sprintf("  %s (%q): score %.2f, weight %g", ref.ID, a.Title, *a.Score, ref.Weight)
				if a.DisplayValue != "" {
					line += ", " + a.DisplayValue
				}
				if a.Details != nil {
					for _, it := range a.Details.Items {
						if s := it.String(); s != "" {
							line += "\n    at " + s
						}
					}
				}
				lost = append(lost, line)
			}
			sort.Strings(lost)
			t.Errorf("%s: Lighthouse %s %.2f, below %.2f; audits short of full marks:\n%s",
				page.path, cat, *c.Score, lighthouseBudget[cat], strings.Join(lost, "\n"))
		}
		// The same HTML budget as the journeys', for the states of the
		// pages they do not reach.
		html := r.documentSize()
		if html > maxHTMLBytes {
			t.Errorf("%s has %.1f kB of HTML (%d bytes), over the budget of %d kB", page.path, float64(html)/1000, html, maxHTMLBytes/1000)
		}
		t.Logf("Lighthouse %s: %s; %.1f kB of HTML", page.path, strings.Join(scores, ", "), float64(html)/1000)
	}
}

// documentSize is the decoded size of the audited page's HTML.
func (r *lighthouseReport) documentSize() int {
	if a, ok := r.Audits["network-requests"]; ok && a.Details != nil {
		for _, it := range a.Details.Items {
			if it.ResourceType == "Document" && it.URL == r.FinalURL {
				return it.ResourceSize
			}
		}
	}
	return 0
}

// runLighthouse runs one Lighthouse mobile audit of target and reads its
// JSON report, written to out. Lighthouse launches its own Chromium, told
// to reach nothing but the gateway on loopback.
func runLighthouse(t *testing.T, lighthouse, chromium, target, headersFile, out string) *lighthouseReport {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, lighthouse, target,
		"--quiet",
		"--no-enable-error-reporting",
		"--output=json",
		"--output-path="+out,
		"--only-categories=accessibility,best-practices,performance",
		"--extra-headers="+headersFile,
		"--chrome-flags=--headless=new --no-sandbox --disable-gpu --disable-background-networking --disable-component-update --disable-sync --disable-quic",
	)
	// chrome-launcher, which Lighthouse uses, finds the browser here.
	cmd.Env = append(os.Environ(), "CHROME_PATH="+chromium)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Stdout = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("lighthouse %s: %v\n%s", target, err, stderr.String())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("lighthouse %s wrote no report: %v\n%s", target, err, stderr.String())
	}
	var r lighthouseReport
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("lighthouse %s: read report: %v", target, err)
	}
	if r.RuntimeError != nil && r.RuntimeError.Code != "" {
		t.Fatalf("lighthouse %s: %s: %s", target, r.RuntimeError.Code, r.RuntimeError.Message)
	}
	// A lost session would send Lighthouse to the sign-in page and score
	// that instead.
	if r.FinalURL != target {
		t.Fatalf("lighthouse asked for %s but audited %s", target, r.FinalURL)
	}
	return &r
}
