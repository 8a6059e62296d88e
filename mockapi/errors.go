package mockapi

import "errors"

// Sentinel errors returned by Mutate.
var (
	// ErrUnknownStream means the stream name is not one of this server's.
	ErrUnknownStream = errors.New("unknown mock stream")
	// ErrStaticStream means the stream (countries) never changes.
	ErrStaticStream = errors.New("mock stream is static")
	// ErrUnknownOp means the Op value is not one of the declared ones.
	ErrUnknownOp = errors.New("unknown mock mutation")
)
