package signin

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// client describes where a request comes from for its citizen, without
// identifying the device or the address: the browser and system families
// from the User-Agent, and the network prefix (a /24 of IPv4, a /48 of
// IPv6).
func (s *Service) client(r *http.Request) string {
	var ip netip.Addr
	if s.cfg.ClientIP != nil {
		ip = s.cfg.ClientIP(r)
	} else if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		ip, _ = netip.ParseAddr(host)
	}
	return Device(r.UserAgent()) + " · " + NetworkPrefix(ip)
}

// Device names a User-Agent's browser and system families ("Firefox on
// Android"), or "unknown browser".
func Device(ua string) string {
	browser := "unknown browser"
	for _, b := range []struct{ token, name string }{
		{"Edg/", "Edge"}, {"OPR/", "Opera"}, {"SamsungBrowser/", "Samsung Internet"}, {"Firefox/", "Firefox"},
		{"Chrome/", "Chrome"}, {"Chromium/", "Chromium"}, {"Safari/", "Safari"},
	} {
		if strings.Contains(ua, b.token) {
			browser = b.name
			break
		}
	}
	system := ""
	for _, o := range []struct{ token, name string }{
		{"Android", "Android"}, {"iPhone", "iOS"}, {"iPad", "iPadOS"}, {"Windows", "Windows"}, {"Mac OS X", "macOS"},
		{"CrOS", "ChromeOS"}, {"Linux", "Linux"},
	} {
		if strings.Contains(ua, o.token) {
			system = o.name
			break
		}
	}
	if system == "" {
		return browser
	}
	return browser + " on " + system
}

// NetworkPrefix is the network an address belongs to, never the address:
// a /24 for IPv4, a /48 for IPv6.
func NetworkPrefix(ip netip.Addr) string {
	if !ip.IsValid() {
		return "unknown network"
	}
	ip = ip.Unmap()
	bits := 48
	if ip.Is4() {
		bits = 24
	}
	p, err := ip.Prefix(bits)
	if err != nil {
		return "unknown network"
	}
	return p.String()
}

// SessionInfo is one of a citizen's sessions as they see it.
type SessionInfo struct {
	ID        string // a handle to end it by (the hash of its id, never the id)
	Provider  string
	LoA       string
	Client    string
	CreatedAt time.Time
	LastSeen  time.Time
	Current   bool // the session of the request
}

// SessionsOf lists the citizen's live sessions, the request's own marked.
func (s *Service) SessionsOf(ctx context.Context, r *http.Request, subject string) ([]SessionInfo, error) {
	stored, err := s.cfg.Store.ListSessions(ctx, subject, s.cfg.Now(), s.cfg.IdleTimeout, s.cfg.MaxAge)
	if err != nil {
		return nil, err
	}
	current := ""
	if c, err := r.Cookie(s.cookieName("obert_session")); err == nil {
		current = hashID(c.Value)
	}
	var out []SessionInfo
	for _, ss := range stored {
		info := SessionInfo{ID: ss.IDHash, CreatedAt: ss.CreatedAt, LastSeen: ss.LastSeen, Current: ss.IDHash == current}
		if plain, err := s.cfg.Sealer.Open(ss.Sealed, []byte("session/"+ss.IDHash)); err == nil {
			var sealed sealedSession
			if json.Unmarshal(plain, &sealed) == nil {
				info.Provider, info.LoA, info.Client = sealed.Identity.Provider, sealed.Identity.LoA, sealed.Client
			}
		}
		out = append(out, info)
	}
	return out, nil
}

// EndSession ends one of the citizen's sessions by its handle; a handle
// that is not theirs ends nothing (ErrNotFound).
func (s *Service) EndSession(ctx context.Context, subject, id string) error {
	return s.cfg.Store.DeleteSessionOf(ctx, subject, id)
}
