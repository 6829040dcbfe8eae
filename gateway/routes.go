package gateway

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/switchboard-cs/switchboard/gateway/channels"
	"github.com/switchboard-cs/switchboard/gateway/openapi"
)

var (
	staff       = []Role{RoleAgent, RoleSupervisor, RoleAdmin}
	agents      = []Role{RoleAgent, RoleSupervisor}
	supervisors = []Role{RoleSupervisor, RoleAdmin}
	admins      = []Role{RoleAdmin}
	auditors    = []Role{RoleAuditor, RoleAdmin}
	customers   = []Role{RoleCustomer}
	mlEngineers = []Role{RoleMLEngineer, RoleAdmin}
	// modelWatchers see the model versions and may roll one back (the supervisor view's
	// emergency brake); pushing, activating and canarying stay with ML engineers.
	modelWatchers = []Role{RoleMLEngineer, RoleSupervisor, RoleAdmin}
	imageStaff    = []Role{RoleAgent, RoleSupervisor, RoleAdmin, RoleMLEngineer}
	// everyoneServed: a customer (own conversations) and staff.
	everyoneServed = []Role{RoleCustomer, RoleAgent, RoleSupervisor, RoleAdmin}
)

// modelUploadRoute takes model files: its body limit is Options.MaxModelBytes.
const modelUploadRoute = "/v1/models/:model/versions"

// messagesRoute takes customer messages with media: its body limit grows with
// Options.MaxImageBytes.
const messagesRoute = "/v1/messages"

// classifyRoute takes an image: its body limit is Options.MaxImageBytes.
const classifyRoute = "/v1/vision/classify"

