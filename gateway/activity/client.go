package activity

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/obert-gov/obert/connectors/scsp"
)

// nsActivity is the namespace of the activity sources' messages.
const nsActivity = "http://www.aoc.cat/via-oberta/activitat/v1"

// Source is one activity source: an administration's service that knows
// the citizens' applications or notifications.
type Source struct {
	ID       string // names the administration on pages and in the log (org.<ID>)
	Kind     string // Applications or Notifications
	Endpoint string // the list; decisions go to Endpoint + "/decide"
	HTTP     *http.Client
	// Signer signs requests (the SCSP key); Certs are the source's
	// certificates its answers must be signed with.
	Signer scsp.Signer
	Certs  []*x509.Certificate
	Now    func() time.Time
}

type listRequest struct {
	XMLName           xml.Name `xml:"http://www.aoc.cat/via-oberta/activitat/v1 PeticioActivitat"`
	IdPeticio         string
	Consulta          string
	TipusDocumentacio string
	Documentacio      string
	Finalitat         string
}

type decisionRequest struct {
	XMLName           xml.Name `xml:"http://www.aoc.cat/via-oberta/activitat/v1 DecisioNotificacio"`
	IdPeticio         string
	TipusDocumentacio string
	Documentacio      string
	IdNotificacio     string
	Decisio           string
	Data              string
}

type wireText struct {
	CA string `xml:"ca"`
	ES string `xml:"es"`
	EN string `xml:"en"`
}

func (w wireText) text() Text { return Text{"ca": w.CA, "es": w.ES, "en": w.EN} }

type answer struct {
	XMLName       xml.Name `xml:"http://www.aoc.cat/via-oberta/activitat/v1 RespostaActivitat"`
	IdPeticio     string
	Estat         string
	Expedients    []wireApplication  `xml:"Expedients>Expedient"`
	Notificacions []wireNotification `xml:"Notificacions>Notificacio"`
}

type wireApplication struct {
	Id         string
	Organ      wireText
	Tramit     wireText
	Inici      string
	Estat      string
	Historial  []struct{ Estat, Data string } `xml:"Historial>Fase"`
	SeguentPas string
	Termini    string
	Documents  []struct {
		Nom  wireText
		Data string
	} `xml:"Documents>Document"`
}

type wireNotification struct {
	Id          string
	Organ       wireText
	Assumpte    wireText
	Posada      string
	Decisio     string
	DataDecisio string
	Contingut   *wireText
}

// Applications reads the citizen's applications from the source.
func (s Source) Applications(ctx context.Context, c Citizen) ([]Application, error) {
	var a answer
	if err := s.call(ctx, s.Endpoint, listRequest{IdPeticio: requestID(), Consulta: Applications, TipusDocumentacio: c.DocType,
		Documentacio: c.DocNumber, Finalitat: "own-dealings"}, &a); err != nil {
		return nil, err
	}
	out := make([]Application, 0, len(a.Expedients))
	for _, w := range a.Expedients {
		app := Application{ID: w.Id, Source: s.ID, Administration: w.Organ.text(), Procedure: w.Tramit.text(), State: w.Estat,
			NextStep: w.SeguentPas, Started: date(w.Inici), Deadline: date(w.Termini)}
		for _, h := range w.Historial {
			app.History = append(app.History, Step{State: h.Estat, At: date(h.Data)})
		}
		for _, d := range w.Documents {
			app.Documents = append(app.Documents, Document{Name: d.Nom.text(), At: date(d.Data)})
		}
		out = append(out, app)
	}
	return out, nil
}

