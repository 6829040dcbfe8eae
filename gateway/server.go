package gateway

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-contrib/cors"
	"github.com/gin-gonic/gin"
	"github.com/go-redis/redis_rate/v10"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-cs/switchboard/asr"
	"github.com/switchboard-cs/switchboard/gateway/assist"
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
	// InlineLease is the lease of a REST or web-chat turn while its request answers it,
	// renewed every third of it: the queue's workers take the turn over this long after
	// the process died (default flow.DefaultInlineLease).
	InlineLease time.Duration
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
	// Assist suggests reply drafts to agents (nil: none); with its Writer set, a
	// language model drafts one on request.
	Assist *assist.Assistant
	// Webhooks is the outbound webhooks' delivery log (nil: its routes answer 503).
	Webhooks WebhookLog
	// QualityRules edits the quality inspection's rules (nil: its routes answer 503).
	QualityRules QualityRulesEditor
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
	KBDocuments    KBDocuments // GET and DELETE /v1/kb/documents… (nil: 404)
	Audit          AuditKeeper // audit anchors (nil: /v1/audit/verify checks the chain alone)
	// Escalation is the bot's hand-over rule: POST /v1/kb/ask says by it whether the bot
	// would answer a question or hand it over (nil: not said).
	Escalation *flow.EscalationPolicy

	// MaxAttachmentBytes is the largest file an agent sends a customer (default 10 MiB).
	MaxAttachmentBytes int64
}

// Route describes one registered API route and the roles it admits
// (empty = public).
type Route struct {
	Method, Path string
	Roles        []Role
}

// Server is the HTTP front of Switchboard. It builds the router and mounts the handlers
// of the route groups (routes.go), each of which owns one area of the API and holds only
// what it needs; the middleware, the token checks, the rate limits and object-level
// access are groups of their own.
type Server struct {
	engine  *gin.Engine
	auth    *Auth
	log     *slog.Logger
	opts    Options
	routes  []Route
	mw      *middleware
	guard   *sessionGuard       // authentication and RBAC (require), WebSocket token checks
	writes  *writeMarks         // read-your-writes over a lagging read replica
	limits  *limits             // rate limits and caps
	access  *conversationAccess // object-level access to conversations
	probes  *probes
	sockets *socketSet // every open WebSocket, closed by CloseSockets
	api     routeGroups
}

// routeGroups are the homes of the API's handlers, one per area (routes.go mounts them).
type routeGroups struct {
	messages *messageRoutes
	signIn   *authRoutes
	tickets  *ticketRoutes
	admin    *adminRoutes
	audit    *auditRoutes
	kb       *kbRoutes
	models   *modelRoutes
	vision   *visionRoutes
	agentWS  *agentSockets
	chatWS   *chatSockets
	typing   *typingRoutes
	files    *attachmentRoutes
	speechWS *speechSockets
}

