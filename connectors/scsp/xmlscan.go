package scsp

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// A strict reader for the XML that SCSP messages are made of, built for the
// two things this package does with them: canonicalise parts of them to
// check or make a signature, and find a handful of elements by name. It
// reads a document in one pass into a flat list of nodes whose names and
// text are substrings of the input, where etree (over encoding/xml) built a
// tree of objects, several allocations per element and per attribute:
// reading an answer's envelope into one was most of the cost of checking
// it.
//
// It reads what encoding/xml reads, with the same meaning (references
// replaced, line ends normalised, the same characters and names allowed),
// except that it refuses, with errStricter, some documents encoding/xml
// reads but XML does not allow or SCSP never sends: a repeated attribute
// (which etree silently merged), a name that begins or ends with a colon,
// attributes without white space between them, a directive (a document
// type above all), a declaration other than version 1.0 in UTF-8, a
// processing instruction named xml after the start or without white space
// after its target, text or a second element outside the root, a character
// reference to a surrogate, and elements nested deeper than maxXMLDepth.
// FuzzXMLScan holds the two readers to that: whatever this one reads,
// etree reads as the same tree, and whatever it refuses for any other
// reason, etree refuses.

// errStricter marks what this reader refuses though encoding/xml reads it.
var errStricter = errors.New("refused by the strict reader")

// maxXMLDepth bounds how deeply elements nest (etree allowed 1,024).
const maxXMLDepth = 1000

type xkind uint8

const (
	xElement xkind = iota
	xText
	xPI
	xDirective // only from an etree tree (the tests), which keeps one inside an element
)

// xnode is one node of an xdoc. Comments are not kept: nothing this
// package does with a document reads them.
type xnode struct {
	kind          xkind
	prefix, local string // an element's name; a PI's target is local
	text          string // text, references replaced; a PI's data
	a0, an        int32  // an element's attributes: xdoc.attrs[a0 : a0+an]
	parent        int32  // the enclosing element, -1 for the root
	end           int32  // an element: the index after its last descendant
	in0, in1      int32  // an element's content as bytes of the input (scan only)
}

type xattr struct{ prefix, local, value string }

// xdoc is a document's root element and its content in document order:
// nodes[0] is the root; an element's content is nodes[i+1 : nodes[i].end].
type xdoc struct {
	nodes []xnode
	attrs []xattr
	src   string // what scan read
}

func (d *xdoc) attrsOf(i int32) []xattr {
	n := &d.nodes[i]
	return d.attrs[n.a0 : n.a0+n.an]
}

// children are the elements directly inside element i.
func (d *xdoc) children(i int32) iter.Seq[int32] {
	return func(yield func(int32) bool) {
		for c := i + 1; c < d.nodes[i].end; {
			if d.nodes[c].kind != xElement {
				c++
				continue
			}
			if !yield(c) {
				return
			}
			c = d.nodes[c].end
		}
	}
}

// uri is the namespace prefix is bound to at element i, as etree finds it:
// "" where it is not declared.
func (d *xdoc) uri(i int32, prefix string) string {
	for ; i >= 0; i = d.nodes[i].parent {
		for _, a := range d.attrsOf(i) {
			if prefix == "" && a.prefix == "" && a.local == "xmlns" || prefix != "" && a.prefix == "xmlns" && a.local == prefix {
				return a.value
			}
		}
	}
	return ""
}

// nsOf is element i's namespace.
func (d *xdoc) nsOf(i int32) string { return d.uri(i, d.nodes[i].prefix) }

// is reports whether element i is named local in namespace ns.
func (d *xdoc) is(i int32, ns, local string) bool {
	return d.nodes[i].local == local && d.nsOf(i) == ns
}

// onlyChild is the one element named local in namespace ns inside element
// i, or -1 if there is none or more than one (or i is -1).
func (d *xdoc) onlyChild(i int32, ns, local string) int32 {
	if i < 0 {
		return -1
	}
	found := int32(-1)
	for c := range d.children(i) {
		if d.is(c, ns, local) {
			if found >= 0 {
				return -1
			}
			found = c
		}
	}
	return found
}

