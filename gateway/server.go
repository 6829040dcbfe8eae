package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/coder/websocket"
	"github.com/gin-contrib/cors"
	"github.com/gin-gonic/gin"
	"github.com/go-redis/redis_rate/v10"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-cs/switchboard/asr"
	"github.com/switchboard-cs/switchboard/gateway/channel"
	"github.com/switchboard-cs/switchboard/gateway/flow"
	"github.com/switchboard-cs/switchboard/gateway/pipeline"
	"github.com/switchboard-cs/switchboard/internal/safe"
	"github.com/switchboard-cs/switchboard/tickets"
)

// Checker is one readiness check (PostgreSQL, Redis, …).
type Checker struct {
	Name  string
	Check func(ctx context.Context) error
	// Optional checks report a reason without making the server unready (a stage that
	// fails open, such as vision).
	Optional bool
}

// Options wires a Server.
type Options struct {
	Tickets *tickets.Service
	// Store holds the ticket core's records; the server reads them through the narrow
	// seams of store_seams.go.
	Store          *tickets.Store
	Auth           *Auth
	Log            *slog.Logger
	Registerer     prometheus.Registerer
	Gatherer       prometheus.Gatherer
	Ready          []Checker
	MaxBodyBytes   int64
	AtRiskFraction float64
	TLS            bool               // send HSTS
	Ingress        *pipeline.Pipeline // redact + persist (nil: message routes answer 503)
	Process        *pipeline.Pipeline // understand … reply
	Wake           func()             // tells the queue workers a turn is waiting
	// Channels are the configured channel plugins (gateway/channels.Open); the others'
	// routes answer 404.
	Channels       []channel.Channel
	Limits         RateLimits
	TrustedProxies []string             // reverse proxies whose X-Forwarded-For is believed
	Models         ModelRegistry        // ML-engineer routes (nil: they answer 503)
	MaxModelBytes  int64                // body limit of a model upload (default 2 GiB)
	Vision         flow.ImageClassifier // nil: POST /v1/vision/classify answers 503
	Speech         *asr.Service         // nil: no streaming speech endpoint (503)
	MaxImageBytes  int64                // body limit of an image to classify (default 20 MiB)
	MaxAudioBytes  int64                // limit of a voice note in a REST message (default 25 MiB)
	Media          *flow.MediaBudget    // memory of customer media in flight (nil: unbounded)
	TokenTTL       time.Duration        // lifetime of tokens from a console sign-in (default 12h)
	// SessionRecheck is how long a console token's account is trusted before it is read
	// again: a changed or removed account locks its tokens out within this (default 15s).
	SessionRecheck time.Duration
	AnonymousChat  bool          // POST /v1/chat/session hands website visitors customer tokens
	Suggest        flow.Answerer // KB passages for agents (nil: none suggested)
	// AllowedOrigins may call the customer API and open its WebSockets from a browser
	// (the sites embedding the chat widget); the server's own pages always may.
	AllowedOrigins []string
	UI             http.Handler // the web pages under /ui/ (nil: not served)
	// Live are the liveness checks of /healthz: only what a restart of this process
	// would cure (the embedded PostgreSQL's supervisor gave up); Ready is for /readyz.
	Live []Checker
	// AdminSeparate leaves /metrics to AdminHandler (a listener of its own).
	AdminSeparate bool
	// RequestTimeout is the deadline of an API request; WebSockets and uploads are
	// exempt (0: none).
	RequestTimeout time.Duration
	KB             KBStatus    // GET /v1/kb/status (nil: 404)
	KBIngest       KBIngester  // POST /v1/kb/documents (nil: 404)
	Audit          AuditKeeper // audit anchors (nil: /v1/audit/verify checks the chain alone)
}

// Route describes one registered API route and the roles it admits
// (empty = public).
type Route struct {
	Method, Path string
	Roles        []Role
}