// middleware is what every request passes through before its route's handler: panic
// recovery, request ids, security headers, metrics, body limits and deadlines; and the
// answers for unknown routes and methods.
type middleware struct {
	errorWriter
	tls                         bool // send HSTS
	maxBody, maxModel, maxImage int64
	timeout                     time.Duration // Options.RequestTimeout
	// messageLimit is the body limit of POST /v1/messages and its hint
	// (Server.messageBodyLimit).
	messageLimit func(c *gin.Context) (int64, string)
	reqs         *prometheus.CounterVec
	latency      *prometheus.HistogramVec

	maxAttachment int64 // Options.MaxAttachmentBytes
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
	if o.MaxAttachmentBytes <= 0 {
		o.MaxAttachmentBytes = 10 << 20
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
	s := &Server{engine: gin.New(), auth: o.Auth, log: o.Log, opts: o}
	// sessions checks console tokens against their staff accounts.
	sessions := &sessionChecker{recheck: o.SessionRecheck, seen: map[string]seenAccount{}}
	var (
		convs conversationRecords
		dir   directory
		trail auditTrail
		rep   reports
		files attachmentFiles
	)
	if o.Store != nil {
		convs, dir, trail, rep, files = o.Store, o.Store, o.Store, o.Store, o.Store
		sessions.store = o.Store
		sessions.revoked = revocationList{store: o.Store, recheck: o.SessionRecheck}
	}
	errs := errorWriter{log: o.Log}
	msgs := &messageRoutes{errorWriter: errs, channels: map[string]channel.Channel{}, tickets: o.Tickets, convs: convs,
		media: o.Media, maxImage: o.MaxImageBytes, maxAudio: o.MaxAudioBytes, maxBody: o.MaxBodyBytes}
	for _, ch := range o.Channels {
		msgs.channels[ch.Name()] = ch
	}
	if o.Ingress != nil {
		msgs.flow = &flow.Flow{Ingress: o.Ingress, Process: o.Process, Wake: o.Wake, Log: o.Log}
		if o.Store != nil {
			msgs.flow.Replies, msgs.flow.Turns, msgs.flow.Releases = o.Store, o.Store, o.Store
		}
		msgs.lease = cmp.Or(o.InlineLease, flow.DefaultInlineLease)
	}
	s.mw = &middleware{errorWriter: errs, tls: o.TLS, maxBody: o.MaxBodyBytes, maxModel: o.MaxModelBytes,
		maxImage: o.MaxImageBytes, maxAttachment: o.MaxAttachmentBytes, timeout: o.RequestTimeout, messageLimit: msgs.messageBodyLimit,
		reqs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_http_requests_total",
			Help: "HTTP requests by route template, method and status."}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "switchboard_http_request_seconds",
			Help: "HTTP request latency by route template.", Buckets: prometheus.DefBuckets}, []string{"route"})}
	o.Registerer.MustRegister(s.mw.reqs, s.mw.latency)
	// in-process limits: requests and sockets in flight, sign-in checks
	guards := newGuards(o.Limits, o.Registerer)
	hub, chat := newHub(o.Log), newChatHub()
	panics := safe.New(o.Registerer, o.Log) // recovers the server's own goroutines
	s.limits = &limits{errorWriter: errs, rl: o.Limits, guards: guards}
	if o.Limits.Redis != nil {
		s.limits.limiter = redis_rate.NewLimiter(o.Limits.Redis)
	}
	s.guard = &sessionGuard{errorWriter: errs, auth: o.Auth, sessions: sessions, recheck: o.SessionRecheck, panics: panics}
	s.writes = newWriteMarks()
	s.access = &conversationAccess{tickets: o.Tickets, convs: convs, dir: dir, log: o.Log}
	msgs.access, msgs.limits = s.access, s.limits
	s.probes = &probes{log: o.Log, live: o.Live, ready: o.Ready, gatherer: o.Gatherer, seen: probeLog{last: map[string]string{}}}
	s.sockets = &socketSet{origins: o.AllowedOrigins}
	s.api = routeGroups{
		messages: msgs,
		signIn: &authRoutes{errorWriter: errs, auth: o.Auth, dir: dir, trail: trail, limits: s.limits,
			tokenTTL: o.TokenTTL, anonymous: o.AnonymousChat},
		tickets: &ticketRoutes{errorWriter: errs, tickets: o.Tickets, dir: dir, suggest: o.Suggest, wake: o.Wake, atRisk: o.AtRiskFraction},
		admin: &adminRoutes{errorWriter: errs, tickets: o.Tickets, dir: dir, reports: rep, atRisk: o.AtRiskFraction, hooks: o.Webhooks,
			rules: o.QualityRules},
		audit:  &auditRoutes{errorWriter: errs, trail: trail, keeper: o.Audit},
		kb:     &kbRoutes{errorWriter: errs, status: o.KB, ingest: o.KBIngest, docs: o.KBDocuments, trail: trail},
		models: &modelRoutes{errorWriter: errs, reg: o.Models, trail: trail},
		vision: &visionRoutes{errorWriter: errs, classifier: o.Vision, media: o.Media, maxImage: o.MaxImageBytes,
			reserve: msgs.reservationFor},
		agentWS: &agentSockets{hub: hub, tickets: o.Tickets, sockets: s.sockets, guard: s.guard, log: o.Log},
		chatWS: &chatSockets{errorWriter: errs, chat: chat, convs: convs, access: s.access, limits: s.limits,
			sockets: s.sockets, guard: s.guard, panics: panics, answer: msgs.customerText},
		speechWS: &speechSockets{errorWriter: errs, speech: o.Speech, streams: guards, perIP: o.Limits.SpeechStreamsPerIP,
			sockets: s.sockets, guard: s.guard},
		typing: &typingRoutes{errorWriter: errs, tickets: o.Tickets},
		files: &attachmentRoutes{errorWriter: errs, tickets: o.Tickets, files: files, access: s.access, media: o.Media,
			max: o.MaxAttachmentBytes, reserve: msgs.reservationFor, wake: o.Wake},
	}
	if o.Store != nil {
		s.api.admin.accounts = o.Store
	}
	// "try a question" answers as the bot does, from a question redacted as a customer's is
	s.api.kb.answer, s.api.kb.escalation = o.Suggest, o.Escalation
	if o.Tickets != nil {
		s.api.kb.redact = o.Tickets.Redactor
	}
	if o.Assist != nil {
		s.api.tickets.assist, s.api.tickets.canCompose = o.Assist, o.Assist.Writer != nil
	}
	if o.Tickets != nil {
		o.Tickets.Subscribe(hub.dispatch)
		o.Tickets.Subscribe(chat.dispatch)
		s.api.chatWS.typist = o.Tickets
	}
	s.engine.ContextWithFallback = true
	// Only configured proxies may set the client IP (per-IP rate limits).
	if err := s.engine.SetTrustedProxies(o.TrustedProxies); err != nil {
		o.Log.Error("http.trusted_proxies", "err", err)
		_ = s.engine.SetTrustedProxies(nil)
	}
	s.engine.HandleMethodNotAllowed = true
	s.engine.Use(s.mw.trace, s.mw.recover, s.mw.requestID, s.mw.secureHeaders, s.mw.observe)
	if len(o.AllowedOrigins) > 0 {
		s.engine.Use(cors.New(cors.Config{AllowOrigins: o.AllowedOrigins, AllowMethods: []string{"GET", "POST", "PUT"},
			AllowHeaders: []string{"Authorization", "Content-Type"}, MaxAge: time.Hour}))
	}
	s.engine.Use(s.mw.limitBody)
	s.engine.Use(s.mw.deadline)
	s.engine.NoRoute(s.mw.noRoute)
	s.engine.NoMethod(s.mw.noMethod)
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
		chain = append([]gin.HandlerFunc{s.guard.require(roles...), s.writes.track}, h)
	}
	s.engine.Handle(method, path, chain...)
}

