package replay

import (
	"slices"

	"github.com/sessionreplay/replay/storage"
)

// The seqs whose facts a session's metadata holds. Ingest appends a
// batch's chunk before it writes the session, so a retry of a batch whose
// PutSession failed finds the chunk stored; the record of the seqs counted
// tells it whether the facts of that batch are in the metadata (a plain
// retry: nothing to do) or not (the earlier try failed after Append: count
// them now). Facts are thus counted exactly once whatever fails.

// maxSeqRuns bounds the runs of seqs recorded per window. Batches of a
// window arrive in order but for retries and losses, so a window has one
// run or a few; a window past the bound is no longer tracked.
const maxSeqRuns = 32

// untracked marks a window whose seqs are no longer recorded.
var untracked = [][2]int{{-1, -1}}

// seqsCounted reports whether the facts of batch (window, seq) are in s,
// whose state is st, and tracked false when s does not record it (a
// session stored before the record existed, or a window past the bounds),
// in which case counted is false and means nothing.
func (st *factState) seqsCounted(s *storage.Session, window string, seq int) (counted, tracked bool) {
	runs, ok := st.Seqs[window]
	if !ok {
		// A window the metadata knows without a record of its seqs was
		// stored before the record existed.
		return false, !slices.Contains(s.WindowIDs, window)
	}
	if len(runs) == 1 && runs[0] == untracked[0] {
		return false, false
	}
	for _, r := range runs {
		if r[0] <= seq && seq <= r[1] {
			return true, true
		}
	}
	return false, true
}

// addSeq records that the facts of batch (window, seq) are counted.
// newWindow tells that s did not list the window before this batch: only
// then may a record start, since a window listed without one was counted
// before records existed.
func (st *factState) addSeq(window string, seq int, newWindow bool) {
	runs, ok := st.Seqs[window]
	switch {
	case !ok && (!newWindow || len(st.Seqs) >= maxWindowIDs):
		return
	case ok && len(runs) == 1 && runs[0] == untracked[0]:
		return
	}
	i, found := slices.BinarySearchFunc(runs, seq, func(r [2]int, seq int) int {
		switch {
		case r[1] < seq:
			return -1
		case r[0] > seq:
			return 1
		}
		return 0
	})
	if found {
		return
	}
	runs = slices.Insert(runs, i, [2]int{seq, seq})
	// Merge with the neighbours it touches.
	if i+1 < len(runs) && runs[i+1][0] == seq+1 {
		runs[i][1] = runs[i+1][1]
		runs = slices.Delete(runs, i+1, i+2)
	}
	if i > 0 && runs[i-1][1] == seq-1 {
		runs[i-1][1] = runs[i][1]
		runs = slices.Delete(runs, i, i+1)
	}
	if len(runs) > maxSeqRuns {
		runs = slices.Clone(untracked)
	}
	if st.Seqs == nil {
		st.Seqs = make(map[string][][2]int)
	}
	st.Seqs[window] = runs
}
