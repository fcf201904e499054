package sim

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/beevik/etree"

	"github.com/obert-gov/obert/connectors/scsp"
)

// Faults the simulator can inject.
const (
	FaultNone      = ""
	FaultLatency   = "latency"       // answer after Config.Latency
	FaultTimeout   = "timeout"       // never answer; hold until the client gives up
	FaultHTTP503   = "http-503"      // HTTP 503
	FaultSOAP      = "soap-fault"    // a SOAP Server fault
	FaultSignature = "bad-signature" // an answer whose body changed after signing
	FaultMalformed = "malformed-xml" // an answer that is not XML
	// FaultState is a prefix: "state-0233" answers, signed, with that SCSP
	// state (the holder unknown, here) instead of the data.
	FaultState = "state-"
)

// Config configures a simulator.
type Config struct {
	Population *Population
	Key        *rsa.PrivateKey // signs answers
	Cert       *x509.Certificate
	Trusted    []*x509.Certificate // requesters whose signatures are accepted
	// HeaderFaults lets a request choose a fault with X-Sim-Fault; tests and
	// development only.
	HeaderFaults bool
	Latency      time.Duration
	// Async makes the services with these codes asynchronous: the first
	// answer says "in process" (0002), and the answer comes on the given
	// poll (SolicitudRespuesta). X-Sim-Async: N does the same per request
	// when HeaderFaults is set.
	Async  map[string]int
	Now    func() time.Time
	Logger *slog.Logger
	// Remember is how long requests are kept for Received, and unpolled
	// asynchronous answers for their polls (default 10 minutes): a
	// simulator that runs for days keeps flat memory.
	Remember time.Duration
	// Bases are, by procedure code, the Consentimiento each procedure's
	// purpose must carry (Si, Ley or NoOpo), as the source checks a
	// requester's authorisation: a request whose basis is not its
	// procedure's is refused (0226). A procedure not listed is not checked.
	Bases map[string]string
}

// Server answers SCSP v3 requests over HTTP.
type Server struct {
	cfg   Config
	mux   *http.ServeMux
	mu    sync.Mutex
	fault string
	seen  []seenRequest // requests of the last Remember, for tests
	// pending asynchronous answers by IdPeticion, with polls still to wait
	pending map[string]*pendingAnswer
	polls   int
	// activity serves the citizens' applications and notifications
	activity *activityServer
}

type seenRequest struct {
	at time.Time
	p  scsp.Peticion
}

type pendingAnswer struct {
	resp  *scsp.Respuesta
	waits int
	at    time.Time
}

// Polls counts the SolicitudRespuesta polls received, for tests.
func (s *Server) Polls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.polls
}

// NewServer returns a simulator handler.
func NewServer(cfg Config) (*Server, error) {
	if cfg.Population == nil || cfg.Key == nil || cfg.Cert == nil {
		return nil, errors.New("sim: population, key and certificate are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Latency == 0 {
		cfg.Latency = 2 * time.Second
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux()}
	s.mux.HandleFunc("POST /scsp/census", s.handle(censusService))
	s.mux.HandleFunc("POST /scsp/tax", s.handle(taxService))
	s.mux.HandleFunc("POST /scsp/employment", s.handle(employmentService))
	s.mux.HandleFunc("POST /scsp/dependency", s.handle(dependencyService))
	s.mux.HandleFunc("POST /scsp/representation", s.handle(representationService))
	s.mux.HandleFunc("POST /scsp/company", s.handle(companyService))
	s.activity = newActivityServer(s)
	s.activity.routes(s.mux)
	s.mux.HandleFunc("GET /certificate", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-pem-file")
		w.Write(scsp.CertPEM(cfg.Cert))
	})
	return s, nil
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// SetFault makes every following answer carry fault (FaultNone to stop).
func (s *Server) SetFault(f string) {
	s.mu.Lock()
	s.fault = f
	s.mu.Unlock()
}

// Received returns the requests the simulator accepted, oldest first.
func (s *Server) Received() []scsp.Peticion {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]scsp.Peticion, len(s.seen))
	for i, r := range s.seen {
		out[i] = r.p
	}
	return out
}