// attr is the value of element i's attribute named local, in namespace ns
// ("": unprefixed).
func (d *xdoc) attr(i int32, ns, local string) string {
	for _, a := range d.attrsOf(i) {
		if a.local == local && (ns == "" && a.prefix == "" || ns != "" && a.prefix != "" && d.uri(i, a.prefix) == ns) {
			return a.value
		}
	}
	return ""
}

// text is the text at the start of element i, up to its first element or
// processing instruction, as etree's Text gives it ("" for -1).
func (d *xdoc) text(i int32) string {
	if i < 0 {
		return ""
	}
	var b strings.Builder
	for c := i + 1; c < d.nodes[i].end && d.nodes[c].kind == xText; c++ {
		b.WriteString(d.nodes[c].text)
	}
	return b.String()
}

// countID counts the attributes named Id, ID or id, in any namespace, whose
// value is id.
func (d *xdoc) countID(id string) int {
	n := 0
	for _, a := range d.attrs {
		if (a.local == "Id" || a.local == "ID" || a.local == "id") && a.value == id {
			n++
		}
	}
	return n
}

type scanner struct {
	s     string
	i     int
	d     *xdoc
	buf   []byte
	depth int
}

// scan reads raw, a whole document, into an xdoc.
func scan(raw []byte) (*xdoc, error) {
	// About a node for each "<" (a message's elements have end tags and
	// text between them) and an attribute for each "=": room for a
	// message's nodes without growing the lists as it is read.
	nodes, attrs := bytes.Count(raw, []byte("<"))+1, bytes.Count(raw, []byte("="))
	sc := scanner{s: string(raw), d: &xdoc{nodes: make([]xnode, 0, nodes), attrs: make([]xattr, 0, attrs)}}
	if err := sc.document(); err != nil {
		return nil, err
	}
	sc.d.src = sc.s
	return sc.d, nil
}

func (sc *scanner) malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format+" at byte %d", append(append([]any{ErrMalformed}, args...), sc.i)...)
}

func (sc *scanner) stricter(format string, args ...any) error {
	return fmt.Errorf("%w: %w: "+format+" at byte %d", append(append([]any{ErrMalformed, errStricter}, args...), sc.i)...)
}

func (sc *scanner) at(prefix string) bool { return strings.HasPrefix(sc.s[sc.i:], prefix) }

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }

// space skips white space and reports whether there was any.
func (sc *scanner) space() bool {
	start := sc.i
	for sc.i < len(sc.s) && isSpace(sc.s[sc.i]) {
		sc.i++
	}
	return sc.i > start
}

func (sc *scanner) document() error {
	if strings.HasPrefix(sc.s, "\uFEFF") { // a byte order mark
		sc.i = len("\uFEFF")
	}
	if sc.at("<?xml") && len(sc.s) > sc.i+5 && (isSpace(sc.s[sc.i+5]) || sc.s[sc.i+5] == '?') {
		if err := sc.declaration(); err != nil {
			return err
		}
	}
	root := false
	for {
		sc.space()
		switch {
		case sc.i == len(sc.s):
			if !root {
				return sc.malformed("no root element")
			}
			return nil
		case sc.at("<!--"):
			if err := sc.comment(); err != nil {
				return err
			}
		case sc.at("<?"):
			if _, _, err := sc.pi(); err != nil {
				return err
			}
		case sc.at("<!"):
			return sc.stricter("a directive")
		case sc.at("</"):
			return sc.malformed("an end tag outside the root element")
		case sc.s[sc.i] == '<':
			if root {
				return sc.stricter("a second root element")
			}
			root = true
			if err := sc.element(); err != nil {
				return err
			}
		default:
			return sc.stricter("text outside the root element")
		}
	}
}

