package sim

import (
	"encoding/xml"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/obert-gov/obert/connectors/scsp"
)

// The activity services: what e-TRAM shows a citizen of the procedures
// they started (applications) and what e-NOTUM delivers them
// (notifications), for every synthetic citizen. Requests and answers are
// signed WS-Security envelopes, as SCSP's are, around small messages of
// their own namespace.
//
// The simulator is an independent counterpart of Obert's activity client,
// so these message types are its own and are not shared with the gateway.

// NSActivity is the namespace of the activity messages.
const NSActivity = "http://www.aoc.cat/via-oberta/activitat/v1"

// Activity kinds, each served at /activity/<kind>.
const (
	ActivityApplications  = "applications"
	ActivityNotifications = "notifications"
)

// ActivityRequest asks for one kind of a citizen's activity.
type ActivityRequest struct {
	XMLName           xml.Name `xml:"http://www.aoc.cat/via-oberta/activitat/v1 PeticioActivitat"`
	IdPeticio         string
	Consulta          string // applications | notifications
	TipusDocumentacio string
	Documentacio      string
	Finalitat         string
}

// DecisionRequest accepts or rejects one notification.
type DecisionRequest struct {
	XMLName           xml.Name `xml:"http://www.aoc.cat/via-oberta/activitat/v1 DecisioNotificacio"`
	IdPeticio         string
	TipusDocumentacio string
	Documentacio      string
	IdNotificacio     string
	Decisio           string // accepted | rejected
	Data              string // RFC 3339
}

// ActivityAnswer is every answer.
type ActivityAnswer struct {
	XMLName       xml.Name `xml:"http://www.aoc.cat/via-oberta/activitat/v1 RespostaActivitat"`
	IdPeticio     string
	Estat         string        // ok | unknown-person | unknown-notification | expired | bad-request
	Expedients    []Expedient   `xml:"Expedients>Expedient"`
	Notificacions []Notificacio `xml:"Notificacions>Notificacio"`
}

// Text is a text in the three languages.
type Text struct {
	CA string `xml:"ca"`
	ES string `xml:"es"`
	EN string `xml:"en"`
}

// Expedient is one application (a case file).
type Expedient struct {
	Id         string
	Organ      Text
	Tramit     Text
	Inici      string        // YYYY-MM-DD
	Estat      string        // submitted | in-review | more-info | granted | denied
	Historial  []Fase        `xml:"Historial>Fase"`
	SeguentPas string        // provide-documents | wait-resolution | none
	Termini    string        // YYYY-MM-DD, empty without a deadline
	Documents  []DocumentExp `xml:"Documents>Document"`
}

// Fase is one state an application passed through.
type Fase struct {
	Estat string
	Data  string // YYYY-MM-DD
}

// DocumentExp is one document in a case file.
type DocumentExp struct {
	Nom  Text
	Data string // YYYY-MM-DD
}

// Notificacio is one notification; its content travels only once accepted.
type Notificacio struct {
	Id          string
	Organ       Text
	Assumpte    Text
	Posada      string // RFC 3339: when it was made available
	Decisio     string // empty, accepted or rejected
	DataDecisio string
	Contingut   *Text
}

type activityServer struct {
	s         *Server
	start     time.Time // the day the histories are anchored to
	mu        sync.Mutex
	faults    map[string]string // by kind
	decisions map[string]decision
}

type decision struct {
	what string
	at   time.Time
}

func newActivityServer(s *Server) *activityServer {
	return &activityServer{s: s, start: madridDay(s.cfg.Now()), faults: map[string]string{}, decisions: map[string]decision{}}
}

func (a *activityServer) routes(m *http.ServeMux) {
	m.HandleFunc("POST /activity/applications", a.list(ActivityApplications))
	m.HandleFunc("POST /activity/notifications", a.list(ActivityNotifications))
	m.HandleFunc("POST /activity/notifications/decide", a.decide)
}

