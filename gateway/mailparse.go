package gateway

import (
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
)

var wordDecoder mime.WordDecoder

func decodeHeader(s string) (string, error) { return wordDecoder.DecodeHeader(s) }

// textPart returns the text/plain part of a message, decoded.
func textPart(m *mail.Message) string {
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		return ""
	}
	if !strings.HasPrefix(mt, "multipart/") {
		return decodePart(m.Body, m.Header.Get("Content-Transfer-Encoding"))
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextRawPart()
		if err != nil {
			return ""
		}
		if strings.HasPrefix(p.Header.Get("Content-Type"), "text/plain") {
			return decodePart(p, p.Header.Get("Content-Transfer-Encoding"))
		}
	}
}

func decodePart(r io.Reader, enc string) string {
	if strings.EqualFold(enc, "quoted-printable") {
		r = quotedprintable.NewReader(r)
	}
	b, _ := io.ReadAll(io.LimitReader(r, 1<<20))
	return string(b)
}