// register declares every route with the roles it admits. The RBAC test
// walks this list against its own expected matrix.
func (s *Server) register() {
	s.handle(http.MethodGet, "/healthz", nil, s.probes.healthz)
	s.handle(http.MethodGet, "/readyz", nil, s.probes.readyz)
	s.handle(http.MethodGet, "/openapi.json", nil, gin.WrapH(openapi.Handler()))
	if !s.opts.AdminSeparate {
		s.handle(http.MethodGet, "/metrics", nil, s.probes.metrics())
	}
	if s.opts.UI != nil {
		s.handle(http.MethodGet, "/", nil, func(c *gin.Context) { c.Redirect(http.StatusFound, "/ui/console/") })
		s.handle(http.MethodGet, "/ui/*path", nil, gin.WrapH(s.opts.UI))
	}

	// Sign-in for the console, and customer tokens for anonymous web-chat visitors.
	s.handle(http.MethodPost, "/v1/auth/login", nil, s.api.signIn.login) // its own limits: checkLogin
	s.handle(http.MethodPost, "/v1/chat/session", nil, s.limits.limitedIP(s.api.signIn.chatSession))

	// Tickets: the bot pipeline calls the same service as POST /v1/tickets.
	s.handle(http.MethodPost, "/v1/tickets", staff, s.api.tickets.createTicket)
	s.handle(http.MethodGet, "/v1/tickets", staff, s.api.tickets.listTickets) // an agent: their own
	s.handle(http.MethodGet, "/v1/tickets/:id", staff, s.api.tickets.getTicket)
	s.handle(http.MethodGet, "/v1/tickets/:id/suggestions", staff, s.api.tickets.suggestions)
	s.handle(http.MethodGet, "/v1/tickets/:id/assist", staff, s.api.tickets.replyDrafts)
	s.handle(http.MethodPost, "/v1/tickets/:id/assist/draft", staff, s.api.tickets.composeDraft)
	s.handle(http.MethodPost, "/v1/tickets/:id/summary", staff, s.api.tickets.handoffSummary)
	s.handle(http.MethodPost, "/v1/tickets/:id/claim", agents, s.api.tickets.claim)
	s.handle(http.MethodPost, "/v1/tickets/:id/replies", agents, s.api.tickets.reply)
	s.handle(http.MethodPost, "/v1/tickets/:id/transfer", staff, s.api.tickets.transfer)
	s.handle(http.MethodPost, "/v1/tickets/:id/resolve", staff, s.api.tickets.resolve)
	s.handle(http.MethodPost, "/v1/tickets/:id/close", staff, s.api.tickets.closeTicket)
	s.handle(http.MethodPost, "/v1/tickets/:id/reopen", staff, s.api.tickets.reopen)
	s.handle(http.MethodGet, "/v1/tickets/:id/canned/:shortcut", staff, s.api.tickets.renderCanned)
	s.handle(http.MethodPost, "/v1/tickets/:id/notes", staff, s.api.tickets.addNote)
	s.handle(http.MethodPut, "/v1/tickets/:id/tags", staff, s.api.tickets.setTags)
	s.handle(http.MethodPut, "/v1/tickets/:id/priority", staff, s.api.tickets.setPriority)
	s.handle(http.MethodPost, "/v1/tickets/:id/merge", staff, s.api.tickets.mergeTicket) // an agent: tickets they hold
	s.handle(http.MethodPost, "/v1/tickets/:id/typing", agents, s.api.typing.agentTyping)
	s.handle(http.MethodPost, attachmentsRoute, agents, s.api.files.sendAttachment)

	// Canned responses: the shared ones (supervisors keep them) and each agent's own.
	s.handle(http.MethodGet, "/v1/canned-responses", staff, s.api.tickets.listCanned)
	s.handle(http.MethodPost, "/v1/canned-responses", staff, s.api.tickets.createCanned)
	s.handle(http.MethodPut, "/v1/canned-responses/:id", staff, s.api.tickets.updateCanned)
	s.handle(http.MethodDelete, "/v1/canned-responses/:id", staff, s.api.tickets.deleteCanned)

	// Customers over the REST channel (the token's subject is the
	// pseudonymous customer id).
	s.handle(http.MethodPost, messagesRoute, customers, s.limits.limited(s.api.messages.postMessage))
	s.handle(http.MethodGet, "/v1/conversations/:id", everyoneServed, s.api.messages.getConversation)
	s.handle(http.MethodGet, "/v1/chat/ws", customers, s.limits.limitedWS(s.api.chatWS.chatSocket))
	s.handle(http.MethodGet, "/v1/conversations/:id/messages/:mid/pii", staff, s.api.messages.revealPII)
	s.handle(http.MethodGet, "/v1/conversations/:id/attachments/:attachment", everyoneServed, s.api.files.downloadAttachment)

	// Channel plugins (gateway/channels): authenticated by their own signatures, not JWTs.
	for _, k := range channels.All {
		for _, method := range k.HTTPMethods() {
			s.handle(method, "/v1/channels/"+k.Name, nil, s.limits.limitedWebhook(s.api.messages.channelRoute(k.Name)))
		}
	}

	// The signed-in agent.
	s.handle(http.MethodGet, "/v1/me/queue", agents, s.api.tickets.myQueue)
	s.handle(http.MethodGet, "/v1/me/status", agents, s.api.tickets.myStatus)
	s.handle(http.MethodPut, "/v1/me/status", agents, s.api.tickets.setMyStatus)
	s.handle(http.MethodPost, "/v1/me/heartbeat", agents, s.api.tickets.heartbeat)
	s.handle(http.MethodPost, "/v1/me/signout", agents, s.api.tickets.signOut)
	s.handle(http.MethodGet, "/v1/me/ws", staff, s.limits.limitedWS(s.api.agentWS.websocket))
	s.handle(http.MethodGet, "/v1/me/quality", agents, s.api.tickets.myQuality)

	// Supervisors and admins.
	s.handle(http.MethodGet, "/v1/queues", supervisors, s.api.admin.queues)
	s.handle(http.MethodGet, "/v1/reports", supervisors, s.api.admin.report)
	s.handle(http.MethodGet, "/v1/quality/conversations", supervisors, s.api.admin.qualityConversations)
	s.handle(http.MethodGet, "/v1/quality/agents", supervisors, s.api.admin.qualityAgents)
	s.handle(http.MethodGet, "/v1/quality/rules", supervisors, s.api.admin.qualityRules)
	s.handle(http.MethodPut, "/v1/quality/rules", supervisors, s.api.admin.putQualityRules)
	s.handle(http.MethodGet, "/v1/quality/conversations/:id", staff, s.api.tickets.qualityReview) // an agent: their own
	s.handle(http.MethodGet, "/v1/routing/weights", supervisors, s.api.admin.getWeights)
	s.handle(http.MethodPut, "/v1/routing/weights", supervisors, s.api.admin.putWeights)
	s.handle(http.MethodGet, "/v1/skill-groups", staff, s.api.admin.listGroups)
	s.handle(http.MethodPut, "/v1/skill-groups/:id", supervisors, s.api.admin.putGroup)
	s.handle(http.MethodGet, "/v1/sla-policies", supervisors, s.api.admin.listSLA)
	s.handle(http.MethodPut, "/v1/sla-policies/:priority", supervisors, s.api.admin.putSLA)
	s.handle(http.MethodGet, "/v1/agents", supervisors, s.api.admin.listAgents)
	s.handle(http.MethodPut, "/v1/agents/:id", supervisors, s.api.admin.putAgent)
	s.handle(http.MethodPut, "/v1/agents/:id/status", supervisors, s.api.tickets.setAgentStatus)
	s.handle(http.MethodGet, "/v1/kb/status", supervisors, s.api.kb.kbStatus)
	s.handle(http.MethodPost, kbDocumentsRoute, supervisors, s.api.kb.uploadKBDocuments)
	s.handle(http.MethodGet, "/v1/kb/jobs/:id", supervisors, s.api.kb.kbJob)
	s.handle(http.MethodGet, kbDocumentsRoute, supervisors, s.api.kb.listKBDocuments)
	s.handle(http.MethodDelete, kbDocumentsRoute+"/:id", supervisors, s.api.kb.deleteKBDocument)
	s.handle(http.MethodPost, "/v1/kb/ask", supervisors, s.api.kb.askKB)
	s.handle(http.MethodPost, "/v1/customers/:id/erase", supervisors, s.api.admin.eraseCustomer)
	s.handle(http.MethodGet, "/v1/customers/:id", staff, s.api.tickets.customerProfile) // an agent: customers of tickets they may see

	// Admins: the staff sign-ins of the console.
	s.handle(http.MethodGet, "/v1/staff", admins, s.api.admin.listStaff)
	s.handle(http.MethodPost, "/v1/staff", admins, s.api.admin.createStaff)
	s.handle(http.MethodPut, "/v1/staff/:id/role", admins, s.api.admin.setStaffRole)
	s.handle(http.MethodPut, "/v1/staff/:id/password", admins, s.api.admin.setStaffPassword)
	s.handle(http.MethodPut, "/v1/staff/:id/disabled", admins, s.api.admin.setStaffDisabled)
	s.handle(http.MethodGet, "/v1/webhooks/deliveries", admins, s.api.admin.webhookDeliveries)
	s.handle(http.MethodPost, "/v1/webhooks/deliveries/:id/redeliver", admins, s.api.admin.redeliverWebhook)

	// ML engineers: the model registry.
	s.handle(http.MethodGet, "/v1/models", modelWatchers, s.api.models.listModels)
	s.handle(http.MethodPost, modelUploadRoute, mlEngineers, s.api.models.pushModel)
	s.handle(http.MethodPost, "/v1/models/:model/versions/:version/validate", mlEngineers, s.api.models.validateModel)
	for _, op := range []string{"activate", "canary", "shadow", "latest"} {
		s.handle(http.MethodPost, "/v1/models/:model/"+op, mlEngineers, s.api.models.changeModel(op))
	}
	s.handle(http.MethodPost, "/v1/models/:model/rollback", modelWatchers, s.api.models.changeModel("rollback"))

	s.handle(http.MethodPost, classifyRoute, imageStaff, s.api.vision.classifyImage)
	// Live speech in the vosk-server protocol (the token may come as ?access_token=).
	s.handle(http.MethodGet, "/v1/asr/ws", everyoneServed, s.limits.limitedWS(s.api.speechWS.asrSocket))

	// Auditors.
	s.handle(http.MethodGet, "/v1/audit", auditors, s.api.audit.auditLog)
	s.handle(http.MethodGet, "/v1/audit/verify", auditors, s.api.audit.auditVerify)
	s.handle(http.MethodPost, "/v1/audit/anchor", auditors, s.api.audit.auditAnchor)
}
