package documents

import (
	"bytes"
	"crypto"
	"fmt"
	"net/url"
	"time"

	"github.com/digitorus/pdf"
	"github.com/digitorus/pdfsign/sign"
	"github.com/go-pdf/fpdf"
	qrcode "github.com/yeqown/go-qrcode/v2"
)

// VerifyURL is the address a document's QR code points at.
func (s *Service) VerifyURL(csv string) string {
	return s.cfg.Verify + "?csv=" + url.QueryEscape(csv)
}

// PDF renders the document in lang and signs it with the document key
// (a certification signature that allows no changes). It is rendered
// again at each download from what was stored, so the file always says
// what the verification page says.
func (s *Service) PDF(d Document, lang string) ([]byte, error) {
	l := func(key string, args ...any) string { return s.cfg.Labels(lang, key, args...) }
	p := fpdf.New("P", "mm", "A4", "")
	p.SetTitle(l("documents.type."+string(d.Type)), true)
	p.SetAuthor(s.cfg.Issuer, true)
	p.SetCreator("Obert", true)
	p.SetCreationDate(d.IssuedAt)
	p.SetModificationDate(d.IssuedAt)
	tr := p.UnicodeTranslatorFromDescriptor("") // the core fonts are cp1252
	p.SetMargins(20, 20, 20)
	p.AddPage()

	p.SetFont("Helvetica", "", 10)
	p.CellFormat(0, 6, tr(s.cfg.Issuer), "", 1, "L", false, 0, "")
	p.Ln(4)
	p.SetFont("Helvetica", "B", 16)
	p.MultiCell(0, 8, tr(l("documents.type."+string(d.Type))), "", "L", false)
	p.Ln(4)

	p.SetFont("Helvetica", "", 11)
	row := func(label, value string) {
		p.SetFont("Helvetica", "B", 11)
		p.CellFormat(70, 7, tr(label), "B", 0, "L", false, 0, "")
		p.SetFont("Helvetica", "", 11)
		p.MultiCell(0, 7, tr(value), "B", "L", false)
	}
	row(l("documents.holder"), d.Holder.Name)
	row(l("documents.holder_document"), d.Holder.Document)
	for _, f := range d.Fields {
		row(l("field."+f.Name), Value(f.Value, lang, s.cfg.Labels))
	}
	p.Ln(6)
	row(l("documents.issued_at"), d.IssuedAt.Format(time.DateOnly))
	row(l("documents.valid_until"), d.ValidUntil.Format(time.DateOnly))
	p.Ln(6)
	p.SetFont("Helvetica", "", 9)
	p.MultiCell(0, 5, tr(l("documents.pdf_note", s.cfg.Verify)), "", "L", false)
	p.Ln(4)

	// The code and its QR, side by side.
	y := p.GetY()
	if err := drawQR(p, s.VerifyURL(d.CSV), 20, y, 40); err != nil {
		return nil, err
	}
	p.SetXY(65, y+12)
	p.SetFont("Courier", "B", 13)
	p.CellFormat(0, 7, "CSV: "+d.CSV, "", 2, "L", false, 0, "")
	p.SetFont("Helvetica", "", 8)
	p.SetX(65)
	p.MultiCell(0, 4, s.VerifyURL(d.CSV), "", "L", false)

	var unsigned bytes.Buffer
	if err := p.Output(&unsigned); err != nil {
		return nil, fmt.Errorf("documents: render: %w", err)
	}
	return s.sign(unsigned.Bytes(), d)
}

func (s *Service) sign(unsigned []byte, d Document) ([]byte, error) {
	in := bytes.NewReader(unsigned)
	rdr, err := pdf.NewReader(in, int64(len(unsigned)))
	if err != nil {
		return nil, fmt.Errorf("documents: read the rendered PDF: %w", err)
	}
	var out bytes.Buffer
	err = sign.Sign(in, &out, rdr, int64(len(unsigned)), sign.SignData{
		Signature: sign.SignDataSignature{
			CertType:   sign.CertificationSignature,
			DocMDPPerm: sign.DoNotAllowAnyChangesPerms,
			Info: sign.SignDataSignatureInfo{Name: s.cfg.Issuer, Reason: "CSV " + d.CSV,
				ContactInfo: s.cfg.Verify, Date: s.cfg.Now()},
		},
		Signer:          s.cfg.Signer,
		DigestAlgorithm: crypto.SHA256,
		Certificate:     s.cfg.Cert,
	})
	if err != nil {
		return nil, fmt.Errorf("documents: sign: %w", err)
	}
	return out.Bytes(), nil
}

// Value formats a field's value for people: yes/no in their language,
// numbers without a decimal point when whole.
func Value(v any, lang string, l Labels) string {
	switch x := v.(type) {
	case bool:
		return l(lang, fmt.Sprintf("value.%t", x))
	case float64:
		if x == float64(int64(x)) {
			return fmt.Sprint(int64(x))
		}
	}
	return fmt.Sprint(v)
}

// drawQR draws the QR code of text as filled squares, size mm wide, with
// its top left corner at x, y.
func drawQR(p *fpdf.Fpdf, text string, x, y, size float64) error {
	q, err := qrcode.NewWith(text, qrcode.WithErrorCorrectionLevel(qrcode.ErrorCorrectionMedium))
	if err != nil {
		return fmt.Errorf("documents: QR code: %w", err)
	}
	return q.Save(qrDrawer{p: p, x: x, y: y, size: size})
}

type qrDrawer struct {
	p          *fpdf.Fpdf
	x, y, size float64
}

func (w qrDrawer) Write(m qrcode.Matrix) error {
	// Four modules of quiet zone on each side, as the standard asks.
	n := float64(m.Width() + 8)
	cell := w.size / n
	w.p.SetFillColor(0, 0, 0)
	m.Iterate(qrcode.IterDirection_ROW, func(cx, cy int, v qrcode.QRValue) {
		if v.IsSet() {
			w.p.Rect(w.x+float64(cx+4)*cell, w.y+float64(cy+4)*cell, cell, cell, "F")
		}
	})
	return nil
}

func (qrDrawer) Close() error { return nil }
