package tickets

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the ticket core's Prometheus series. Labels stay
// low-cardinality: priority, group, kind, outcome — never ids.
type Metrics struct {
	SLAViolations *prometheus.CounterVec
	Backlog       *prometheus.GaugeVec
	AtRisk        *prometheus.GaugeVec
	QueueDepth    *prometheus.GaugeVec
	// OldestWait is how long the oldest ticket waiting for an agent has waited, per
	// skill group (0 when none waits), set beside QueueDepth (sla_watch.go).
	OldestWait   *prometheus.GaugeVec
	Routed       *prometheus.CounterVec
	RouteSeconds prometheus.Histogram
	// PresenceLapsed counts agents set offline because their presence lapsed.
	PresenceLapsed prometheus.Counter
	// ReconcileFixes counts differences between Redis and PostgreSQL that the
	// reconciler found and repaired, by kind (reconcile.go).
	ReconcileFixes *prometheus.CounterVec
	// QualityScore, QualityFindings and QualityFailures are the quality inspection of
	// agents' replies (quality.go): scores and findings by check, per skill group.
	QualityScore    *prometheus.HistogramVec
	QualityFindings *prometheus.CounterVec
	QualityFailures prometheus.Counter
	// ConversationScore and ConversationsFlagged are the inspection of resolved
	// conversations (quality_conversation.go).
	ConversationScore    *prometheus.HistogramVec
	ConversationsFlagged *prometheus.CounterVec
}

// NewMetrics registers the ticket metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		SLAViolations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "customer_service_sla_violation_total",
			Help: "SLA breaches detected, by kind (first_response, resolution), priority and skill group.",
		}, []string{"kind", "priority", "group"}),
		Backlog: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "switchboard_ticket_backlog",
			Help: "Tickets not yet resolved, by skill group.",
		}, []string{"group"}),
		AtRisk: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "switchboard_sla_at_risk_tickets",
			Help: "Unresolved tickets with less than the at-risk fraction of an SLA window left, by skill group.",
		}, []string{"group"}),
		QueueDepth: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "switchboard_queue_depth",
			Help: "Tickets waiting for a free agent, by skill group.",
		}, []string{"group"}),
		OldestWait: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "switchboard_queue_oldest_wait_seconds",
			Help: "How long the oldest ticket waiting for an agent has waited (since it entered the queue), by skill group.",
		}, []string{"group"}),
		Routed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_routing_decisions_total",
			Help: "Routing decisions by outcome (assigned, queued, error).",
		}, []string{"outcome"}),
		RouteSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "switchboard_routing_decision_seconds",
			Help:    "Latency of one routing decision including the Redis round trip.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .1},
		}),
	}
	reg.MustRegister(m.SLAViolations, m.Backlog, m.AtRisk, m.QueueDepth, m.OldestWait, m.Routed, m.RouteSeconds)
	m.QualityScore = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "switchboard_reply_quality_score",
		Help:    "Quality inspection score (0-100) of agents' replies, by skill group.",
		Buckets: []float64{20, 40, 60, 70, 80, 90, 95, 100},
	}, []string{"group"})
	m.QualityFindings = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "switchboard_reply_quality_findings_total",
		Help: "Quality inspection findings in agents' replies, by check (missing_greeting, promise, rude, pii, …) and skill group.",
	}, []string{"check", "group"})
	m.QualityFailures = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "switchboard_reply_quality_failures_total",
		Help: "Agents' replies sent whose quality inspection failed (not scored).",
	})
	m.ConversationScore = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "switchboard_conversation_quality_score",
		Help:    "Quality inspection score (0-100) of resolved conversations, by skill group.",
		Buckets: []float64{20, 40, 60, 70, 80, 90, 95, 100},
	}, []string{"group"})
	m.ConversationsFlagged = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "switchboard_conversations_flagged_total",
		Help: "Resolved conversations the quality inspection flagged for a supervisor, by skill group.",
	}, []string{"group"})
	reg.MustRegister(m.QualityScore, m.QualityFindings, m.QualityFailures, m.ConversationScore, m.ConversationsFlagged)
	m.PresenceLapsed = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "switchboard_agent_presence_lapsed_total",
		Help: "Agents set offline because no heartbeat (console socket or REST) arrived within the presence TTL.",
	})
	m.ReconcileFixes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "switchboard_routing_reconcile_fixes_total",
		Help: "Differences between the Redis routing state and PostgreSQL repaired by the reconciler, by kind.",
	}, []string{"kind"})
	reg.MustRegister(m.PresenceLapsed, m.ReconcileFixes)
	for _, outcome := range []string{"assigned", "queued", "error"} {
		m.Routed.WithLabelValues(outcome) // exported as 0 from the start
	}
	for _, kind := range []string{"phantom_assignment", "missing_assignment", "agent", "agent_load", "stranded_ticket",
		"stale_wait", "group_counter", "free_agent"} { // Drift.Kind
		m.ReconcileFixes.WithLabelValues(kind)
	}
	return m
}

// expectGroup exports a skill group's SLA violation counters as 0 before its first
// breach, so an alert on their increase sees the first one.
func (m *Metrics) expectGroup(group string) {
	for _, kind := range []string{"first_response", "resolution"} {
		for _, p := range []Priority{PriorityUrgent, PriorityHigh, PriorityNormal, PriorityLow} {
			m.SLAViolations.WithLabelValues(kind, string(p), group)
		}
	}
}
