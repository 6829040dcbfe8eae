package connector

import "errors"

// Sentinel errors of [Connector.Call] and [New]; test with errors.Is. The wrapping
// message names the connector, the operation and the cause's class (a status code, an
// error kind), never an input value, a URL with its query, or a secret.
var (
	// ErrNotFound: the remote system has no such record (a NotFound status, or a 2xx
	// answer in which the record's JSONPath selects nothing). Cached like a result.
	ErrNotFound = errors.New("connector: no such record")
	// ErrTimeout: an attempt or the caller's deadline ran out before an answer.
	ErrTimeout = errors.New("connector: timeout")
	// ErrUnavailable: 5xx, 429 or a network failure, still so after the retries.
	ErrUnavailable = errors.New("connector: remote system unavailable")
	// ErrBadResponse: the answer is not JSON, too large, or a mapped value has the
	// wrong type.
	ErrBadResponse = errors.New("connector: bad response")
	// ErrCircuitOpen: the circuit breaker is open after consecutive failures; no
	// request was sent.
	ErrCircuitOpen = errors.New("connector: circuit open")
	// ErrNotAllowed: a template references a field that is not in the connector's
	// allow-list (at New, and refused again at call time).
	ErrNotAllowed = errors.New("connector: field not allowed")
	// ErrUnknownOperation: Call named an operation the connector does not have.
	ErrUnknownOperation = errors.New("connector: unknown operation")
	// ErrMissingInput: an input the operation requires (Operation.Required) is empty.
	ErrMissingInput = errors.New("connector: missing input")
	// ErrRejected: the remote system refused the request with a 4xx status other than
	// the NotFound ones, 401/403 and 429 (usually a mapping or configuration mistake).
	// Not retried.
	ErrRejected = errors.New("connector: request rejected")
	// ErrAuth: authentication failed: the token endpoint refused the client
	// credentials, or the remote system answered 401/403. Not retried.
	ErrAuth = errors.New("connector: authentication failed")
	// ErrConfig: the configuration is invalid (New only).
	ErrConfig = errors.New("connector: invalid configuration")
)
