package replay

import (
	"context"
	"errors"
	"fmt"

	"github.com/sessionreplay/replay/internal/jsonx"
	"github.com/sessionreplay/replay/internal/privacy"
	"github.com/sessionreplay/replay/storage"
)

// Policy is a site's privacy policy, enforced by the Recorder on every event
// before it is stored, whatever the browser already masked. Its JSON form is
// the "privacy" object of API.md. A Policy is a plain value: it is safe for
// concurrent use as long as no one changes it.
//
// Some things are masked whatever the policy says: password inputs (also
// after a show-password toggle changed their type), inputs whose
// autocomplete is a card field ("cc-…") or "current-password" /
// "new-password", and anything inside a blocked element.
type Policy struct {
	// MaskAllInputs masks the value of every input, textarea, select and
	// contenteditable element (buttons excepted). Of a select, the choice
	// is masked (its value, the options' selected state, its Input
	// events); the menu (the options' labels and values) is kept.
	MaskAllInputs bool `json:"maskAllInputs"`
	// MaskInputTypes masks the values of inputs of these types; "textarea",
	// "select" and "contenteditable" name those elements.
	MaskInputTypes []string `json:"maskInputTypes"`
	// UnmaskSelector exempts matching elements and their descendants from
	// MaskAllInputs, MaskInputTypes and MaskTextSelector (never from the
	// rules that always mask, nor from blocking or scrubbing).
	UnmaskSelector string `json:"unmaskSelector"`
	// MaskTextSelector masks the text, the input values and the attributes
	// that carry text (title, placeholder, alt, aria-label, …) of matching
	// elements and their descendants.
	MaskTextSelector string `json:"maskTextSelector"`
	// BlockSelector replaces matching elements by empty placeholders: their
	// children and attributes are dropped (class and rrweb's rr_width and
	// rr_height kept), and everything later added inside them is dropped.
	BlockSelector string `json:"blockSelector"`
	// Scrub names the detectors run over free text (text nodes not
	// otherwise masked, unmasked input values, console and custom event
	// payloads, URLs): "card" (13-19 digits passing the Luhn check),
	// "email", or a name in ScrubPatterns.
	Scrub []string `json:"scrub"`
	// ScrubPatterns are named regular expressions (Go syntax) that Scrub
	// may name, for example {"ssn": `\b\d{3}-\d{2}-\d{4}\b`}.
	ScrubPatterns map[string]string `json:"scrubPatterns,omitempty"`
	// ScrubQueryParams are URL query parameters whose values are replaced
	// by "***" in every URL: page URLs and href, src, action attributes.
	ScrubQueryParams []string `json:"scrubQueryParams"`
}

// DefaultPolicy returns the strict default policy: every input masked,
// text of .rr-mask and [data-private] elements masked, frames and embedded
// objects blocked, card numbers scrubbed.
func DefaultPolicy() *Policy {
	return &Policy{
		MaskAllInputs:    true,
		MaskInputTypes:   []string{"password", "email", "tel"},
		MaskTextSelector: ".rr-mask, [data-private]",
		BlockSelector:    "iframe, frame, object, embed, .rr-block",
		Scrub:            []string{"card"},
	}
}

// MaskHTML masks an HTML document or fragment by the policy, as the
// Recorder masks recorded pages, and returns it minified. It compiles the
// policy on every call; an invalid policy is an error naming the field.
func (p *Policy) MaskHTML(s string) (string, error) {
	m, err := p.compile()
	if err != nil {
		return "", err
	}
	return m.MaskHTML(s)
}

// compile checks the policy and prepares it for use. Errors name the field,
// as in `maskTextSelector: invalid CSS selector "..."`.
func (p *Policy) compile() (*privacy.Masker, error) {
	return privacy.Compile((*privacy.Policy)(p))
}

// mask applies the site's policy to a batch in place, before anything of it
// is kept. It uses the window's mirror (cached, or rebuilt from the stored
// chunks) and leaves it up to date for the next batch. The events are
// masked on their trees (decoded here for events that came without one),
// and written again: it returns the JSON array of the masked events, which
// their Data are slices of.
func (r *Recorder) mask(ctx context.Context, m *privacy.Masker, key storage.Key, b *Batch) (*batchText, error) {
	ws, err := r.windowMirror(ctx, m, key, b.Window, b.Seq)
	if err != nil {
		return nil, err
	}
	events := make([]privacy.Event, len(b.Events))
	for i := range b.Events {
		e := &b.Events[i]
		tree := e.decoded()
		if tree == nil && len(e.Data) > 0 {
			if v, err := jsonx.Decode(e.Data); err == nil {
				tree, _ = v.(*jsonx.Object)
				e.setTree(tree)
			}
		}
		events[i] = privacy.Event{Type: int(e.Type), Timestamp: e.Timestamp, Data: e.Data, Extra: e.Extra, Tree: tree}
	}
	kept, fresh, err := ws.mr.MaskBatch(m, events, !ws.complete)
	if err != nil {
		var ee *privacy.EventError
		if errors.As(err, &ee) {
			return nil, &ValidationError{Path: fmt.Sprintf("events[%d].data", ee.Index), Msg: ee.Err.Error()}
		}
		return nil, err
	}
	for i, e := range kept {
		// The tree, masked in place, is what the event holds now; Data is
		// written from it next.
		b.Events[i] = Event{Type: EventType(e.Type), Timestamp: e.Timestamp, Data: e.Data, Extra: e.Extra}
		b.Events[i].setTree(e.Tree)
	}
	clear(b.Events[len(kept):])
	b.Events = b.Events[:len(kept)]
	var quoted func(string) (string, bool)
	if r.styles.maxBytes > 0 {
		quoted = r.styles.quoted
	}
	text, err := writeEvents(b.Events, quoted)
	if err != nil {
		return nil, err
	}
	ws.next = b.Seq + 1
	ws.complete = fresh // a FullSnapshot in the batch made it whole again
	r.mirrors.put(ws)
	m.ScrubAttrs(b.Attrs)
	return text, nil
}
