// Package gateway is the edge of Switchboard: every request enters here.
// It owns the gin router and middleware (auth/RBAC, body limits, request
// ids, security headers), the agent escalation-queue API and its WebSocket
// push, and the single mapping from domain errors to HTTP status. Domain
// packages never import gateway; gateway adapts them in a few lines each.
package gateway