// SetActivityFault makes every following answer of one activity kind
// carry fault (FaultNone to stop), so tests can fail one source only.
func (s *Server) SetActivityFault(kind, fault string) {
	s.activity.mu.Lock()
	defer s.activity.mu.Unlock()
	s.activity.faults[kind] = fault
}

// read checks the fault, reads and verifies the request; it answers the
// refusal itself and returns ok false when the request must stop.
func (a *activityServer) read(w http.ResponseWriter, r *http.Request, kind string, v any) bool {
	arrived := time.Now()
	raw, err := io.ReadAll(io.LimitReader(r.Body, scsp.MaxMessage+1))
	if err != nil {
		writeFault(w, "soapenv:Client", "request could not be read")
		return false
	}
	fault := a.s.currentFault(r)
	if fault == FaultNone {
		a.mu.Lock()
		fault = a.faults[kind]
		a.mu.Unlock()
	}
	switch fault {
	case FaultHTTP503:
		http.Error(w, "service unavailable", http.StatusServiceUnavailable)
		return false
	case FaultLatency:
		select {
		case <-time.After(time.Until(arrived.Add(a.s.cfg.Latency))):
		case <-r.Context().Done():
			return false
		}
	case FaultTimeout:
		select {
		case <-r.Context().Done():
		case <-time.After(time.Minute):
		}
		return false
	}
	msg, _, err := scsp.VerifyPayload(raw, a.s.cfg.Trusted)
	if err != nil {
		a.s.cfg.Logger.Info("sim: activity request refused", "reason", err.Error())
		writeFault(w, "soapenv:Client", "petició no signada o signatura no vàlida")
		return false
	}
	if err := msg.Decode(v); err != nil {
		writeFault(w, "soapenv:Client", "petició mal formada")
		return false
	}
	return true
}

func (a *activityServer) write(w http.ResponseWriter, r *http.Request, ans ActivityAnswer) {
	body, err := xml.Marshal(ans)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	env, err := scsp.Signer{Key: a.s.cfg.Key, Cert: a.s.cfg.Cert}.Envelope(body, a.s.cfg.Now())
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if a.s.currentFault(r) == FaultSignature {
		env = tamperActivity(env)
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Write(env)
}

func (a *activityServer) list(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req ActivityRequest
		if !a.read(w, r, kind, &req) {
			return
		}
		ans := ActivityAnswer{IdPeticio: req.IdPeticio, Estat: "ok"}
		c, ok := a.s.cfg.Population.Lookup(req.Documentacio)
		switch {
		case req.Consulta != kind || req.Finalitat == "":
			ans.Estat = "bad-request"
		case !ok:
			ans.Estat = "unknown-person"
		case kind == ActivityApplications:
			ans.Expedients = ApplicationsOf(c, a.start)
		default:
			for _, n := range NotificationsOf(c, a.start) {
				ans.Notificacions = append(ans.Notificacions, a.withDecision(c, n))
			}
		}
		a.write(w, r, ans)
	}
}

// withDecision adds what the citizen decided, and the content once accepted.
func (a *activityServer) withDecision(c Citizen, n Notificacio) Notificacio {
	a.mu.Lock()
	d, ok := a.decisions[c.DocNumber+"/"+n.Id]
	a.mu.Unlock()
	content := n.Contingut
	n.Contingut = nil
	if ok {
		n.Decisio, n.DataDecisio = d.what, d.at.UTC().Format(time.RFC3339)
		if d.what == "accepted" {
			n.Contingut = content
		}
	}
	return n
}

