// Package tickets is where escalated conversations land at the end of the
// message flow: the ticket core on PostgreSQL (customers, conversations and
// their redacted messages, tickets, agents, skill groups, SLA policies,
// assignments, the hash-chained audit log, the token vault and the durable
// turn queue), the weighted router on Redis that hands tickets to agents,
// the cache-aside ticket cache, SLA tracking and the events every instance
// shares. It never imports gateway, kb, asr or vision.
package tickets