// declaration reads <?xml version="1.0" [encoding="UTF-8"] [standalone=".."]?>.
func (sc *scanner) declaration() error {
	end := strings.Index(sc.s[sc.i:], "?>")
	if end < 0 {
		return sc.malformed("unterminated XML declaration")
	}
	rest := sc.s[sc.i+len("<?xml") : sc.i+end]
	sc.i += end + 2
	names := []string{"version", "encoding", "standalone"}
	for seen := 0; ; seen++ {
		t := strings.TrimLeft(rest, " \t\r\n")
		if t == "" && seen > 0 {
			return nil
		}
		name, v, ok := strings.Cut(t, "=")
		name = strings.TrimRight(name, " \t\r\n")
		i := slices.Index(names, name)
		if t == rest || !ok || i < 0 || (seen == 0) != (name == "version") {
			return sc.stricter("a malformed XML declaration")
		}
		names = names[i+1:]
		v = strings.TrimLeft(v, " \t\r\n")
		q := -1
		if v != "" && (v[0] == '"' || v[0] == '\'') {
			q = strings.IndexByte(v[1:], v[0])
		}
		if q < 0 {
			return sc.stricter("a malformed XML declaration")
		}
		val := v[1 : 1+q]
		rest = v[2+q:]
		// encoding/xml reads only version 1.0, but finds it in its own,
		// looser way: any other is stricter here.
		switch {
		case name == "version" && val != "1.0",
			name == "encoding" && !strings.EqualFold(val, "utf-8"),
			name == "standalone" && val != "yes" && val != "no":
			return sc.stricter("XML declared with %s %q", name, val)
		}
	}
}

func (sc *scanner) comment() error {
	sc.i += len("<!--")
	end := strings.Index(sc.s[sc.i:], "--")
	if end < 0 {
		return sc.malformed("unterminated comment")
	}
	sc.i += end + 2
	if sc.i >= len(sc.s) || sc.s[sc.i] != '>' {
		return sc.malformed(`"--" inside a comment`)
	}
	sc.i++
	return nil
}

// pi reads a processing instruction.
func (sc *scanner) pi() (target, data string, err error) {
	sc.i += len("<?")
	if target = sc.name(); !isName(target) {
		return "", "", sc.malformed("a processing instruction without a target")
	}
	if strings.EqualFold(target, "xml") {
		return "", "", sc.stricter("an XML declaration after the start")
	}
	if !sc.space() && !sc.at("?>") {
		return "", "", sc.stricter("no white space after a processing instruction's target")
	}
	end := strings.Index(sc.s[sc.i:], "?>")
	if end < 0 {
		return "", "", sc.malformed("unterminated processing instruction")
	}
	data = sc.s[sc.i : sc.i+end]
	sc.i += end + 2
	return target, data, nil
}