// Server is the HTTP front of Switchboard.
type Server struct {
	engine  *gin.Engine
	tickets *tickets.Service
	auth    *Auth
	log     *slog.Logger
	opts    Options
	routes  []Route
	hub     *hub
	chat    *chatHub
	limiter *redis_rate.Limiter
	reqs    *prometheus.CounterVec
	latency *prometheus.HistogramVec
	// sessions checks console tokens against their staff accounts.
	sessions *sessionChecker
	probes   probeLog
	sockets  socketSet
	guards   *guards     // in-process limits: requests and sockets in flight, sign-in checks
	panics   *safe.Guard // recovers the server's own goroutines (web-chat readers)
	// seams to the ticket core's records (store_seams.go)
	convs    conversationRecords
	dir      directory
	trail    auditTrail
	flow     *flow.Flow                 // the turn flow of the REST channel, web chat and the channel plugins
	channels map[string]channel.Channel // the configured channel plugins, by name
	chatPing time.Duration              // web-chat keep-alive, which also re-reads the conversation (0: 30s)
}

// New builds the router.
func New(o Options) *Server {
	gin.SetMode(gin.ReleaseMode)
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 1 << 20
	}
	if o.MaxImageBytes <= 0 {
		o.MaxImageBytes = 20 << 20
	}
	if o.MaxAudioBytes <= 0 {
		o.MaxAudioBytes = 25 << 20
	}
	if o.MaxModelBytes <= 0 {
		o.MaxModelBytes = 2 << 30
	}
	if o.AtRiskFraction <= 0 {
		o.AtRiskFraction = 0.2
	}
	if o.TokenTTL <= 0 {
		o.TokenTTL = 12 * time.Hour
	}
	if o.SessionRecheck <= 0 {
		o.SessionRecheck = 15 * time.Second
	}
	s := &Server{engine: gin.New(), tickets: o.Tickets, auth: o.Auth, log: o.Log, opts: o,
		sessions: &sessionChecker{recheck: o.SessionRecheck, seen: map[string]seenAccount{}},
		probes:   probeLog{last: map[string]string{}}}
	if o.Store != nil {
		s.convs, s.dir, s.trail = o.Store, o.Store, o.Store
		s.sessions.store = o.Store
		s.sessions.revoked = revocationList{store: o.Store, recheck: o.SessionRecheck}
	}
	s.channels = map[string]channel.Channel{}
	for _, ch := range o.Channels {
		s.channels[ch.Name()] = ch
	}
	if o.Ingress != nil {
		s.flow = &flow.Flow{Ingress: o.Ingress, Process: o.Process, Wake: o.Wake, Log: o.Log}
		if o.Store != nil {
			s.flow.Replies = o.Store
		}
	}
	s.reqs = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_http_requests_total",
		Help: "HTTP requests by route template, method and status."}, []string{"route", "method", "status"})
	s.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "switchboard_http_request_seconds",
		Help: "HTTP request latency by route template.", Buckets: prometheus.DefBuckets}, []string{"route"})
	o.Registerer.MustRegister(s.reqs, s.latency)
	s.guards = newGuards(o.Limits, o.Registerer)
	s.hub, s.chat = newHub(o.Log), newChatHub()
	s.panics = safe.New(o.Registerer, o.Log)
	if o.Limits.Redis != nil {
		s.limiter = redis_rate.NewLimiter(o.Limits.Redis)
	}
	if o.Tickets != nil {
		o.Tickets.Subscribe(s.hub.dispatch)
		o.Tickets.Subscribe(s.chat.dispatch)
	}
	s.engine.ContextWithFallback = true
	// Only configured proxies may set the client IP (per-IP rate limits).
	if err := s.engine.SetTrustedProxies(o.TrustedProxies); err != nil {
		o.Log.Error("http.trusted_proxies", "err", err)
		_ = s.engine.SetTrustedProxies(nil)
	}
	s.engine.HandleMethodNotAllowed = true
	s.engine.Use(s.recover, s.requestID, s.secureHeaders, s.observe)
	if len(o.AllowedOrigins) > 0 {
		s.engine.Use(cors.New(cors.Config{AllowOrigins: o.AllowedOrigins, AllowMethods: []string{"GET", "POST", "PUT"},
			AllowHeaders: []string{"Authorization", "Content-Type"}, MaxAge: time.Hour}))
	}
	s.engine.Use(s.limitBody)
	s.engine.Use(s.deadline)
	s.engine.NoRoute(s.noRoute)
	s.engine.NoMethod(s.noMethod)
	s.register()
	return s
}

