package replay

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// htmlSeeds are realistic srcdoc documents and fragments, and some that
// are not well formed.
var htmlSeeds = []string{
	`<!doctype html><html><head><title>Pay</title><style>.a{color:red}</style></head><body><form action="/pay?token=abc"><input name=card value="4111 1111 1111 1111"><textarea>note</textarea><select><option selected value=fr>France</option></select><input type=checkbox checked></form></body></html>`,
	`<p class=private>hidden <b>bold</b></p><p>public</p><iframe srcdoc="<p>x</p>"></iframe>`,
	`<div contenteditable><span>typed text</span></div><img alt="Jane" src="/a.png?token=1" srcset="/a.png 1x, /b.png?token=2 2x">`,
	`<table><tr><td>cell<p>para</td></tr></table><b><i><u><p>a<p>b<p>c`,
	`<svg><foreignObject><p class=private>in svg</p></foreignObject><title>t</title></svg><math><mi>x</mi></math>`,
	`<script>var s = "</p>";</script><noscript><p>ns</p></noscript><template><p class=private>tpl</p></template>`,
	`<a href="javascript:alert(1)" title="T" aria-label="L" data-user="U" rr_note="N">link</a><!-- comment -->`,
	`<p title="unterminated`, `<textarea>`, `<style>`, `<plaintext>`, `<<<>>>`, `&amp;&lt;&#x41;&#0;&bogus;`, "\x00<p>\x00</p>",
}

// FuzzMaskHTML checks Policy.MaskHTML on untrusted HTML: it never panics,
// its output stays within a bound of its input, and a secret planted in
// front of the input under a masked element, in its text, its attributes
// and an input value, never survives whatever follows it.
func FuzzMaskHTML(f *testing.F) {
	for _, s := range htmlSeeds {
		f.Add(s)
	}
	const secret = "Zq7PlantedSecretXv"
	planted := `<div class="private" title="` + secret + `"><p>` + secret + `</p><input value="` + secret + `"><input type=checkbox checked></div>`
	p := &Policy{MaskAllInputs: true, MaskTextSelector: ".private", BlockSelector: "iframe, .rr-block",
		Scrub: []string{"card", "email"}, ScrubQueryParams: []string{"token"}}
	_, err := p.compile()
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, doc string) {
		lower := strings.ToLower(doc)
		if len(doc) > 1<<16 || strings.Contains(lower, strings.ToLower(secret)) || strings.Contains(lower, "checked") {
			return
		}
		out, err := p.MaskHTML(doc)
		if err == nil {
			assert.LessOrEqual(t, len(out), maxMaskedHTML(len(doc)), "output is bounded")
		}
		out, err = p.MaskHTML(planted + doc)
		if err != nil {
			return // an error drops the HTML: nothing is stored
		}
		assert.NotContains(t, out, secret)
		assert.NotContains(t, out, "checked", "the masked checkbox's state is hidden")
		assert.LessOrEqual(t, len(out), maxMaskedHTML(len(planted)+len(doc)), "output is bounded")
	})
}

// maxMaskedHTML bounds the size of masked HTML: rendering may close open
// elements and escape text, minifying only shrinks it.
func maxMaskedHTML(in int) int { return 8*in + 4096 }
