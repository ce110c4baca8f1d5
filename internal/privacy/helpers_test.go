package privacy

import (
	"github.com/sessionreplay/replay/internal/rrwebtest"
)

// The event builders of package rrwebtest, by their short names here.
var (
	pq    = rrwebtest.Quote
	pel   = rrwebtest.Element
	ptxt  = rrwebtest.Text
	psnap = rrwebtest.Snapshot
	pmut  = rrwebtest.Mutation
)

const pMeta = rrwebtest.Meta

// maskEvent masks one event with a pass, for tests that need no dropping.
func (p *pass) maskEvent(e *Event) error {
	_, err := p.event(e)
	return err
}
