package scsp

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/beevik/etree"
)

// scanAsEtree reads raw with scan and with etree: what scan reads, etree
// reads as the same nodes (so every element canonicalises alike), and what
// scan refuses, etree refuses too unless scan says it is stricter there.
func scanAsEtree(t testing.TB, name string, raw []byte) (*xdoc, error) {
	t.Helper()
	got, err := scan(raw)
	doc := etree.NewDocument()
	eerr := doc.ReadFromBytes(raw)
	if eerr == nil && doc.Root() == nil {
		eerr = errors.New("no root element")
	}
	switch {
	case err == nil && eerr != nil:
		t.Fatalf("%s: scan read what etree refuses (%v): %q", name, eerr, raw)
	case err == nil:
		want, at := fromEtree(doc.Root())
		nodes := slices.Clone(got.nodes)
		for i := range nodes {
			nodes[i].in0, nodes[i].in1 = 0, 0 // etree keeps no offsets
		}
		if at != 0 || !slices.Equal(nodes, want.nodes) || !slices.Equal(got.attrs, want.attrs) {
			t.Fatalf("%s: %q\nscan  %+v %+v\netree %+v %+v", name, raw, got.nodes, got.attrs, want.nodes, want.attrs)
		}
	case !errors.Is(err, errStricter) && eerr == nil:
		t.Fatalf("%s: scan refused what etree reads, and not as stricter: %v: %q", name, err, raw)
	case !errors.Is(err, ErrMalformed):
		t.Fatalf("%s: %v is not ErrMalformed", name, err)
	}
	return got, err
}

// scanStricter are documents encoding/xml (and so etree) reads, which scan
// refuses: not XML, or nothing SCSP sends.
var scanStricter = map[string]string{
	"repeated attribute":          `<r a="1" a="2"/>`,
	"colon first":                 `<:r/>`,
	"colon last":                  `<r:/>`,
	"attribute colon last":        `<r a:="1"/>`,
	"attributes run together":     `<r a="1"b="2"/>`,
	"doctype":                     `<!DOCTYPE r><r/>`,
	"directive inside":            `<r><!ELEMENT x ANY></r>`,
	"declared latin-1":            `<?xml version="1.0" encoding="ISO-8859-1"?><r/>`,
	"declaration without version": `<?xml encoding="UTF-8"?><r/>`,
	"declaration out of order":    `<?xml version="1.0" standalone="yes" encoding="UTF-8"?><r/>`,
	"declaration later":           ` <?xml version="1.0"?><r/>`,
	"declaration inside":          `<r><?xml version="1.0"?></r>`,
	"PI without space":            `<r><?pi"x"?></r>`,
	"text before the root":        `x<r/>`,
	"text after the root":         `<r/>x`,
	"two roots":                   `<r/><s/>`,
	"surrogate reference":         `<r>&#xD800;</r>`,
	"too deep":                    strings.Repeat("<r>", maxXMLDepth+1) + strings.Repeat("</r>", maxXMLDepth+1),
}

// scanRefuses are documents neither reads.
var scanRefuses = map[string]string{
	"empty":                  ``,
	"unclosed":               `<r><x></x>`,
	"mismatched":             `<r></x>`,
	"mismatched prefix":      `<a:r xmlns:a="urn:a"></b:r>`,
	"two colons":             `<a:b:c/>`,
	"unquoted":               `<r a=1/>`,
	"no value":               `<r a/>`,
	"lt in attribute":        `<r a="<"/>`,
	"unknown entity":         `<r>&nbsp;</r>`,
	"no semicolon":           `<r>&amp</r>`,
	"empty char ref":         `<r>&#;</r>`,
	"upper X char ref":       `<r>&#X41;</r>`,
	"NUL reference":          `<r>&#0;</r>`,
	"beyond Unicode":         `<r>&#x110000;</r>`,
	"control character":      "<r>\x01</r>",
	"invalid UTF-8":          "<r>\xff</r>",
	"U+FFFE":                 "<r>\uFFFE</r>",
	"]]> in text":            `<r>a]]>b</r>`,
	"dashes in comment":      `<r><!-- a -- b --></r>`,
	"unterminated comment":   `<r><!-- a </r>`,
	"unterminated CDATA":     `<r><![CDATA[ a </r>`,
	"bad <!- ":               `<r><!-x--></r>`,
	"bad <![":                `<r><![CDAT[x]]></r>`,
	"end tag outside":        `</r>`,
	"PI without target":      `<r><? x?></r>`,
	"unterminated PI":        `<r><?pi x</r>`,
	"digit first":            `<1r/>`,
	"end tag with attribute": `<r></r a="1">`,
}

