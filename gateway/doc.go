// Package gateway is the edge of Switchboard: every request enters here. It owns the gin
// router and middleware (auth and RBAC with object-level checks, body and rate limits,
// request deadlines, request ids, security headers), the probes, the customer channels
// (REST, web chat, Telegram, Slack, WeCom, the generic webhook), the pipeline stages that
// adapt the domain packages to a turn, the durable queue worker and the delivery of
// replies, the agents' escalation-queue API with its WebSocket push, and the single
// mapping from domain errors to HTTP status (errors.go). Domain packages never import
// gateway (internal/archtest keeps it so). Its harnesses for `switchboard bench turn`
// and `bench vision` live in turnbench and visionbench.
package gateway
