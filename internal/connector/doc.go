// Package connector is the plumbing between the turn flow and a company's own systems: a
// generic HTTP connector that the flow calls to look a customer up in a CRM on the first
// message of a conversation, or to fetch an order from an ERP when the bot is asked
// "where is my order". One [Config] (YAML) describes one remote system: its base URL,
// its authentication (none, bearer token, HMAC signature or OAuth2 client credentials),
// the identity fields it may receive ([Config.Allow]) and named [Operation]s, each a
// templated request (method, path, query, headers, JSON body) plus a JSONPath mapping
// (RFC 9535) from the response to output fields.
//
// [Connector.Call] runs one operation: results and "no such record" answers are cached
// per (operation, inputs); each attempt has a timeout; timeouts, 5xx and 429 are retried
// with exponential backoff and jitter inside the caller's deadline; a circuit breaker
// stops calling a failing system. Failures come back as wrapped sentinel errors
// ([ErrNotFound], [ErrTimeout], [ErrUnavailable], [ErrBadResponse], [ErrCircuitOpen],
// [ErrNotAllowed], …) that never carry input values, URLs or secrets.
//
// PII rule: a template may reference only fields named in Allow ([New] refuses any
// other), and inputs outside Allow are dropped before any template runs, so they are
// never sent. docs/connectors.md is the reference of the YAML, the HMAC scheme and two
// complete CRM mappings (HubSpot, Salesforce); a test parses its examples.
package connector
