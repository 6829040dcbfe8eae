// Package webhooks sits after the ticket core in the message flow: it tells outside
// systems what happened to tickets — created, assigned, resolved, closed, rated by the
// customer (CSAT), scored by quality inspection — through signed HTTP webhooks.
//
// The audit log is the event source: every ticket state change appends an audit event in
// its own transaction, and those appends are serialized by the audit chain lock, so the
// Dispatcher tails audit_events by id behind a persisted cursor (webhook_cursors) and
// misses nothing. CSAT ratings and reply quality scores are not audited; they are read
// from csat_ratings and reply_quality behind a time cursor with an overlap window, and
// event ids derived from their keys make re-reading them harmless. Each event becomes one
// row of webhook_deliveries per subscribed endpoint (unique by endpoint and event id, so
// replicas and restarts do not duplicate it), in the transaction that advances the cursor.
//
// Deliveries are claimed with FOR UPDATE SKIP LOCKED under a lease, POSTed with the
// scheme of the inbound generic webhook channel (X-Switchboard-Timestamp and
// X-Switchboard-Signature: sha256=hex(HMAC-SHA256(secret, timestamp + "." + body))) plus
// X-Switchboard-Event and X-Switchboard-Delivery, and retried with exponential backoff
// and jitter: 2xx delivers, 410 Gone fails at once, anything else (a timeout included)
// retries until MaxAttempts. Delivery is at least once: a receiver dedups on
// X-Switchboard-Delivery (or the event id). Payloads carry ids, statuses and scores,
// never customer text, names, e-mail addresses or phone numbers.
package webhooks
