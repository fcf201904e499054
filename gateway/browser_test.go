package gateway_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The phone every browser test emulates, and the budgets a page must keep
// on it: a citizen should not scroll through more than a few screens to
// find what a page is for, nor download a heavy page on a poor connection.
const (
	screenWidth  = 360
	screenHeight = 800
	maxScreens   = 8      // document height, in screens, except paginated lists
	maxHTMLBytes = 60_000 // the served document, before compression
)

// browser drives Debian's Chromium through chromedp. Tests that need it are
// skipped unless OBERT_E2E=1 (make test and make e2e set it), and then fail
// if Chromium or axe-core is missing.
type browser struct {
	t       *testing.T
	ctx     context.Context
	axe     string
	shots   string
	counter int
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	if os.Getenv("OBERT_E2E") != "1" {
		t.Skip("browser tests run with OBERT_E2E=1 (make e2e, make test)")
	}
	exe := os.Getenv("OBERT_CHROMIUM")
	if exe == "" {
		exe = "/usr/bin/chromium"
	}
	if _, err := os.Stat(exe); err != nil {
		t.Fatalf("Chromium not found at %s (make deps-e2e installs it): %v", exe, err)
	}
	axePath := os.Getenv("OBERT_AXE")
	axe, err := os.ReadFile(axePath)
	if err != nil {
		t.Fatalf("axe-core not found at OBERT_AXE=%q (make deps-e2e installs it): %v", axePath, err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(screenWidth, screenHeight), // mobile first: the narrowest width we support
	)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelT(); cancelC(); cancelA() })
	// Mobile first: a 360 px wide phone viewport, whatever the window.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(screenWidth, screenHeight, chromedp.EmulateMobile, chromedp.EmulateTouch)); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	shots := filepath.Join(repoRoot(t), ".data", "e2e", t.Name())
	os.MkdirAll(shots, 0o755)
	return &browser{t: t, ctx: ctx, axe: string(axe), shots: shots}
}

func repoRoot(t *testing.T) string {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := wd; d != "/"; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
	}
	t.Fatal("no go.mod above the test")
	return ""
}

// do runs actions that return nothing, failing the test on error.
func (b *browser) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

// open navigates to url and waits for the page.
func (b *browser) open(url string) {
	b.t.Helper()
	b.do(chromedp.Navigate(url))
}

// submit clicks the button matched by css and waits for the next page.
func (b *browser) submit(css string) {
	b.t.Helper()
	if _, err := chromedp.RunResponse(b.ctx, chromedp.Click(chromedp.CSS(css))); err != nil {
		b.t.Fatalf("browser: click %s: %v", css, err)
	}
}

// text returns the visible text of the page's main landmark.
func (b *browser) text() string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS("main")))
	if err != nil {
		b.t.Fatalf("browser: read main: %v", err)
	}
	return s
}

func (b *browser) location() string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.t.Fatal(err)
	}
	return s
}

func (b *browser) mustSee(want ...string) {
	b.t.Helper()
	got := b.text()
	for _, w := range want {
		if !strings.Contains(got, w) {
			b.t.Fatalf("page does not show %q; it shows:\n%s", w, got)
		}
	}
}

type axeResult struct {
	Violations []struct {
		ID    string `json:"id"`
		Help  string `json:"help"`
		Nodes []struct {
			Target []any `json:"target"`
		} `json:"nodes"`
	} `json:"violations"`
}

// check saves a screenshot named name, then checks the page fits the phone
// (no sideways scroll, at most maxScreens tall, at most maxHTMLBytes of
// HTML) and runs axe-core on it: any WCAG 2.1 A/AA violation fails the test.
func (b *browser) check(name string) {
	b.t.Helper()
	b.inspect(name, false)
}

// checkList is check for a paginated list, whose length is the pager's to
// bound rather than the screen's: every budget but the height applies.
func (b *browser) checkList(name string) {
	b.t.Helper()
	b.inspect(name, true)
}

type pageSize struct {
	Width    int  `json:"width"`
	Height   int  `json:"height"`
	Body     int  `json:"body"`     // decoded bytes of the navigation's response body
	Document int  `json:"document"` // characters of the document as parsed, when Body is unknown
	Wide     bool `json:"wide"`
}

func (b *browser) inspect(name string, list bool) {
	b.t.Helper()
	b.counter++
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	os.WriteFile(filepath.Join(b.shots, fmt.Sprintf("%02d-%s.png", b.counter, name)), png, 0o644)

	// The navigation entry measures the body as served; outerHTML, the
	// document as parsed, stands in where the entry has no size.
	size, err := chromedp.Run(b.ctx, chromedp.Evaluate[pageSize](`(() => {
		const nav = performance.getEntriesByType('navigation')[0];
		const el = document.documentElement;
		return {width: el.scrollWidth, height: el.scrollHeight, wide: el.scrollWidth > screen.width,
			body: nav ? nav.decodedBodySize : 0, document: el.outerHTML.length};
	})()`))
	if err != nil {
		b.t.Fatalf("measure %s: %v", name, err)
	}
	html, as := size.Body, "served"
	if html == 0 {
		html, as = size.Document, "parsed"
	}
	screens := float64(size.Height) / screenHeight
	b.t.Logf("page %s: %.1f screens tall, %.1f kB of HTML (%s)", name, screens, float64(html)/1000, as)
	if size.Wide {
		b.t.Errorf("%s scrolls sideways at %d px: it is %d px wide", name, screenWidth, size.Width)
	}
	if !list && size.Height > maxScreens*screenHeight {
		b.t.Errorf("%s is %.2f screens tall at %dx%d (%d px), over the budget of %d screens",
			name, screens, screenWidth, screenHeight, size.Height, maxScreens)
	}
	if html > maxHTMLBytes {
		b.t.Errorf("%s has %.1f kB of HTML (%d bytes), over the budget of %d kB", name, float64(html)/1000, html, maxHTMLBytes/1000)
	}

	// axe-core is injected through the DevTools protocol, which the page's
	// CSP does not govern; the pages themselves run no script.
	if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[any](b.axe+";0")); err != nil {
		b.t.Fatalf("inject axe-core: %v", err)
	}
	res, err := chromedp.Run(b.ctx, chromedp.Evaluate[axeResult](
		`axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a','wcag2aa','wcag21a','wcag21aa']}}).then(r => ({violations: r.violations}))`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("axe-core: %v", err)
	}
	for _, v := range res.Violations {
		var targets []string
		for _, n := range v.Nodes {
			targets = append(targets, fmt.Sprint(n.Target...))
		}
		b.t.Errorf("axe on %s: %s: %s at %s", name, v.ID, v.Help, strings.Join(targets, ", "))
	}
}

// waitFor waits until the browser has arrived at path on the gateway,
// through whatever automatic form posts lead there.
func (b *browser) waitFor(path string) {
	b.t.Helper()
	var loc string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		loc = b.location()
		if u, err := url.Parse(loc); err == nil && u.Path == path {
			if _, err := chromedp.Run(b.ctx, chromedp.WaitReady(chromedp.CSS("main"))); err == nil {
				return
			}
		}
	}
	b.t.Fatalf("the browser did not reach %s; it is at %s", path, loc)
}
