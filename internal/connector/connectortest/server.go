// Package connectortest runs fake company systems for tests of internal/connector and of
// whatever wires it: a fake CRM with contacts ([NewCRM]) and a fake ERP with orders
// ([NewERP]), both httptest servers that record every request ([Server.Requests]),
// can fail on demand ([Server.SetFailure]: delay, status, bad body, for the next n
// requests) and can require a bearer token, an HMAC signature (the scheme of
// docs/connectors.md, re-implemented here independently) or OAuth2 client-credentials
// tokens from their own token endpoint.
//
// The fake CRM speaks three dialects, so that the documented mappings can be tested:
//
//   - generic:    GET  /contacts?email=…|phone=…|channel_id=…  → {"contact": {…}} or 404
//   - HubSpot:    POST /crm/v3/objects/contacts/search          → {"total": n, "results": [{"id", "properties": {…}}]}
//   - Salesforce: GET  /services/data/vNN.N/query?q=SOQL         → {"totalSize": n, "done": true, "records": [{…}]}
//
// The fake ERP answers GET /orders/{id} → {"order": {…}} or 404.
package connectortest

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Request is one request the fake received, as received.
type Request struct {
	Method     string
	RequestURI string // escaped path and query, as in the request line
	Path       string // decoded path
	Header     http.Header
	Body       []byte
}

// String is the whole request as text (method, URI, headers, body), for asserting
// that something was never sent.
func (r Request) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\n", r.Method, r.RequestURI)
	_ = r.Header.Write(&b)
	b.Write(r.Body)
	return b.String()
}

// Failure makes the fake misbehave on API requests (not on its token endpoint).
type Failure struct {
	// Delay is waited before answering (or until the client gives up).
	Delay time.Duration
	// Status, if set, is answered instead of the real answer, with Body and
	// RetryAfter (a Retry-After header value).
	Status     int
	RetryAfter string
	// Body, without Status, is answered raw with 200 (e.g. "not json").
	Body string
	// Times is how many requests fail; 0: every request until ClearFailure.
	Times int
}

// Server is a fake CRM or ERP. Its methods are safe for concurrent use.
type Server struct {
	// URL is the base URL, e.g. http://127.0.0.1:41234.
	URL string

	srv      *httptest.Server
	mu       sync.Mutex
	contacts []Contact
	orders   map[string]Order
	requests []Request
	failure  *Failure
	failed   int
	bearer   string
	hmac     []byte
	hmacSkew time.Duration
	oauth    *OAuth2
	tokens   map[string]bool
	tokenN   int
}

func newServer(t testing.TB, api http.HandlerFunc) *Server {
	t.Helper()
	s := &Server{tokens: map[string]bool{}, orders: map[string]Order{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth2/token", s.token)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if !s.fail(w, r) && s.authorized(w, r) {
			api(w, r)
		}
	})
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		s.mu.Lock()
		s.requests = append(s.requests, Request{Method: r.Method, RequestURI: r.RequestURI, Path: r.URL.Path,
			Header: r.Header.Clone(), Body: body})
		s.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// Requests returns a copy of every request received so far, token requests included.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	copy(out, s.requests)
	return out
}

// Count is how many requests had a path starting with prefix ("" for all).
func (s *Server) Count(prefix string) int {
	n := 0
	for _, r := range s.Requests() {
		if strings.HasPrefix(r.Path, prefix) {
			n++
		}
	}
	return n
}

// Reset forgets the recorded requests.
func (s *Server) Reset() {
	s.mu.Lock()
	s.requests = nil
	s.mu.Unlock()
}

// SetFailure makes the next f.Times API requests (all, if 0) fail as f says.
func (s *Server) SetFailure(f Failure) {
	s.mu.Lock()
	s.failure, s.failed = &f, 0
	s.mu.Unlock()
}

// ClearFailure makes the fake answer normally again.
func (s *Server) ClearFailure() {
	s.mu.Lock()
	s.failure = nil
	s.mu.Unlock()
}

// fail applies the current failure; true if it answered.
func (s *Server) fail(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	f := s.failure
	if f != nil {
		s.failed++
		if f.Times > 0 && s.failed >= f.Times {
			s.failure = nil
		}
	}
	s.mu.Unlock()
	if f == nil {
		return false
	}
	if f.Delay > 0 {
		select {
		case <-time.After(f.Delay):
		case <-r.Context().Done():
			return true
		}
	}
	switch {
	case f.Status != 0:
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		w.WriteHeader(f.Status)
		_, _ = io.WriteString(w, f.Body)
	case f.Body != "":
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, f.Body)
	default:
		return false // a delay only
	}
	return true
}

