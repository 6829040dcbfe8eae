// Package gateway is the edge of Switchboard: every request enters here. It owns the gin
// router and middleware (auth and RBAC with object-level checks, body and rate limits,
// request deadlines, request ids, security headers), the probes, the REST channel and web
// chat, the mounting of the channel plugins (gateway/channels), the agents'
// escalation-queue API with its WebSocket push, and the single mapping from errors to
// HTTP status (errors.go). Its handlers live in one route-group type per area of the API
// (messageRoutes, ticketRoutes, adminRoutes, modelRoutes …); Server itself only builds
// the router and mounts them. A customer message goes on to the turn
// flow (gateway/flow), which lies below this package and knows nothing of HTTP. Domain
// packages never import gateway (internal/archtest keeps it so). Its harnesses for
// `switchboard bench turn` and `bench vision` live in turnbench and visionbench.
package gateway
