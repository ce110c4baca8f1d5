package storage

import "context"

// MaxOldestPending bounds the keys of one [PendingCounter.OldestPending]
// call.
const MaxOldestPending = 500

// PendingCounter is an optional interface of a [Store]: a store that
// implements it counts the stored bytes of a site's pending sessions
// itself, as every writer sharing it left them, and names the oldest. The
// Recorder's bound on a site's pending bytes (package replay's
// Targeting.MaxPendingBytes) then holds for every Recorder sharing the
// store together, in any number of processes. Without it each Recorder
// counts the pending sessions it wrote or found at its start, so a bound
// holds per process only.
//
// Both methods read what is stored now: a session counts while its stored
// State is [StatePending], with its stored StoredBytes, and stops counting
// when it is kept, dropped or deleted. They may be called concurrently with
// each other and with writes. The conformance suite (package storetest)
// checks these rules for stores that implement PendingCounter.
type PendingCounter interface {
	// PendingBytes returns the sum of StoredBytes over the sessions of
	// site whose State is StatePending; 0 for a site without any.
	PendingBytes(ctx context.Context, site string) (int64, error)

	// OldestPending returns the keys of the oldest pending sessions of
	// site, by FirstSeen, then by session id (byte order): the
	// min(limit, n) first of its n pending sessions. A limit below 1
	// means 1, and one above MaxOldestPending means MaxOldestPending.
	OldestPending(ctx context.Context, site string, limit int) ([]Key, error)
}

// ClampPendingLimit returns limit as [PendingCounter.OldestPending] reads
// it: at least 1 and at most [MaxOldestPending].
func ClampPendingLimit(limit int) int {
	return min(max(limit, 1), MaxOldestPending)
}
