package privacy

import (
	"encoding/json"
	"fmt"

	"github.com/sessionreplay/replay/internal/jsonx"
)

// The rrweb event types the engine tells apart (rrweb's EventType).
const (
	fullSnapshot        = 2
	incrementalSnapshot = 3
	metaEvent           = 4
	customEvent         = 5
	pluginEvent         = 6
)

// PackMark is the value of the "v" key that rrweb's packer puts on packed
// events; the key is kept with that value only.
const PackMark = "v1"

// Event is one rrweb event as the engine sees it: its type, its data and
// its top-level keys besides type, data and timestamp. Timestamp is
// carried through untouched.
//
// Tree, when set, is Data decoded by jsonx (an object): MaskBatch then
// masks it in place and leaves Data as it is, for the caller to write the
// event from the tree (jsonx.AppendRaw copies what masking did not
// change). Without it, MaskBatch decodes Data and replaces it when masking
// changes it.
type Event struct {
	Type      int
	Timestamp float64
	Data      json.RawMessage
	Extra     map[string]json.RawMessage
	Tree      *jsonx.Object
}

// EventError is an event of a batch the engine refused: Index is its place
// in the batch, Err what is wrong with its data.
type EventError struct {
	Index int
	Err   error
}

func (e *EventError) Error() string { return fmt.Sprintf("event %d: %v", e.Index, e.Err) }

func (e *EventError) Unwrap() error { return e.Err }

// MaskBatch masks the events of one batch of the window in place with m,
// drops those that are to be dropped whole, and returns the rest. The
// mirror follows the batch, ready for the next one. stale reports that
// the mirror missed events before this batch: the batch then fails closed
// until its first FullSnapshot. fresh reports whether the mirror is whole
// after the batch (it was not stale, or a FullSnapshot rebuilt it). An
// error is an *EventError; the mirror is then to be discarded.
func (mr *Mirror) MaskBatch(m *Masker, events []Event, stale bool) (kept []Event, fresh bool, err error) {
	p := &pass{m: m, mr: mr, budget: reevalBudget}
	if stale {
		p.closed = bUnsure
	}
	kept = events[:0]
	for i := range events {
		drop, err := p.event(&events[i])
		if err != nil {
			return nil, false, &EventError{Index: i, Err: err}
		}
		if !drop {
			kept = append(kept, events[i])
		}
	}
	clear(events[len(kept):])
	return kept, p.closed == 0, nil
}

// WithCSS returns a copy of m that processes the style sheets of _cssText
// attributes with css instead of MinifyCSS.
func (m *Masker) WithCSS(css func(string) string) *Masker {
	c := *m
	c.css = css
	return &c
}

// Policy returns the policy m was compiled from.
func (m *Masker) Policy() Policy { return m.p }

// ScrubAttrs runs the policy's scrub detectors over the session attributes
// a batch carries (replay.identify's attrs), keys and values, in place. The
// value of "userId" is kept: the host sets it on purpose and the read API
// filters on it.
func (m *Masker) ScrubAttrs(attrs map[string]string) {
	for k, v := range attrs {
		sk := m.scrub.text(k)
		if sk != k {
			delete(attrs, k)
		}
		if k != "userId" {
			v = m.scrub.text(v)
		}
		attrs[sk] = v
	}
}

// Len returns the number of nodes the mirror holds.
func (mr *Mirror) Len() int { return mr.live }