// element reads an element and its content; the scanner is at its "<".
func (sc *scanner) element() error {
	d := sc.d
	parent := int32(-1)
	for {
		if sc.i >= len(sc.s) {
			return sc.malformed("unexpected end: element %s not closed", d.nodes[parent].qname())
		}
		switch {
		case sc.s[sc.i] != '<':
			t, err := sc.text(-1)
			if err != nil {
				return err
			}
			if sc.i >= len(sc.s) {
				return sc.malformed("unexpected end: element %s not closed", d.nodes[parent].qname())
			}
			d.nodes = append(d.nodes, xnode{kind: xText, text: t, parent: parent})
		case sc.at("</"):
			closeAt := int32(sc.i)
			sc.i += 2
			prefix, local, err := sc.qname()
			if err != nil {
				return err
			}
			sc.space()
			if sc.i >= len(sc.s) || sc.s[sc.i] != '>' {
				return sc.malformed("an end tag not closed by >")
			}
			sc.i++
			open := &d.nodes[parent]
			if open.prefix != prefix || open.local != local {
				return sc.malformed("element %s closed by %s", open.qname(), qname(prefix, local))
			}
			open.end, open.in1 = int32(len(d.nodes)), closeAt
			parent = open.parent
			if sc.depth--; parent < 0 {
				return nil
			}
		case sc.at("<!--"):
			if err := sc.comment(); err != nil {
				return err
			}
		case sc.at("<![CDATA["):
			sc.i += len("<![CDATA[")
			t, err := sc.cdata()
			if err != nil {
				return err
			}
			d.nodes = append(d.nodes, xnode{kind: xText, text: t, parent: parent})
		case sc.at("<!-") || sc.at("<!["):
			return sc.malformed("not a comment nor a CDATA section")
		case sc.at("<!"):
			return sc.stricter("a directive")
		case sc.at("<?"):
			target, data, err := sc.pi()
			if err != nil {
				return err
			}
			d.nodes = append(d.nodes, xnode{kind: xPI, local: target, text: data, parent: parent})
		default:
			empty, err := sc.startTag(parent)
			if err != nil {
				return err
			}
			i := int32(len(d.nodes) - 1)
			if empty {
				d.nodes[i].end = i + 1
				if parent < 0 {
					return nil
				}
				continue
			}
			if sc.depth++; sc.depth > maxXMLDepth {
				return sc.stricter("elements nested more than %d deep", maxXMLDepth)
			}
			parent = i
		}
	}
}

// startTag reads a start tag into a new node; empty says it closed itself.
func (sc *scanner) startTag(parent int32) (empty bool, err error) {
	d := sc.d
	sc.i++ // <
	prefix, local, err := sc.qname()
	if err != nil {
		return false, err
	}
	a0 := int32(len(d.attrs))
	for {
		sp := sc.space()
		if sc.i >= len(sc.s) {
			return false, sc.malformed("unexpected end in a start tag")
		}
		switch sc.s[sc.i] {
		case '>':
			sc.i++
		case '/':
			if sc.i+1 >= len(sc.s) || sc.s[sc.i+1] != '>' {
				return false, sc.malformed("expected /> in a start tag")
			}
			sc.i += 2
			empty = true
		default:
			if !sp && isNameByte(sc.s[sc.i]) {
				return false, sc.stricter("attributes without white space between them")
			}
			ap, al, err := sc.qname()
			if err != nil {
				return false, err
			}
			sc.space()
			if sc.i >= len(sc.s) || sc.s[sc.i] != '=' {
				return false, sc.malformed("attribute %s without =", qname(ap, al))
			}
			sc.i++
			sc.space()
			if sc.i >= len(sc.s) || sc.s[sc.i] != '"' && sc.s[sc.i] != '\'' {
				return false, sc.malformed("attribute %s without a quoted value", qname(ap, al))
			}
			q := sc.s[sc.i]
			sc.i++
			v, err := sc.text(int(q))
			if err != nil {
				return false, err
			}
			for _, a := range d.attrs[a0:] {
				if a.prefix == ap && a.local == al {
					return false, sc.stricter("attribute %s repeated", qname(ap, al))
				}
			}
			d.attrs = append(d.attrs, xattr{ap, al, v})
			continue
		}
		d.nodes = append(d.nodes, xnode{kind: xElement, prefix: prefix, local: local,
			a0: a0, an: int32(len(d.attrs)) - a0, parent: parent, in0: int32(sc.i), in1: int32(sc.i)})
		return empty, nil
	}
}

func isNameByte(b byte) bool {
	return 'A' <= b && b <= 'Z' || 'a' <= b && b <= 'z' || '0' <= b && b <= '9' ||
		b == '_' || b == ':' || b == '.' || b == '-' || b >= utf8.RuneSelf
}

// isName reports whether s is a name as encoding/xml reads one.
func isName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return isNameXML(s)
		}
	}
	c := s[0]
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || c == '_' || c == ':'
}

