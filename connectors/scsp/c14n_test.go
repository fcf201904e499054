package scsp

import (
	"bytes"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
)

// libraryC14N is goxmldsig's exclusive canonicalisation of el in its
// namespace context: what canon was before excC14N.
func libraryC14N(el *etree.Element) ([]byte, error) {
	d, err := detach(el)
	if err != nil {
		return nil, err
	}
	return dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("").Canonicalize(d)
}

// sameC14N checks that excC14N and goxmldsig agree on every element of raw:
// both refuse it, or both give the same bytes.
func sameC14N(t *testing.T, name string, raw []byte) {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil || doc.Root() == nil {
		t.Fatalf("%s: not XML: %v", name, err)
	}
	var walk func(el *etree.Element)
	walk = func(el *etree.Element) {
		got, gerr := excC14N(el)
		want, werr := libraryC14N(el)
		if (gerr != nil) != (werr != nil) || !bytes.Equal(got, want) {
			t.Errorf("%s, <%s>:\n ours    %s (%v)\n library %s (%v)", name, el.FullTag(), got, gerr, want, werr)
		}
		for _, c := range el.ChildElements() {
			walk(c)
		}
	}
	walk(doc.Root())
}

// c14nCases are the shapes exclusive canonicalisation must get right:
// namespaces declared above the element and redeclared below, ones in scope
// but not utilised, attributes in several namespaces, the xml namespace,
// escapes in text and attributes, CDATA, comments and processing
// instructions.
var c14nCases = []string{
	`<a:r xmlns:a="urn:a" xmlns:b="urn:b" xmlns="urn:d"><a:x b:k="1" k="2"><y>t</y><b:z/></a:x></a:r>`,
	`<r xmlns="urn:d"><x xmlns="urn:e"><y xmlns="urn:d"/></x></r>`,
	`<p:r xmlns:p="urn:p"><p:x xmlns:p="urn:q"><p:y/></p:x><p:z/></p:r>`,
	`<r xml:lang="ca" xmlns:w="urn:w"><x w:Id="i"> a  b <y xml:space="preserve"> </y></x></r>`,
	`<r a="&amp;&lt;&gt;&quot;'&#9;&#10;&#13;"> &amp; &lt; &gt; " ' &#13; é € 𝄞 </r>`,
	`<r><![CDATA[<a & b>]]><!-- gone --><?pi some data?><?pi?></r>`,
	`<r z="1" a="2" m="3" xmlns:p="urn:p" p:m="4"><e></e><f/></r>`,
	"<r>\n  <x>\n\t1\n  </x>\n</r>",
	`<s:Envelope xmlns:s="` + NSSoap + `" xmlns:u="` + NSWsu + `"><s:Header/><s:Body u:Id="b"><R xmlns="urn:r"><A>1</A></R></s:Body></s:Envelope>`,
	`<r xmlns:u="urn:unused"><x/></r>`,
	`<p:r><p:x/></p:r>`,
	`<r xmlns:xml="http://www.w3.org/XML/1998/namespace" xml:id="x"/>`,
	`<r xmlns:xmlns="urn:x"/>`,
	`<r xmlns="http://www.w3.org/2000/xmlns/"/>`,
}

// TestC14NEqualsLibrary: on every message this package writes (requests
// and answers of every service, faults) and reads (the fuzz corpus of
// responses), and on the shapes above, the one-pass canonicalisation gives
// goxmldsig's bytes, and refuses what it refuses, element by element.
func TestC14NEqualsLibrary(t *testing.T) {
	k, c, err := NewSelfSigned("c14n", now)
	if err != nil {
		t.Fatal(err)
	}
	s := Signer{Key: k, Cert: c}
	envs, _ := sourceAnswers(t, s)
	for i, env := range envs {
		sameC14N(t, "answer "+strconv.Itoa(i), env)
	}
	// The requests of every service (the first four bodies) and the other
	// bodies the envelope tests sign, signed, where goxmldsig follows the
	// recommendation: every request does.
	for i, body := range envelopeBodies(t) {
		env, err := s.Envelope(body, now)
		if err != nil {
			t.Fatal(err)
		}
		if doc := etree.NewDocument(); doc.ReadFromBytes(env) != nil || deviates(doc) {
			if i < 4 {
				t.Fatalf("request %d is a shape goxmldsig departs on", i)
			}
			continue
		}
		sameC14N(t, "body "+strconv.Itoa(i), env)
	}
	for _, in := range parseCorpus(t) {
		doc := etree.NewDocument()
		if doc.ReadFromBytes(in.raw) != nil || doc.Root() == nil {
			continue
		}
		sameC14N(t, in.name, in.raw)
	}
	for i, x := range c14nCases {
		sameC14N(t, "case "+strconv.Itoa(i), []byte(x))
	}
}