// RequireBearer makes API requests need "Authorization: Bearer <token>" (else 401).
func (s *Server) RequireBearer(token string) {
	s.mu.Lock()
	s.bearer = token
	s.mu.Unlock()
}

// RequireHMAC makes API requests need a valid signature by secret under the default
// headers X-Switchboard-Timestamp and X-Switchboard-Signature (else 401): "v1=" and
// the hex HMAC-SHA256 of "<timestamp>.<METHOD>.<request URI>.<body>". A maxSkew > 0
// also refuses timestamps further than that from the fake's clock.
func (s *Server) RequireHMAC(secret []byte, maxSkew time.Duration) {
	s.mu.Lock()
	s.hmac, s.hmacSkew = secret, maxSkew
	s.mu.Unlock()
}

// VerifyHMAC checks r's signature by secret as RequireHMAC does; nil if valid.
func VerifyHMAC(r Request, secret []byte, now time.Time, maxSkew time.Duration) error {
	ts := r.Header.Get("X-Switchboard-Timestamp")
	sig, ok := strings.CutPrefix(r.Header.Get("X-Switchboard-Signature"), "v1=")
	if ts == "" || !ok {
		return fmt.Errorf("no timestamp or no v1 signature")
	}
	if maxSkew > 0 {
		sec, err := strconv.ParseInt(ts, 10, 64)
		if err != nil {
			return fmt.Errorf("timestamp %q is not Unix seconds", ts)
		}
		if d := now.Sub(time.Unix(sec, 0)); d > maxSkew || d < -maxSkew {
			return fmt.Errorf("timestamp is %s off", d)
		}
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts + "." + r.Method + "." + r.RequestURI + "."))
	mac.Write(r.Body)
	got, err := hex.DecodeString(sig)
	if err != nil || !hmac.Equal(got, mac.Sum(nil)) {
		return fmt.Errorf("signature mismatch")
	}
	return nil
}

// OAuth2 configures the fake's client-credentials token endpoint, at
// TokenURL() = URL + "/oauth2/token".
type OAuth2 struct {
	ClientID, ClientSecret string
	// ExpiresIn is the tokens' lifetime in seconds (default 3600).
	ExpiresIn int
}

// EnableOAuth2 makes API requests need a bearer token issued by the fake's token
// endpoint to these credentials (sent as HTTP Basic or form values).
func (s *Server) EnableOAuth2(o OAuth2) {
	if o.ExpiresIn == 0 {
		o.ExpiresIn = 3600
	}
	s.mu.Lock()
	s.oauth = &o
	s.mu.Unlock()
}

// TokenURL is the fake's OAuth2 token endpoint.
func (s *Server) TokenURL() string { return s.URL + "/oauth2/token" }

// TokensIssued is how many tokens the token endpoint issued.
func (s *Server) TokensIssued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenN
}

// RevokeTokens invalidates every issued token (the next API request gets 401).
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	s.tokens = map[string]bool{}
	s.mu.Unlock()
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	o := s.oauth
	s.mu.Unlock()
	if o == nil {
		http.NotFound(w, r)
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostFormValue("client_id"), r.PostFormValue("client_secret")
	}
	if r.PostFormValue("grant_type") != "client_credentials" || id != o.ClientID || secret != o.ClientSecret {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "invalid_client",
			"error_description": "client authentication failed"})
		return
	}
	s.mu.Lock()
	s.tokenN++
	tok := "fake-token-" + strconv.Itoa(s.tokenN)
	s.tokens[tok] = true
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "token_type": "Bearer",
		"expires_in": o.ExpiresIn, "scope": r.PostFormValue("scope")})
}

// authorized enforces the configured authentication; false if it answered 401.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	bearer, secret, skew, oauth := s.bearer, s.hmac, s.hmacSkew, s.oauth != nil
	s.mu.Unlock()
	auth := r.Header.Get("Authorization")
	switch {
	case bearer != "" && auth != "Bearer "+bearer:
	case oauth && !s.validToken(strings.TrimPrefix(auth, "Bearer ")):
	case secret != nil && r.Header.Get("X-Switchboard-Signature") == "":
	case secret != nil:
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		req := Request{Method: r.Method, RequestURI: r.RequestURI, Header: r.Header, Body: body}
		if VerifyHMAC(req, secret, time.Now(), skew) == nil {
			return true
		}
	default:
		return true
	}
	writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "unauthorized"})
	return false
}

func (s *Server) validToken(tok string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokens[tok]
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
