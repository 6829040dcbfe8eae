package embedded

import "github.com/alicebob/miniredis/v2"

// StartMiniredis starts the in-process Redis used by `switchboard serve` with no Redis
// configured. It listens on a free 127.0.0.1 port and keeps nothing across restarts
// (PostgreSQL is the source of truth; routing state is rebuilt from it). Close it on shutdown.
func StartMiniredis() (*miniredis.Miniredis, error) {
	return miniredis.Run()
}
