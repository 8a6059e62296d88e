package state

import "os"

// HostEnv names the environment variable that overrides the host identity
// recorded in leases and runs (containers, tests with several workers on
// one machine).
const HostEnv = "RAWLAND_HOST"

// HostName is this process's host identity: $RAWLAND_HOST when set, else
// the machine's host name. Leases held by a dead process are taken over at
// once only when they name this identity, so two processes that share one
// identity must share one PID namespace.
func HostName() string {
	if h := os.Getenv(HostEnv); h != "" {
		return h
	}
	h, _ := os.Hostname()
	return h
}