func (a *activityServer) decide(w http.ResponseWriter, r *http.Request) {
	var req DecisionRequest
	if !a.read(w, r, ActivityNotifications, &req) {
		return
	}
	ans := ActivityAnswer{IdPeticio: req.IdPeticio, Estat: "ok"}
	at, err := time.Parse(time.RFC3339, req.Data)
	c, known := a.s.cfg.Population.Lookup(req.Documentacio)
	var found *Notificacio
	if known {
		for _, n := range NotificationsOf(c, a.start) {
			if n.Id == req.IdNotificacio {
				found = &n
				break
			}
		}
	}
	switch {
	case err != nil || (req.Decisio != "accepted" && req.Decisio != "rejected"):
		ans.Estat = "bad-request"
	case !known:
		ans.Estat = "unknown-person"
	case found == nil:
		ans.Estat = "unknown-notification"
	default:
		posted, _ := time.Parse(time.RFC3339, found.Posada)
		key := c.DocNumber + "/" + found.Id
		a.mu.Lock()
		prev, decided := a.decisions[key]
		switch {
		case decided && prev.what != req.Decisio:
			ans.Estat = "already-decided"
		case !decided && !at.Before(openUntil(posted)):
			ans.Estat = "expired" // ten calendar days passed unopened (Law 39/2015, art. 43.2)
		case !decided:
			a.decisions[key] = decision{what: req.Decisio, at: at}
		}
		a.mu.Unlock()
		if ans.Estat == "ok" {
			ans.Notificacions = []Notificacio{a.withDecision(c, *found)}
		}
	}
	a.write(w, r, ans)
}

var madridLoc = func() *time.Location {
	if l, err := time.LoadLocation("Europe/Madrid"); err == nil {
		return l
	}
	return time.UTC
}()

func madridDay(t time.Time) time.Time {
	t = t.In(madridLoc)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, madridLoc)
}

// openUntil is the first instant a notification made available at posted
// counts as rejected: the start of the eleventh calendar day after, in
// Madrid (the ten days count from the day after it was made available).
func openUntil(posted time.Time) time.Time {
	return madridDay(posted).AddDate(0, 0, 11)
}

func rngOf(c Citizen, salt uint64) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(c.DocNumber))
	return rand.New(rand.NewPCG(h.Sum64(), salt))
}

type procedure struct {
	organ, title Text
	docs         []Text
}

var procedures = []procedure{
	{Text{"Agència de l'Habitatge de Catalunya", "Agencia de la Vivienda de Cataluña", "Housing Agency of Catalonia"},
		Text{"Prestació per al pagament del lloguer", "Prestación para el pago del alquiler", "Rent payment benefit"},
		[]Text{{"Contracte de lloguer", "Contrato de alquiler", "Tenancy agreement"}, {"Rebuts del lloguer", "Recibos del alquiler", "Rent receipts"}}},
	{Text{"Departament de Drets Socials", "Departamento de Derechos Sociales", "Department of Social Rights"},
		Text{"Renda garantida de ciutadania", "Renta garantizada de ciudadanía", "Guaranteed citizen's income"},
		[]Text{{"Declaració responsable", "Declaración responsable", "Responsible declaration"}}},
	{Text{"Departament de Drets Socials", "Departamento de Derechos Sociales", "Department of Social Rights"},
		Text{"Títol de família monoparental", "Título de familia monoparental", "Single-parent family card"},
		[]Text{{"Llibre de família", "Libro de familia", "Family book"}}},
	{Text{"Ajuntament", "Ayuntamiento", "City council"},
		Text{"Targeta rosa de transport", "Tarjeta rosa de transporte", "Pink transport card"},
		[]Text{{"Fotografia", "Fotografía", "Photograph"}}},
	{Text{"Departament de Drets Socials", "Departamento de Derechos Sociales", "Department of Social Rights"},
		Text{"Reconeixement de la situació de dependència", "Reconocimiento de la situación de dependencia", "Recognition of dependency"},
		[]Text{{"Informe de salut", "Informe de salud", "Health report"}}},
}