// isNameXML asks encoding/xml whether s, which is not all ASCII, is a name
// (as a processing instruction's target, which it reads as any name): its
// tables of letters are not exported, and such names are rare.
func isNameXML(s string) bool {
	t, err := xml.NewDecoder(strings.NewReader("<?" + s + "?>")).RawToken()
	pi, ok := t.(xml.ProcInst)
	return err == nil && ok && pi.Target == s
}

// name reads the bytes a name may be made of, as encoding/xml does before
// it checks them.
func (sc *scanner) name() string {
	start := sc.i
	for sc.i < len(sc.s) && isNameByte(sc.s[sc.i]) {
		sc.i++
	}
	return sc.s[start:sc.i]
}

// qname reads a name, split at its one colon.
func (sc *scanner) qname() (prefix, local string, err error) {
	name := sc.name()
	if !isName(name) {
		return "", "", sc.malformed("expected a name")
	}
	switch strings.Count(name, ":") {
	case 0:
		return "", name, nil
	case 1:
		prefix, local, _ = strings.Cut(name, ":")
		if prefix == "" || local == "" {
			return "", "", sc.stricter("name %q", name)
		}
		return prefix, local, nil
	default:
		return "", "", sc.malformed("name %q has more than one colon", name)
	}
}

func qname(prefix, local string) string {
	if prefix == "" {
		return local
	}
	return prefix + ":" + local
}

func (n *xnode) qname() string { return qname(n.prefix, n.local) }

// text reads character data up to the next "<" (quote < 0) or an
// attribute's value up to its closing quote, which it consumes; references
// are replaced and line ends normalised, as encoding/xml does.
func (sc *scanner) text(quote int) (string, error) {
	start := sc.i
	plain := true // nothing replaced: the text is sc.s[start:sc.i]
	for sc.i < len(sc.s) {
		// Most of a message's text is ASCII that needs no more than
		// passing: a run of it at once, not a character at a time.
		if n := asciiRun(sc.s[sc.i:]); n > 0 {
			if !plain {
				sc.buf = append(sc.buf, sc.s[sc.i:sc.i+n]...)
			}
			sc.i += n
			continue
		}
		b := sc.s[sc.i]
		switch {
		case b == '<' && quote < 0:
			return sc.textOf(start, plain), nil
		case b == '<':
			return "", sc.malformed("< inside an attribute value")
		case int(b) == quote:
			t := sc.textOf(start, plain)
			sc.i++
			return t, nil
		case b == '>' && quote < 0 && sc.i >= start+2 && sc.s[sc.i-2:sc.i] == "]]":
			return "", sc.malformed("]]> outside a CDATA section")
		case b == '&':
			if plain {
				sc.startCopy(start)
				plain = false
			}
			if err := sc.reference(); err != nil {
				return "", err
			}
			continue
		case b == '\r':
			if plain {
				sc.startCopy(start)
				plain = false
			}
			sc.newline(len(sc.s))
			continue
		}
		if err := sc.keepChar(plain); err != nil {
			return "", err
		}
	}
	if quote >= 0 {
		return "", sc.malformed("unexpected end in an attribute value")
	}
	return sc.textOf(start, plain), nil
}

// asciiText marks the bytes text may hold that text reads as they are,
// whatever comes before or after them: printable ASCII, tab and line
// feed, but not what ends or changes text ('<', '&', a quote, '>' after
// "]]", a carriage return) nor a byte of a longer UTF-8 character, which
// text checks one at a time.
var asciiText = func() (t [256]bool) {
	for b := 0x20; b < 0x7f; b++ {
		t[b] = true
	}
	for _, b := range "<&>\"'" {
		t[b] = false
	}
	t['\t'], t['\n'] = true, true
	return t
}()

// asciiRun is how many bytes s starts with that asciiText marks.
func asciiRun(s string) int {
	i := 0
	for i < len(s) && asciiText[s[i]] {
		i++
	}
	return i
}

