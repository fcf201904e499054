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
		chromedp.WindowSize(360, 800), // mobile first: the narrowest width we support
	)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelT(); cancelC(); cancelA() })
	// Mobile first: a 360 px wide phone viewport, whatever the window.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(360, 800, chromedp.EmulateMobile, chromedp.EmulateTouch)); err != nil {
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

// check saves a screenshot named name and runs axe-core on the page: any
// WCAG 2.1 A/AA violation fails the test.
func (b *browser) check(name string) {
	b.t.Helper()
	b.counter++
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	os.WriteFile(filepath.Join(b.shots, fmt.Sprintf("%02d-%s.png", b.counter, name)), png, 0o644)

	// Mobile first: nothing may be wider than the 360 px viewport.
	wide, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > screen.width`))
	if err != nil {
		b.t.Fatalf("measure width: %v", err)
	}
	if wide {
		b.t.Errorf("%s scrolls sideways at 360 px", name)
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