// ApplicationsOf returns a citizen's applications (two or three), the same
// for the same citizen and day the simulator started.
func ApplicationsOf(c Citizen, start time.Time) []Expedient {
	r := rngOf(c, 0xe7a1)
	n := 2 + r.IntN(2)
	first := r.IntN(len(procedures))
	day := func(t time.Time) string { return t.Format(time.DateOnly) }
	var out []Expedient
	for i := range n {
		p := procedures[(first+i)%len(procedures)]
		began := start.AddDate(0, 0, -between(r, 20, 200))
		e := Expedient{Id: "EXP-" + c.DocNumber[len(c.DocNumber)-4:] + "-" + string(rune('A'+i)), Organ: p.organ, Tramit: p.title,
			Inici: day(began), Historial: []Fase{{"submitted", day(began)}},
			Documents: []DocumentExp{{Text{"Sol·licitud", "Solicitud", "Application form"}, day(began)}}}
		for _, d := range p.docs {
			e.Documents = append(e.Documents, DocumentExp{d, day(began)})
		}
		e.Estat, e.SeguentPas = "submitted", "wait-resolution"
		steps := []string{"in-review", "more-info", "granted", "denied"}[:1+r.IntN(3)]
		at := began
		for _, st := range steps {
			at = at.AddDate(0, 0, between(r, 3, 15))
			if at.After(start) {
				break
			}
			e.Estat = st
			e.Historial = append(e.Historial, Fase{st, day(at)})
		}
		switch e.Estat {
		case "more-info":
			e.SeguentPas, e.Termini = "provide-documents", day(at.AddDate(0, 0, 10))
		case "granted", "denied":
			e.SeguentPas = "none"
			e.Documents = append(e.Documents, DocumentExp{Text{"Resolució", "Resolución", "Decision"}, day(at)})
		default:
			e.Termini = day(began.AddDate(0, 3, 0)) // the time the administration has to decide
		}
		out = append(out, e)
	}
	return out
}

var subjects = []struct{ subject, content Text }{
	{Text{"Requeriment de documentació", "Requerimiento de documentación", "Request for documents"},
		Text{"Us demanem que aporteu els rebuts dels darrers tres mesos en el termini de deu dies.",
			"Le pedimos que aporte los recibos de los últimos tres meses en el plazo de diez días.",
			"Please provide the receipts of the last three months within ten days."}},
	{Text{"Resolució del vostre expedient", "Resolución de su expediente", "Decision on your case"},
		Text{"S'ha resolt favorablement la vostra sol·licitud.", "Se ha resuelto favorablemente su solicitud.",
			"Your application has been granted."}},
	{Text{"Comunicació d'inici de procediment", "Comunicación de inicio de procedimiento", "Notice that a procedure has started"},
		Text{"El vostre expedient ha entrat en tràmit; la resolució es dictarà en tres mesos.",
			"Su expediente ha entrado en trámite; la resolución se dictará en tres meses.",
			"Your case is being processed; a decision will be made within three months."}},
}

// NotificationsOf returns a citizen's notifications (three: two made
// available in the last week, still open, and one two weeks old), with
// their content, the same for the same citizen and day the simulator
// started.
func NotificationsOf(c Citizen, start time.Time) []Notificacio {
	r := rngOf(c, 0x4e07)
	first := r.IntN(len(subjects))
	ages := []int{between(r, 1, 3), between(r, 5, 8), between(r, 14, 30)}
	var out []Notificacio
	for i, age := range ages {
		s := subjects[(first+i)%len(subjects)]
		p := procedures[(first+i)%len(procedures)]
		posted := start.AddDate(0, 0, -age).Add(time.Duration(between(r, 8*60, 19*60)) * time.Minute)
		content := s.content
		out = append(out, Notificacio{Id: "NOT-" + c.DocNumber[len(c.DocNumber)-4:] + "-" + string(rune('1'+i)), Organ: p.organ,
			Assumpte: s.subject, Posada: posted.UTC().Format(time.RFC3339), Contingut: &content})
	}
	return out
}

// tamperActivity changes the signed answer after signing.
func tamperActivity(env []byte) []byte {
	return []byte(strings.Replace(string(env), "<Estat>", "<Estat>x", 1))
}

// ActivityDecisions counts the notification decisions the simulator
// recorded, for tests.
func (s *Server) ActivityDecisions() int {
	s.activity.mu.Lock()
	defer s.activity.mu.Unlock()
	return len(s.activity.decisions)
}

// ActivityStart is the day (Madrid) the activity histories are anchored
// to: ApplicationsOf and NotificationsOf with it give what is served.
func (s *Server) ActivityStart() time.Time { return s.activity.start }
