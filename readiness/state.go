package readiness

// State is a node's readiness as a whole.
type State string

const (
	// StateReady: every blocking prerequisite holds; work may be queued.
	StateReady State = "ready"
	// StateNotReady: at least one blocking prerequisite fails.
	StateNotReady State = "not_ready"
	// StatePending: the provider is still acquiring or provisioning the
	// node; it is not probed until that finishes.
	StatePending State = "pending"
	// StateUnknown: the node was never probed, or its last result is stale.
	StateUnknown State = "unknown"
)