const ctxRequestID = "switchboard.request_id"

func (m *middleware) requestID(c *gin.Context) {
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

func (m *middleware) secureHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	if m.tls {
		h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
	}
	c.Next()
}

func (m *middleware) limitBody(c *gin.Context) {
	limit, hint := m.maxBody, ""
	switch c.FullPath() {
	case modelUploadRoute:
		limit = m.maxModel
	case classifyRoute:
		limit = m.maxImage + 64<<10 // multipart overhead
	case attachmentsRoute:
		limit = m.maxAttachment + 64<<10
	case kbDocumentsRoute:
		limit = kbUploadLimit
	case messagesRoute:
		limit, hint = m.messageLimit(c) // small JSON, or photos and voice notes as multipart
	}
	if c.Request.ContentLength > limit {
		m.fail(c, fmt.Errorf("%w: %d bytes, limit %d%s", errTooLarge, c.Request.ContentLength, limit, hint))
		return
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
	c.Next()
}

func (m *middleware) observe(c *gin.Context) {
	start := time.Now()
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	m.reqs.WithLabelValues(route, c.Request.Method, strconv.Itoa(c.Writer.Status())).Inc()
	m.latency.WithLabelValues(route).Observe(time.Since(start).Seconds())
}

func (m *middleware) recover(c *gin.Context) {
	defer func() {
		if r := recover(); r != nil {
			if r == http.ErrAbortHandler {
				panic(r)
			}
			m.fail(c, fmt.Errorf("panic: %v", r))
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

func (m *middleware) noRoute(c *gin.Context) {
	m.fail(c, fmt.Errorf("no route %s %s: %w", c.Request.Method, c.Request.URL.Path, tickets.ErrNotFound))
}

func (m *middleware) noMethod(c *gin.Context) {
	m.fail(c, fmt.Errorf("%w: %s %s", errMethodNotAllowed, c.Request.Method, c.Request.URL.Path))
}