// corpusInput is one input of FuzzSCSPParse's committed corpus.
type corpusInput struct {
	name string
	raw  []byte
}

// parseCorpus reads FuzzSCSPParse's committed corpus.
func parseCorpus(t testing.TB) []corpusInput {
	t.Helper()
	dir := filepath.Join("testdata", "fuzz", "FuzzSCSPParse")
	files, _ := os.ReadDir(dir)
	var out []corpusInput
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(dir, f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if raw, ok := corpusBytes(b); ok {
			out = append(out, corpusInput{f.Name(), raw})
		}
	}
	return out
}

// corpusBytes is the []byte value of a committed fuzz corpus file.
func corpusBytes(b []byte) ([]byte, bool) {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[1], "[]byte(") {
		return nil, false
	}
	s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")"))
	return []byte(s), err == nil
}

// TestC14NFollowsTheRecommendation: where goxmldsig departs from it, the
// recommendation's bytes. Attributes sort by namespace URI, not prefix (the
// xml namespace's URI sorts before urn:w); an empty default namespace
// declaration is rendered only where it undoes one in effect in the
// output.
func TestC14NFollowsTheRecommendation(t *testing.T) {
	for _, c := range []struct{ in, path, want string }{
		{`<r xmlns:w="urn:w" w:Id="i" xml:lang="ca"/>`, "", `<r xmlns:w="urn:w" xml:lang="ca" w:Id="i"></r>`},
		{`<r xmlns:b="urn:a" xmlns:a="urn:b" a:k="1" b:k="2"/>`, "", `<r xmlns:a="urn:b" xmlns:b="urn:a" b:k="2" a:k="1"></r>`},
		{`<r xmlns="urn:d"><x xmlns=""><y/></x></r>`, "", `<r xmlns="urn:d"><x xmlns=""><y></y></x></r>`},
		{`<r xmlns="urn:d"><x xmlns=""><y/></x></r>`, "x", `<x><y></y></x>`},
		{`<x xmlns=""/>`, "", `<x></x>`},
	} {
		doc := etree.NewDocument()
		if err := doc.ReadFromBytes([]byte(c.in)); err != nil {
			t.Fatal(err)
		}
		el := doc.Root()
		if c.path != "" {
			el = el.FindElement(c.path)
		}
		if got, err := excC14N(el); err != nil || string(got) != c.want {
			t.Errorf("%s (%s): got %s, %v; want %s", c.in, c.path, got, err, c.want)
		}
	}
}

// TestC14NStricter: what goxmldsig let through and the namespaces
// recommendation forbids is refused, where the library rendered a guess:
// an attribute twice, a prefix undeclared or bound to the xml or the xmlns
// namespace.
func TestC14NStricter(t *testing.T) {
	for _, x := range []string{
		`<r xmlns:p="urn:p" xmlns:q="urn:p" p:a="1" q:a="2"/>`,
		`<r xmlns:p="urn:p"><x xmlns:p=""/></r>`,
		`<r xmlns:p="http://www.w3.org/XML/1998/namespace"/>`,
		`<r xmlns:p="http://www.w3.org/2000/xmlns/"/>`,
		`<r xmlns="http://www.w3.org/XML/1998/namespace"/>`,
		`<xmlns:r/>`,
		`<r><!x></r>`,
	} {
		doc := etree.NewDocument()
		if err := doc.ReadFromBytes([]byte(x)); err != nil {
			t.Fatal(err)
		}
		var el *etree.Element
		if el = doc.Root(); len(el.ChildElements()) > 0 {
			el = el.ChildElements()[0]
		}
		if got, err := excC14N(el); err == nil {
			t.Errorf("%s canonicalised as %s", x, got)
		}
	}
}

