package gateway

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// probeTimeout bounds one round of readiness or liveness checks.
const probeTimeout = 2 * time.Second

// probeLog remembers each check's last outcome, so a failure is logged (with its detail)
// once when it starts and once when it ends, however often a probe asks.
type probeLog struct {
	mu   sync.Mutex
	last map[string]string // check name → "" (ok) or the error
}

// probes owns the probes: liveness (/healthz), readiness (/readyz) and /metrics, on the
// API's router or on the admin listener (Server.AdminHandler).
type probes struct {
	log         *slog.Logger
	live, ready []Checker // Options.Live, Options.Ready
	gatherer    prometheus.Gatherer
	seen        probeLog
}

// runChecks runs checks and returns "ok" or "fail" per check, "off" for an optional one
// that fails (a stage that fails open, such as vision without a model: the server is
// ready without it), with no addresses or error text, and whether every required one
// passed. Details go to the log.
func (p *probes) runChecks(ctx context.Context, probe string, checks []Checker) (map[string]string, bool) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	out, ok := map[string]string{}, true
	for _, chk := range checks {
		err := chk.Check(ctx)
		out[chk.Name] = "ok"
		switch {
		case err != nil && chk.Optional:
			out[chk.Name] = "off"
		case err != nil:
			out[chk.Name], ok = "fail", false
		}
		p.seen.note(p.log, probe, chk, err)
	}
	return out, ok
}

func (l *probeLog) note(log *slog.Logger, probe string, chk Checker, err error) {
	detail := ""
	if err != nil {
		detail = err.Error()
	}
	key := probe + "/" + chk.Name
	l.mu.Lock()
	prev, seen := l.last[key]
	l.last[key] = detail
	l.mu.Unlock()
	switch {
	case seen && prev == detail, !seen && err == nil:
	case err == nil:
		log.Info(probe+": check passes again", "check", chk.Name)
	case chk.Optional:
		log.Info(probe+": optional check fails", "check", chk.Name, "err", err)
	default:
		log.Warn(probe+": check fails", "check", chk.Name, "err", err)
	}
}

// healthz is liveness: 200 while this process can serve or heal itself, 503 only when
// a Live check says it cannot recover without a restart.
func (p *probes) healthz(c *gin.Context) {
	checks, ok := p.runChecks(c.Request.Context(), "healthz", p.live)
	if !ok {
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "fail", "checks": checks})
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// readyz is readiness: 200 when every required dependency answers. Each check reads
// "ok" or "fail"; why one fails is in the server log.
func (p *probes) readyz(c *gin.Context) {
	checks, ok := p.runChecks(c.Request.Context(), "readyz", p.ready)
	status := http.StatusOK
	if !ok {
		status = http.StatusServiceUnavailable
	}
	c.JSON(status, gin.H{"ready": ok, "checks": checks})
}

func (p *probes) metrics() gin.HandlerFunc {
	h := promhttp.HandlerFor(p.gatherer, promhttp.HandlerOpts{})
	return gin.WrapH(h)
}

// AdminHandler serves /metrics, /healthz and /readyz for a separate admin listener
// (http.admin_addr); with Options.AdminSeparate, Handler no longer serves /metrics.
func (s *Server) AdminHandler() http.Handler {
	e := gin.New()
	e.Use(s.mw.recover, s.mw.requestID, s.mw.secureHeaders)
	e.HandleMethodNotAllowed = true
	e.GET("/healthz", s.probes.healthz)
	e.GET("/readyz", s.probes.readyz)
	e.GET("/metrics", s.probes.metrics())
	e.NoRoute(s.mw.noRoute)
	e.NoMethod(s.mw.noMethod)
	return e
}