func TestScanStricter(t *testing.T) {
	for name, x := range scanStricter {
		if _, err := scan([]byte(x)); !errors.Is(err, errStricter) {
			t.Errorf("%s: %v, want errStricter", name, err)
		}
		if d := etree.NewDocument(); d.ReadFromBytes([]byte(x)) != nil || d.Root() == nil {
			t.Errorf("%s: etree refuses it: not a case of scan being stricter", name)
		}
	}
}

func TestScanRefuses(t *testing.T) {
	for name, x := range scanRefuses {
		if _, err := scanAsEtree(t, name, []byte(x)); err == nil || errors.Is(err, errStricter) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestScanEveryByte: every byte, alone or after others, in text, in an
// attribute value in either quote, and in CDATA, is read as etree reads it
// or refused as it is. text passes runs of ASCII at once (asciiRun), and a
// byte that may not be in such a run is checked on its own.
func TestScanEveryByte(t *testing.T) {
	for b := range 256 {
		c := string([]byte{byte(b)})
		for _, x := range []string{
			"<r>" + c + "</r>", "<r>ab" + c + "cd</r>", "<r>]]" + c + "</r>", "<r>a\r" + c + "b&amp;" + c + "</r>",
			`<r a="` + c + `"/>`, `<r a="ab` + c + `cd"/>`, `<r a='ab` + c + `cd'/>`, `<r a="&lt;` + c + `"/>`,
			"<r><![CDATA[ab" + c + "cd]]></r>",
		} {
			scanAsEtree(t, fmt.Sprintf("byte %#x", b), []byte(x))
		}
	}
}

// scanReads are shapes scan reads as etree does: references and line ends
// in text and attributes, CDATA, comments and processing instructions
// everywhere they may be, names beyond ASCII, a declaration and a byte
// order mark.
var scanReads = []string{
	"\uFEFF<?xml version='1.0' encoding='utf-8' standalone='no' ?>\n<!-- c --><?pi d?>\n<r/>\n<!-- after -->\n",
	"<r a=\"x\r\ny\rz\" b='&#13;&#x41;&lt;&#x1F600;&quot;&apos;\t'>x\r\ny\rz&#13;\n&amp;&gt;]]&gt;]</r>",
	"<r><![CDATA[<a & b>\r\n]]]]><![CDATA[>]]><!----><?pi?><?pi  data ?><?x:y:z d?></r>",
	`<é:r xmlns:é="urn:e" é:à="1"><ñ/></é:r>`,
	`<r>` + "\t\n " + `<x   a = "1"   b='2'   /></r  >`,
}

// TestScanAsEtree: on every message this package writes and reads, the
// committed fuzz corpora and the shapes above, scan reads what etree reads.
func TestScanAsEtree(t *testing.T) {
	k, c, err := NewSelfSigned("scan", now)
	if err != nil {
		t.Fatal(err)
	}
	envs, _ := sourceAnswers(t, Signer{Key: k, Cert: c})
	for _, env := range envs {
		if _, err := scanAsEtree(t, "answer", env); err != nil {
			t.Errorf("an answer: %v", err)
		}
	}
	for i, x := range append(c14nCases, scanReads...) {
		if _, err := scanAsEtree(t, "case", []byte(x)); err != nil && i >= len(c14nCases) {
			t.Errorf("%q: %v", x, err)
		}
	}
	for _, target := range []string{"FuzzSCSPParse", "FuzzC14N", "FuzzXMLScan"} {
		dir := filepath.Join("testdata", "fuzz", target)
		files, _ := os.ReadDir(dir)
		for _, f := range files {
			b, err := os.ReadFile(filepath.Join(dir, f.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if raw, ok := corpusBytes(b); ok {
				scanAsEtree(t, f.Name(), raw)
			}
		}
	}
}

// FuzzXMLScan: on any input, scan never panics, reads what etree reads as
// the same nodes, and refuses nothing etree reads but the shapes it is
// stricter on.
func FuzzXMLScan(f *testing.F) {
	for _, x := range append(c14nCases, scanReads...) {
		f.Add([]byte(x))
	}
	for _, m := range []map[string]string{scanStricter, scanRefuses} {
		for _, x := range m {
			f.Add([]byte(x))
		}
	}
	addAnswers(f)
	f.Fuzz(func(t *testing.T, raw []byte) {
		if len(raw) > 64<<10 {
			return
		}
		scanAsEtree(t, "input", raw)
	})
}
