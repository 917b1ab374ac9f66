package web

import (
	"context"
	"crypto/subtle"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/ansflow/ansflow/state"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Server serves the dashboard of one pipeline directory and workspace.
type Server struct {
	// Dir is the absolute pipeline directory (logs and events files).
	Dir       string
	Workspace string
	// ReadState reads the workspace's state from its backend.
	ReadState func(ctx context.Context) (*state.State, error)
	// PlanFile is a saved plan named on the command line, if any.
	PlanFile string
	// Token, when set, is required on every request: ?token= once (it is
	// then kept in a cookie), or an "Authorization: Bearer" header.
	Token string
	// Loopback restricts the Host header to loopback names, against DNS
	// rebinding (set when listening on a loopback address).
	Loopback bool
	// Poll is how often a live page's events file is checked for new
	// lines; default 200ms.
	Poll time.Duration

	tmpl  *template.Template
	cache runCache
}

const tokenCookie = "ansflow_ui_token"

// csp allows the page's own script, stylesheet and event streams, nothing else.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Handler returns the dashboard's handler.
func (s *Server) Handler() (http.Handler, error) {
	t, err := template.New("").Funcs(funcs).ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	s.tmpl = t
	if s.Poll == 0 {
		s.Poll = 200 * time.Millisecond
	}
	static, _ := fs.Sub(staticFS, "static")
	mux := http.NewServeMux()
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /{$}", s.runsPage)
	mux.HandleFunc("GET /runs/latest", s.latestRun)
	mux.HandleFunc("GET /runs/{n}", s.runPage)
	mux.HandleFunc("GET /runs/{n}/timeline", s.timelineFragment)
	mux.HandleFunc("GET /runs/{n}/events", s.runEvents)
	mux.HandleFunc("GET /runs/{n}/step", s.stepPage)
	mux.HandleFunc("GET /runs/{n}/log", s.logStream)
	mux.HandleFunc("GET /plans", s.plansPage)
	mux.HandleFunc("GET /stats", s.statsPage)
	return s.guard(mux), nil
}

// guard checks the token and the Host, refuses anything but GET and HEAD,
// and sets the security headers on every response.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cache-Control", "no-store")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "the dashboard is read-only: only GET and HEAD", http.StatusMethodNotAllowed)
			return
		}
		if s.Loopback && !loopbackHost(r.Host) {
			http.Error(w, "this dashboard answers only to a loopback address such as 127.0.0.1 or localhost", http.StatusMisdirectedRequest)
			return
		}
		if s.Token != "" && !s.authorized(w, r) {
			http.Error(w, "a token is needed: open the address `ansflow ui` printed, with ?token=", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	if q := r.URL.Query().Get("token"); q != "" {
		if !equal(q, s.Token) {
			return false
		}
		http.SetCookie(w, &http.Cookie{Name: tokenCookie, Value: s.Token, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
		u := *r.URL
		q := u.Query()
		q.Del("token")
		u.RawQuery = q.Encode()
		http.Redirect(w, r, u.RequestURI(), http.StatusSeeOther) // the token leaves the address bar
		return false
	}
	if b, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return equal(b, s.Token)
	}
	if c, err := r.Cookie(tokenCookie); err == nil {
		return equal(c.Value, s.Token)
	}
	return false
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// loopbackHost reports whether a Host header names a loopback address.
func loopbackHost(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// IsLoopback reports whether a listen address binds only to loopback.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return false
	}
	return loopbackHost(host)
}

// ErrNeedsToken is returned by CheckAddr for an address reachable from
// other machines without a token.
var ErrNeedsToken = errors.New("needs a token")

// CheckAddr refuses to serve a non-loopback address without a token.
func CheckAddr(addr, token string) error {
	if IsLoopback(addr) || token != "" {
		return nil
	}
	return fmt.Errorf("-addr=%s can be reached from other machines: %w; pass -token=SECRET (then open the printed address), or listen on 127.0.0.1", addr, ErrNeedsToken)
}

// Serve listens on addr until ctx ends. ready, if not nil, is called with
// the address listened on (useful with port 0).
func (s *Server) Serve(ctx context.Context, addr string, ready func(net.Addr)) error {
	if err := CheckAddr(addr, s.Token); err != nil {
		return err
	}
	s.Loopback = IsLoopback(addr)
	h, err := s.Handler()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, BaseContext: func(net.Listener) context.Context { return ctx }}
	if ready != nil {
		ready(ln.Addr())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		return nil
	}
}