// Notifications reads the citizen's notifications from the source, as the
// source says they stand (content only for those accepted).
func (s Source) Notifications(ctx context.Context, c Citizen) ([]Notification, error) {
	var a answer
	if err := s.call(ctx, s.Endpoint, listRequest{IdPeticio: requestID(), Consulta: Notifications, TipusDocumentacio: c.DocType,
		Documentacio: c.DocNumber, Finalitat: "own-dealings"}, &a); err != nil {
		return nil, err
	}
	out := make([]Notification, 0, len(a.Notificacions))
	for _, w := range a.Notificacions {
		n, err := s.notification(w)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

// Decide tells the source the citizen accepted or rejected a notification,
// and returns it as it then stands.
func (s Source) Decide(ctx context.Context, c Citizen, id, decision string, at time.Time) (Notification, error) {
	var a answer
	err := s.call(ctx, s.Endpoint+"/decide", decisionRequest{IdPeticio: requestID(), TipusDocumentacio: c.DocType, Documentacio: c.DocNumber,
		IdNotificacio: id, Decisio: decision, Data: at.UTC().Format(time.RFC3339)}, &a)
	if err != nil {
		return Notification{}, err
	}
	if len(a.Notificacions) != 1 || a.Notificacions[0].Id != id {
		return Notification{}, fmt.Errorf("%w: the decision's answer names another notification", ErrSource)
	}
	return s.notification(a.Notificacions[0])
}

func (s Source) notification(w wireNotification) (Notification, error) {
	posted, err := time.Parse(time.RFC3339, w.Posada)
	if err != nil {
		return Notification{}, fmt.Errorf("%w: notification %q without a valid date", ErrSource, w.Id)
	}
	n := Notification{ID: w.Id, Source: s.ID, Administration: w.Organ.text(), Subject: w.Assumpte.text(), Posted: posted,
		OpenUntil: OpenUntil(posted), State: w.Decisio}
	if w.DataDecisio != "" {
		n.DecidedAt, _ = time.Parse(time.RFC3339, w.DataDecisio)
	}
	if w.Contingut != nil && w.Decisio == Accepted {
		n.Content = w.Contingut.text()
	}
	return n, nil
}

// call signs req, posts it, verifies the answer against the source's
// certificates and checks it answers this request.
func (s Source) call(ctx context.Context, endpoint string, req any, out *answer) error {
	body, err := xml.Marshal(req)
	if err != nil {
		return err
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	env, err := s.Signer.Envelope(body, now())
	if err != nil {
		return err
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(env))
	if err != nil {
		return err
	}
	hr.Header.Set("Content-Type", "text/xml; charset=utf-8")
	hc := s.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(hr)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrSource, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, scsp.MaxMessage+1))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrSource, err)
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusInternalServerError {
		return fmt.Errorf("%w: HTTP %d", ErrSource, resp.StatusCode)
	}
	msg, _, err := scsp.VerifyPayload(raw, s.Certs)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSource, err)
	}
	if msg.Name != (xml.Name{Space: nsActivity, Local: "RespostaActivitat"}) {
		return fmt.Errorf("%w: not an activity answer", ErrSource)
	}
	if err := msg.Decode(out); err != nil {
		return fmt.Errorf("%w: %w", ErrSource, err)
	}
	var sent struct{ IdPeticio string }
	if err := xml.Unmarshal(body, &sent); err != nil || out.IdPeticio != sent.IdPeticio {
		return fmt.Errorf("%w: the answer is for another request", ErrSource)
	}
	switch out.Estat {
	case "ok":
		return nil
	case "unknown-person":
		out.Expedients, out.Notificacions = nil, nil // the source knows nothing of this citizen: nothing to show
		return nil
	case "unknown-notification":
		return ErrNotFound
	case "expired":
		return ErrExpired
	case "already-decided":
		return ErrDecided
	}
	return fmt.Errorf("%w: state %q", ErrSource, out.Estat)
}

func requestID() string { return "OBERT-ACT-" + rand.Text() }

// date reads a YYYY-MM-DD as that day in Madrid; zero when empty or bad.
func date(s string) time.Time {
	t, err := time.ParseInLocation(time.DateOnly, s, madrid)
	if err != nil {
		return time.Time{}
	}
	return t
}
