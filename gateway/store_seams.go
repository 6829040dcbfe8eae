package gateway

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-cs/switchboard/tickets"
)

// The edge's seams to the ticket core's records. Each names only what one part of the
// server needs; *tickets.Store satisfies them all, and Options.Store hands it over.

// conversationRecords: a conversation's owner, messages and customer, for the customer
// routes and web chat.
type conversationRecords interface {
	ConversationOwner(ctx context.Context, conversationID string) (string, error)
	GetCustomer(ctx context.Context, id string) (tickets.Customer, error)
	ListMessages(ctx context.Context, conversationID string) ([]tickets.Message, error)
	MessagesAfter(ctx context.Context, conversationID string, after int64) ([]tickets.Message, error)
	CustomerView(ctx context.Context, conversationID string, msgs []tickets.Message) error
}

// directory: agents, skill groups, SLA policies, ticket lists and staff sign-ins, for
// the supervisor and sign-in routes.
type directory interface {
	Agents(ctx context.Context) ([]tickets.Agent, error)
	GetAgent(ctx context.Context, id string) (tickets.Agent, error)
	SkillGroups(ctx context.Context) ([]tickets.SkillGroup, error)
	SLAPolicies(ctx context.Context) (map[tickets.Priority]tickets.SLAPolicy, error)
	ListTickets(ctx context.Context, f tickets.TicketFilter) ([]tickets.Ticket, error)
	GetStaffAccount(ctx context.Context, subject string) (tickets.StaffAccount, error)
}

// reports: the supervisors' report of a period.
type reports interface {
	Report(ctx context.Context, q tickets.ReportQuery) (tickets.Report, error)
}

// auditTrail: appending to, reading and verifying the audit chain.
type auditTrail interface {
	AppendAudit(ctx context.Context, tx pgx.Tx, actor, action, target string, detail any) error
	AuditLog(ctx context.Context, after int64, limit int) ([]tickets.AuditEvent, error)
	VerifyAuditReport(ctx context.Context, anchors []tickets.AuditAnchor) (tickets.AuditReport, error)
}