// cdata reads a CDATA section's content and its "]]>".
func (sc *scanner) cdata() (string, error) {
	end := strings.Index(sc.s[sc.i:], "]]>")
	if end < 0 {
		return "", sc.malformed("unterminated CDATA section")
	}
	start, stop := sc.i, sc.i+end
	plain := true
	for sc.i < stop {
		if sc.s[sc.i] == '\r' {
			if plain {
				sc.startCopy(start)
				plain = false
			}
			sc.newline(stop)
			continue
		}
		if err := sc.keepChar(plain); err != nil {
			return "", err
		}
	}
	t := sc.textOf(start, plain)
	sc.i = stop + len("]]>")
	return t, nil
}

// startCopy starts a copy of the text begun at start, up to the scanner,
// for text that cannot be a substring of the input.
func (sc *scanner) startCopy(start int) { sc.buf = append(sc.buf[:0], sc.s[start:sc.i]...) }

// newline copies a line end at the scanner (\r, or \r\n before stop) as
// \n, as encoding/xml reads one.
func (sc *scanner) newline(stop int) {
	sc.buf = append(sc.buf, '\n')
	if sc.i++; sc.i < stop && sc.s[sc.i] == '\n' {
		sc.i++
	}
}

// keepChar checks the character at the scanner and passes it, copying it
// unless the text is still plain.
func (sc *scanner) keepChar(plain bool) error {
	size, err := sc.char()
	if err != nil {
		return err
	}
	if !plain {
		sc.buf = append(sc.buf, sc.s[sc.i:sc.i+size]...)
	}
	sc.i += size
	return nil
}

func (sc *scanner) textOf(start int, plain bool) string {
	if plain {
		return sc.s[start:sc.i]
	}
	return string(sc.buf)
}

// char checks the character at the scanner and returns its size.
func (sc *scanner) char() (int, error) {
	b := sc.s[sc.i]
	if b < utf8.RuneSelf {
		if b < 0x20 && b != '\t' && b != '\n' && b != '\r' {
			return 0, sc.malformed("illegal character %U", rune(b))
		}
		return 1, nil
	}
	r, size := utf8.DecodeRuneInString(sc.s[sc.i:])
	if r == utf8.RuneError && size == 1 {
		return 0, sc.malformed("invalid UTF-8")
	}
	if !isChar(r) {
		return 0, sc.malformed("illegal character %U", r)
	}
	return size, nil
}

// isChar is XML's Char production.
func isChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

var entities = map[string]byte{"lt": '<', "gt": '>', "amp": '&', "apos": '\'', "quot": '"'}

// reference replaces the reference at the scanner ("&...;") into sc.buf.
func (sc *scanner) reference() error {
	sc.i++ // &
	semi := strings.IndexByte(sc.s[sc.i:], ';')
	if semi < 0 {
		return sc.malformed("a reference without ;")
	}
	ref := sc.s[sc.i : sc.i+semi]
	if num, ok := strings.CutPrefix(ref, "#"); ok {
		base := 10
		if hex, ok := strings.CutPrefix(num, "x"); ok {
			num, base = hex, 16
		}
		for i := 0; i < len(num); i++ {
			if c := num[i]; !('0' <= c && c <= '9' || base == 16 && ('a' <= c && c <= 'f' || 'A' <= c && c <= 'F')) {
				return sc.malformed("invalid character reference")
			}
		}
		n, err := strconv.ParseUint(num, base, 64)
		switch {
		case err != nil || n > unicode.MaxRune:
			return sc.malformed("invalid character reference")
		case 0xD800 <= n && n <= 0xDFFF:
			return sc.stricter("a reference to a surrogate")
		case !isChar(rune(n)):
			return sc.malformed("illegal character %U", rune(n))
		}
		sc.buf = utf8.AppendRune(sc.buf, rune(n))
	} else {
		c, ok := entities[ref]
		if !ok {
			return sc.malformed("invalid entity reference")
		}
		sc.buf = append(sc.buf, c)
	}
	sc.i += semi + 1
	return nil
}