// deviates reports the shapes on which goxmldsig departs from the
// recommendation (and excC14N follows it, or refuses): an empty default
// namespace declaration, which the library renders where nothing is
// undone; several prefixed attributes, which it sorts by prefix rather than
// namespace; what TestC14NStricter refuses; a directive inside an element.
func deviates(doc *etree.Document) bool {
	bad := false
	var walk func(el *etree.Element)
	walk = func(el *etree.Element) {
		if el.Space == "xmlns" {
			bad = true
		}
		for _, t := range el.Child {
			if _, ok := t.(*etree.Directive); ok {
				bad = true // not XML inside an element, which etree reads anyway
			}
		}
		prefixes, names := map[string]bool{}, map[string]bool{}
		for _, a := range el.Attr {
			switch {
			case a.Space == "" && a.Key == "xmlns":
				bad = bad || a.Value == "" || a.Value == nsXML
			case a.Space == "xmlns":
				bad = bad || a.Value == "" || a.Value == nsXML || a.Value == nsXMLNS
			case a.Space != "":
				prefixes[a.Space] = true
			}
			if names[a.Key] {
				bad = true
			}
			names[a.Key] = true
		}
		bad = bad || len(prefixes) > 1
		for _, c := range el.ChildElements() {
			walk(c)
		}
	}
	if doc.Root() != nil {
		walk(doc.Root())
	}
	return bad
}

// FuzzC14N: on any XML, excC14N never panics, and outside the shapes where
// goxmldsig departs from the recommendation the two agree on every
// element.
func FuzzC14N(f *testing.F) {
	for _, x := range c14nCases {
		f.Add([]byte(x))
	}
	addAnswers(f)
	f.Fuzz(func(t *testing.T, raw []byte) {
		if len(raw) > 64<<10 {
			return
		}
		doc := etree.NewDocument()
		if doc.ReadFromBytes(raw) != nil || doc.Root() == nil {
			return
		}
		if deviates(doc) {
			for _, el := range append(doc.Root().FindElements("//*"), doc.Root()) {
				excC14N(el)
			}
			return
		}
		sameC14N(t, "input", raw)
	})
}

// addAnswers seeds f with the sources' signed answers.
func addAnswers(f *testing.F) {
	k, c, err := NewSelfSigned("seed", now)
	if err != nil {
		f.Fatal(err)
	}
	envs, _ := sourceAnswers(f, Signer{Key: k, Cert: c})
	for _, env := range envs {
		f.Add(env)
	}
}

// escapedAsTheRecommendation escapes as Canonical XML 1.0's processing
// model says for text nodes (&, <, > and carriage returns) and attribute
// nodes (&, <, ", tabs, line feeds and carriage returns): the reference
// appendEscaped is held to.
var escapedAsTheRecommendation = map[bool]*strings.Replacer{
	false: strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\r", "&#xD;"),
	true:  strings.NewReplacer("&", "&amp;", "<", "&lt;", `"`, "&quot;", "\t", "&#x9;", "\n", "&#xA;", "\r", "&#xD;"),
}

// TestAppendEscapedByRuns: every byte, alone, between others and at either
// end, and random strings, escape as the recommendation says, in text and
// in attribute values.
func TestAppendEscapedByRuns(t *testing.T) {
	var cases []string
	for b := range 256 {
		c := string([]byte{byte(b)})
		cases = append(cases, c, "ab"+c+"cd", c+"x", "x"+c, c+c)
	}
	const alphabet = "ab&<>\"'\t\n\r é"
	r := mrand.New(mrand.NewPCG(2026, 12))
	for range 2000 {
		s := make([]byte, r.IntN(40))
		for i := range s {
			s[i] = alphabet[r.IntN(len(alphabet))]
		}
		cases = append(cases, string(s))
	}
	for _, s := range cases {
		for _, attr := range []bool{false, true} {
			if got, want := appendEscaped([]byte("p"), s, attr), "p"+escapedAsTheRecommendation[attr].Replace(s); string(got) != want {
				t.Fatalf("%q (attribute %t): %q, want %q", s, attr, got, want)
			}
		}
	}
}
