package notify

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// Received is one message a Sink accepted.
type Received struct {
	From string
	To   []string
	Raw  []byte
	At   time.Time
}

// Parse reads the message's headers and body.
func (r Received) Parse() (*mail.Message, error) { return mail.ReadMessage(bytes.NewReader(r.Raw)) }

// Subject is the message's subject, decoded.
func (r Received) Subject() (string, error) {
	m, err := r.Parse()
	if err != nil {
		return "", err
	}
	return new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
}

// Text is the message's text/plain body (its part, in a multipart
// message), decoded.
func (r Received) Text() (string, error) {
	m, err := r.Parse()
	if err != nil {
		return "", err
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(mt, "multipart/") {
		var body io.Reader = m.Body
		if strings.EqualFold(m.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
			body = quotedprintable.NewReader(body)
		}
		b, err := io.ReadAll(io.LimitReader(body, 1<<20))
		return string(b), err
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextPart() // decodes quoted-printable
		if err != nil {
			return "", errors.New("notify: no text part")
		}
		if strings.HasPrefix(p.Header.Get("Content-Type"), "text/plain") {
			b, err := io.ReadAll(io.LimitReader(p, 1<<20))
			return string(b), err
		}
	}
}

// Sink is an SMTP server (github.com/emersion/go-smtp) that keeps what it
// receives in memory: the development mail box of `make run` and the
// server the tests deliver to. It is never used in production mode.
type Sink struct {
	srv  *smtp.Server
	ln   net.Listener
	mu   sync.Mutex
	msgs []Received
	cond *sync.Cond
}

// StartSink listens on addr (e.g. 127.0.0.1:0).
func StartSink(addr string) (*Sink, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Sink{ln: ln}
	s.cond = sync.NewCond(&s.mu)
	s.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &sinkSession{sink: s}, nil }))
	s.srv.Domain = "localhost"
	s.srv.MaxMessageBytes = 1 << 20
	s.srv.MaxRecipients = 10
	s.srv.ReadTimeout, s.srv.WriteTimeout = 30*time.Second, 30*time.Second
	go s.srv.Serve(ln)
	return s, nil
}

// Addr is host:port.
func (s *Sink) Addr() string { return s.ln.Addr().String() }

// URL is the SMTP URL that delivers to the sink.
func (s *Sink) URL(from string) string {
	return "smtp://" + s.Addr() + "?starttls=none&from=" + from
}

// Messages returns a copy of what was received, oldest first.
func (s *Sink) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.msgs...)
}

// Wait returns the messages once there are at least n, or what there is
// when timeout passes.
func (s *Sink) Wait(n int, timeout time.Duration) []Received {
	deadline := time.Now().Add(timeout)
	t := time.AfterFunc(timeout, func() { s.mu.Lock(); s.cond.Broadcast(); s.mu.Unlock() })
	defer t.Stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.msgs) < n && time.Now().Before(deadline) {
		s.cond.Wait()
	}
	return append([]Received(nil), s.msgs...)
}

// Close stops the server.
func (s *Sink) Close() error { return s.srv.Close() }

type sinkSession struct {
	sink *Sink
	from string
	to   []string
}

func (ss *sinkSession) Reset()        { ss.from, ss.to = "", nil }
func (ss *sinkSession) Logout() error { return nil }
func (ss *sinkSession) Mail(from string, _ *smtp.MailOptions) error {
	ss.from = from
	return nil
}
func (ss *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, to)
	return nil
}
func (ss *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if len(ss.to) == 0 {
		return errors.New("no recipient")
	}
	s := ss.sink
	s.mu.Lock()
	s.msgs = append(s.msgs, Received{From: ss.from, To: ss.to, Raw: b, At: time.Now()})
	s.cond.Broadcast()
	s.mu.Unlock()
	return nil
}