// Handler returns the http.Handler.
func (s *Server) Handler() http.Handler { return s.engine }

// Routes lists every route with its roles.
func (s *Server) Routes() []Route { return s.routes }

func (s *Server) handle(method, path string, roles []Role, h gin.HandlerFunc) {
	s.routes = append(s.routes, Route{Method: method, Path: path, Roles: roles})
	chain := []gin.HandlerFunc{h}
	if len(roles) > 0 {
		chain = append([]gin.HandlerFunc{s.require(roles...)}, h)
	}
	s.engine.Handle(method, path, chain...)
}

const ctxRequestID = "switchboard.request_id"

func (s *Server) requestID(c *gin.Context) {
	id := c.GetHeader("X-Request-Id")
	if id == "" || len(id) > 64 {
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		id = hex.EncodeToString(b)
	}
	c.Set(ctxRequestID, id)
	c.Header("X-Request-Id", id)
	c.Next()
}

func (s *Server) secureHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	if s.opts.TLS {
		h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
	}
	c.Next()
}

func (s *Server) limitBody(c *gin.Context) {
	limit, hint := s.opts.MaxBodyBytes, ""
	switch c.FullPath() {
	case modelUploadRoute:
		limit = s.opts.MaxModelBytes
	case classifyRoute:
		limit = s.opts.MaxImageBytes + 64<<10 // multipart overhead
	case kbDocumentsRoute:
		limit = kbUploadLimit
	case messagesRoute:
		limit, hint = s.messageBodyLimit(c) // small JSON, or photos and voice notes as multipart
	}
	if c.Request.ContentLength > limit {
		s.fail(c, fmt.Errorf("%w: %d bytes, limit %d%s", errTooLarge, c.Request.ContentLength, limit, hint))
		return
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
	c.Next()
}

func (s *Server) observe(c *gin.Context) {
	start := time.Now()
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	s.reqs.WithLabelValues(route, c.Request.Method, strconv.Itoa(c.Writer.Status())).Inc()
	s.latency.WithLabelValues(route).Observe(time.Since(start).Seconds())
}

func (s *Server) recover(c *gin.Context) {
	defer func() {
		if r := recover(); r != nil {
			if r == http.ErrAbortHandler {
				panic(r)
			}
			s.fail(c, fmt.Errorf("panic: %v", r))
		}
	}()
	c.Next()
}

// bind decodes a JSON body strictly: unknown fields and trailing data are
// errors, and the error says what is wrong.
func bind(c *gin.Context, v any) error {
	dec := json.NewDecoder(c.Request.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return fmt.Errorf("%w: limit %d bytes", errTooLarge, maxErr.Limit)
		}
		if err == io.EOF {
			return fmt.Errorf("%w: a JSON body is required", errBadRequest)
		}
		return fmt.Errorf("%w: JSON body: %v", errBadRequest, err)
	}
	if dec.More() {
		return fmt.Errorf("%w: JSON body has trailing data", errBadRequest)
	}
	return nil
}

func (s *Server) noRoute(c *gin.Context) {
	s.fail(c, fmt.Errorf("no route %s %s: %w", c.Request.Method, c.Request.URL.Path, tickets.ErrNotFound))
}

func (s *Server) noMethod(c *gin.Context) {
	s.fail(c, fmt.Errorf("%w: %s %s", errMethodNotAllowed, c.Request.Method, c.Request.URL.Path))
}

// acceptWS upgrades a WebSocket request; browsers on AllowedOrigins may connect as well
// as same-origin pages (the library's default refuses other origins).
func (s *Server) acceptWS(c *gin.Context) (*websocket.Conn, error) {
	var opts *websocket.AcceptOptions
	if len(s.opts.AllowedOrigins) > 0 {
		hosts := make([]string, 0, len(s.opts.AllowedOrigins))
		for _, o := range s.opts.AllowedOrigins {
			if u, err := url.Parse(o); err == nil && u.Host != "" {
				hosts = append(hosts, u.Host)
			}
		}
		opts = &websocket.AcceptOptions{OriginPatterns: hosts}
	}
	conn, err := websocket.Accept(c.Writer, c.Request, opts)
	if err == nil {
		s.sockets.track(c.Request.Context(), conn)
	}
	return conn, err
}