func (s *Server) currentFault(r *http.Request) string {
	if s.cfg.HeaderFaults {
		if f := r.Header.Get("X-Sim-Fault"); f != "" {
			return f
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fault
}

// service is one SCSP service the simulator answers: its code, what it
// says when the holder is unknown, and its specific data for a citizen.
type service struct {
	code     string
	noData   string
	specific func(c Citizen, asOf time.Time) any
	// company answers for a company instead of a person.
	company func(c Company) any
	// verify answers a request's specific data: a verification's
	// questions, and only them, or a period asked for; false for what it
	// does not answer.
	verify func(c Citizen, raw []byte, asOf time.Time) (any, bool)
}

var censusService = service{code: scsp.ServiceCensus, noData: "El titular no consta al padró",
	specific: func(c Citizen, _ time.Time) any {
		var d scsp.CensusData
		d.Municipi.Codi, d.Municipi.Nom = c.MunicipalityCode, c.Municipality
		if c.CountyCode != "" {
			d.Comarca = &scsp.Place{Codi: c.CountyCode, Nom: c.County}
		}
		d.DataAlta = c.RegisteredSince.Format(time.DateOnly)
		d.DataNaixement = c.BirthDate.Format(time.DateOnly)
		d.Convivents.Total, d.Convivents.Menors, d.Convivents.Majors65 = c.HouseholdSize, c.Minors, c.Over65
		return d
	},
	verify: func(c Citizen, raw []byte, _ time.Time) (any, bool) {
		var q scsp.CensusVerification
		if xml.Unmarshal(raw, &q) != nil || len(q.Preguntes) == 0 {
			return nil, false
		}
		var a scsp.CensusVerification
		for _, p := range q.Preguntes {
			if p != "resident_in_catalonia" {
				return nil, false
			}
			// Every municipality of Catalonia's provinces (08, 17, 25, 43).
			a.Respostes = append(a.Respostes, scsp.Resposta{Pregunta: p,
				Valor: slices.Contains([]string{"08", "17", "25", "43"}, c.MunicipalityCode[:2])})
		}
		return a, true
	}}

var taxService = service{code: scsp.ServiceTax, noData: "El titular no consta a l'AEAT",
	specific: func(c Citizen, asOf time.Time) any {
		return scsp.TaxData{Exercici: asOf.Year() - 1, Declarada: c.FiledLastYear, Renda: c.IncomeAnnual, AlCorrent: c.TaxCompliant}
	},
	// A request may name an earlier tax year, of the last ten: its income
	// is the last year's, 3 % less for each year back.
	verify: func(c Citizen, raw []byte, asOf time.Time) (any, bool) {
		var q scsp.TaxQuery
		last := asOf.Year() - 1
		if xml.Unmarshal(raw, &q) != nil || q.Exercici > last || q.Exercici < last-9 {
			return nil, false
		}
		back := last - q.Exercici
		return scsp.TaxData{Exercici: q.Exercici, Declarada: back > 0 || c.FiledLastYear,
			Renda: c.IncomeAnnual * (100 - 3*back) / 100, AlCorrent: c.TaxCompliant}, true
	}}

var employmentService = service{code: scsp.ServiceEmployment, noData: "El titular no consta a la TGSS",
	specific: func(c Citizen, _ time.Time) any {
		d := scsp.EmploymentData{EnAlta: c.Employed, MesosCotitzats5A: c.MonthsWorkedLast5y, Prestacio: c.UnemploymentBenefit}
		if !c.UnemployedSince.IsZero() {
			d.DataBaixa = c.UnemployedSince.Format(time.DateOnly)
		}
		return d
	}}

var representationService = service{code: scsp.ServiceRepresentation, noData: "El titular no consta al RERE",
	specific: func(c Citizen, _ time.Time) any {
		var d scsp.RepresentationData
		for _, r := range c.Represents {
			d.Representacions = append(d.Representacions, scsp.Representacio{NIF: r.Company.NIF, Nom: r.Company.Name, Poders: r.Powers})
		}
		return d
	}}

var companyService = service{code: scsp.ServiceCompany, noData: "L'entitat no consta a l'AEAT",
	company: func(c Company) any { return scsp.CompanyData{RaoSocial: c.Name, AlCorrent: c.TaxCompliant} }}

// ServiceDependency is the code of the simulator's fourth service, which
// no connector in the code knows: the Catalan dependency system's record of
// a recognised dependent person in the household. Administrations register
// a connector for it through the API, declaring its fields.
const (
	ServiceDependency = "GENCAT_DEPENDENCIA"
	NSDependency      = "http://www.aoc.cat/via-oberta/dependencia/v1"
)

// DependencyData is that service's specific data.
type DependencyData struct {
	XMLName    xml.Name `xml:"http://www.aoc.cat/via-oberta/dependencia/v1 Resultat"`
	Reconeguda bool     // a dependent person is recognised in the household
	Grau       int      // 0 (none) to 3 (great dependency)
	Data       string   // YYYY-MM-DD of the resolution, empty when none
}

var dependencyService = service{code: ServiceDependency, noData: "El titular no consta al SISAAD",
	specific: func(c Citizen, asOf time.Time) any {
		d := DependencyData{}
		if c.DependentPerson {
			d.Reconeguda, d.Grau = true, 1+int(c.DocNumber[7]-'0')%3
			d.Data = c.RegisteredSince.AddDate(0, 6, 0).Format(time.DateOnly)
		}
		return d
	}}

func (s *Server) handle(svc service) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { s.serve(w, r, svc) }
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, svc service) {
	// Read the request first: the server notices a client that gives up
	// only once the body is consumed.
	arrived := time.Now()
	raw, err := io.ReadAll(io.LimitReader(r.Body, scsp.MaxMessage+1))
	if err != nil {
		writeFault(w, "soapenv:Client", "request could not be read")
		return
	}
	fault := s.currentFault(r)
	switch fault {
	case FaultTimeout:
		select { // hold until the client gives up, bounded so nothing hangs forever
		case <-r.Context().Done():
		case <-time.After(time.Minute):
		}
		return
	case FaultHTTP503:
		http.Error(w, "service unavailable", http.StatusServiceUnavailable)
		return
	case FaultSOAP:
		writeFault(w, "soapenv:Server", "Via Oberta: error intern del servei")
		return
	case FaultMalformed:
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		io.WriteString(w, "<soapenv:Envelope><unclosed>")
		return
	}
	msg, _, err := scsp.VerifyPayload(raw, s.cfg.Trusted)
	if err != nil {
		s.cfg.Logger.Info("sim: request refused", "reason", err.Error())
		writeFault(w, "soapenv:Client", "petició no signada o signatura no vàlida")
		return
	}
	var resp *scsp.Respuesta
	if msg.Name.Local == "SolicitudRespuesta" {
		var sr scsp.SolicitudRespuesta
		if err := msg.Decode(&sr); err != nil {
			writeFault(w, "soapenv:Client", "sol·licitud de resposta mal formada")
			return
		}
		resp = s.poll(sr)
	} else {
		var p scsp.Peticion
		if err := msg.Decode(&p); err != nil || len(p.Solicitudes.SolicitudTransmision) != 1 {
			writeFault(w, "soapenv:Client", "petició mal formada")
			return
		}
		s.mu.Lock()
		s.forget(time.Now())
		s.seen = append(s.seen, seenRequest{at: time.Now(), p: p})
		s.mu.Unlock()
		resp = s.answer(p, svc)
		if code, ok := strings.CutPrefix(fault, FaultState); ok && len(code) == 4 {
			resp.Atributos.Estado = &scsp.Estado{CodigoEstado: code, LiteralError: "Estat simulat"}
			resp.Transmisiones.TransmisionDatos = nil
		}
		waits := s.cfg.Async[svc.code]
		if n, err := strconv.Atoi(r.Header.Get("X-Sim-Async")); s.cfg.HeaderFaults && err == nil {
			waits = n
		}
		if waits > 0 {
			resp = s.defer_(p, resp, waits)
		}
	}
	body, err := xml.Marshal(resp)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	env, err := scsp.Signer{Key: s.cfg.Key, Cert: s.cfg.Cert}.Envelope(body, s.cfg.Now())
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if fault == FaultSignature {
		env = tamper(env)
	}
	if fault == FaultLatency {
		// The source answers Latency after the request arrived, its own
		// work included, as a remote service's answer time would be.
		select {
		case <-time.After(time.Until(arrived.Add(s.cfg.Latency))):
		case <-r.Context().Done():
			return
		}
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Write(env)
}

// defer_ keeps the answer for later polls and says "in process".
func (s *Server) defer_(p scsp.Peticion, full *scsp.Respuesta, waits int) *scsp.Respuesta {
	s.mu.Lock()
	if s.pending == nil {
		s.pending = map[string]*pendingAnswer{}
	}
	s.pending[p.Atributos.IdPeticion] = &pendingAnswer{resp: full, waits: waits, at: time.Now()}
	s.mu.Unlock()
	return s.inProcess(p.Atributos)
}

func (s *Server) inProcess(a scsp.Atributos) *scsp.Respuesta {
	var r scsp.Respuesta
	r.Atributos = scsp.Atributos{IdPeticion: a.IdPeticion, NumElementos: a.NumElementos, CodigoCertificado: a.CodigoCertificado,
		TimeStamp: s.cfg.Now().UTC().Format("2006-01-02T15:04:05.000-07:00"),
		Estado:    &scsp.Estado{CodigoEstado: scsp.StatePending, LiteralError: "En procés", TiempoEstimadoRespuesta: 1}}
	return &r
}

// poll answers a SolicitudRespuesta: still in process, the kept answer, or
// an error for an unknown request.
func (s *Server) poll(sr scsp.SolicitudRespuesta) *scsp.Respuesta {
	s.mu.Lock()
	s.polls++
	p, ok := s.pending[sr.Atributos.IdPeticion]
	if ok {
		p.waits--
		if p.waits <= 0 {
			delete(s.pending, sr.Atributos.IdPeticion)
		}
	}
	s.mu.Unlock()
	switch {
	case !ok:
		var r scsp.Respuesta
		r.Atributos = sr.Atributos
		r.Atributos.Estado = &scsp.Estado{CodigoEstado: scsp.CodeBadRequest, LiteralError: "Petició desconeguda"}
		return &r
	case p.waits > 0:
		return s.inProcess(sr.Atributos)
	}
	return p.resp
}

func (s *Server) answer(p scsp.Peticion, svc service) *scsp.Respuesta {
	sol := p.Solicitudes.SolicitudTransmision[0]
	var resp scsp.Respuesta
	resp.Atributos = scsp.Atributos{IdPeticion: p.Atributos.IdPeticion, NumElementos: 1,
		TimeStamp: s.cfg.Now().UTC().Format("2006-01-02T15:04:05.000-07:00"), CodigoCertificado: p.Atributos.CodigoCertificado}
	state := func(code, lit string) { resp.Atributos.Estado = &scsp.Estado{CodigoEstado: code, LiteralError: lit} }
	switch {
	case p.Atributos.CodigoCertificado != svc.code:
		state(scsp.CodeBadRequest, "Servei desconegut")
		return &resp
	case sol.DatosGenericos.Solicitante.Finalidad == "" ||
		!slices.Contains([]string{"Si", "Ley", "NoOpo"}, sol.DatosGenericos.Solicitante.Consentimiento):
		state(scsp.CodeBadRequest, "Falten la finalitat o el consentiment")
		return &resp
	}
	sp := sol.DatosGenericos.Solicitante
	if want, ok := s.cfg.Bases[sp.Procedimiento.CodProcedimiento]; ok && want != sp.Consentimiento {
		state(scsp.CodeBadRequest, "El consentiment ("+sp.Consentimiento+") no és el del procediment ("+want+")")
		return &resp
	}
	var specific any
	if svc.company != nil {
		co, ok := s.cfg.Population.Company(sol.DatosGenericos.Titular.Documentacion)
		if !ok {
			state(scsp.CodeNoData, svc.noData)
			return &resp
		}
		specific = svc.company(co)
	} else {
		c, ok := s.cfg.Population.Lookup(sol.DatosGenericos.Titular.Documentacion)
		if !ok {
			state(scsp.CodeNoData, svc.noData)
			return &resp
		}
		specific = svc.specific(c, s.cfg.Now())
		if q := sol.DatosEspecificos; q != nil && len(q.Inner) > 0 {
			if svc.verify == nil {
				state(scsp.CodeBadRequest, "Verificació no admesa")
				return &resp
			}
			v, ok := svc.verify(c, q.Inner, s.cfg.Now())
			if !ok {
				state(scsp.CodeBadRequest, "Verificació no admesa")
				return &resp
			}
			specific = v
		}
	}
	state(scsp.StateDone, "Tramitada")
	inner, _ := xml.Marshal(specific)
	gen := sol.DatosGenericos
	gen.Transmision.IdTransmision = "SIM-" + p.Atributos.IdPeticion
	resp.Transmisiones.TransmisionDatos = []scsp.TransmisionDatos{{DatosGenericos: gen, DatosEspecificos: &scsp.Raw{Inner: inner}}}
	return &resp
}

func writeFault(w http.ResponseWriter, code, msg string) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	w.Write(scsp.Fault(code, msg))
}

// tamper changes the signed body after signing, as a broken or hostile
// intermediary would.
func tamper(env []byte) []byte {
	doc := etree.NewDocument()
	if doc.ReadFromBytes(env) != nil {
		return env
	}
	for _, el := range doc.FindElements("//DataNaixement") {
		el.SetText("1900-01-01")
	}
	for _, el := range doc.FindElements("//Estado/LiteralError") {
		el.SetText("Tramitada!")
	}
	b, _ := doc.WriteToBytes()
	return b
}

// Running is a simulator serving on a loopback listener.
type Running struct {
	URL        string
	Server     *Server
	Population *Population
	Cert       *x509.Certificate
	srv        *http.Server
}

// Start serves a simulator on addr ("127.0.0.1:0" for any port).
func Start(ctx context.Context, addr string, cfg Config) (*Running, error) {
	s, err := NewServer(cfg)
	if err != nil {
		return nil, err
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("sim: listen %s: %w", addr, err)
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	return &Running{URL: "http://" + ln.Addr().String(), Server: s, Population: cfg.Population, Cert: cfg.Cert, srv: srv}, nil
}

// Close stops the simulator, waiting for requests in flight up to ctx.
func (r *Running) Close(ctx context.Context) error { return r.srv.Shutdown(ctx) }

// forget drops what is older than Remember; s.mu must be held.
func (s *Server) forget(now time.Time) {
	keep := s.cfg.Remember
	if keep <= 0 {
		keep = 10 * time.Minute
	}
	i := 0
	for i < len(s.seen) && now.Sub(s.seen[i].at) > keep {
		i++
	}
	if i > 0 {
		s.seen = append(s.seen[:0], s.seen[i:]...)
	}
	for id, a := range s.pending {
		if now.Sub(a.at) > keep {
			delete(s.pending, id)
		}
	}
}

// Facts are the canonical facts the census, tax and working-life services
// give of c at asOf, each answer encoded as the simulator sends it and
// decoded by the service's connector code: what a full fetch of the three
// would store, for tests and benchmarks that need many citizens' facts.
func Facts(c Citizen, asOf time.Time) (map[string]map[string]any, error) {
	out := map[string]map[string]any{}
	for cat, s := range map[string]struct {
		svc  service
		code scsp.Service
	}{"census": {censusService, scsp.Census}, "tax": {taxService, scsp.Tax}, "employment": {employmentService, scsp.Employment}} {
		raw, err := xml.Marshal(s.svc.specific(c, asOf))
		if err != nil {
			return nil, err
		}
		v, err := s.code.Values(raw)
		if err != nil {
			return nil, fmt.Errorf("sim: %s facts: %w", cat, err)
		}
		out[cat] = v
	}
	return out, nil
}
