package tickets

import "errors"

// Sentinel errors. Callers wrap them with %w; gateway maps them to HTTP status.
var (
	ErrNotFound   = errors.New("not found")
	ErrInvalid    = errors.New("invalid input")
	ErrConflict   = errors.New("conflict")
	ErrForbidden  = errors.New("forbidden")
	ErrNoCapacity = errors.New("agent has no free capacity")
	ErrNoState    = errors.New("routing state missing")
)
