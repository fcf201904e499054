package documentstest

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// CheckPDF checks a downloaded document with Debian's poppler-utils, which
// Obert did not write: pdfsig finds its signature valid and pdftotext
// finds its code printed as "CSV: CODE". Without pdfsig it skips, unless
// OBERT_REQUIRE_PDFSIG is set (make test sets it).
func CheckPDF(t testing.TB, path, csv string) {
	t.Helper()
	if _, err := exec.LookPath("pdfsig"); err != nil {
		if os.Getenv("OBERT_REQUIRE_PDFSIG") != "" {
			t.Fatal("pdfsig (poppler-utils) is required: make deps-poppler")
		}
		t.Skip("pdfsig (poppler-utils) not installed")
	}
	out, err := exec.Command("pdfsig", path).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Signature is Valid.") {
		t.Fatalf("pdfsig: %v\n%s", err, out)
	}
	txt, err := exec.Command("pdftotext", path, "-").CombinedOutput()
	if err != nil || !strings.Contains(string(txt), "CSV: "+csv) {
		t.Fatalf("pdftotext: %v\n%s", err, txt)
	}
}
