package replay

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionreplay/replay/internal/rrwebtest"
	"github.com/sessionreplay/replay/storage"
	"github.com/sessionreplay/replay/storage/memstore"
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

func pinput(id int, text string) string {
	return fmt.Sprintf(`{"type":3,"data":{"source":5,"text":%s,"isChecked":false,"id":%d},"timestamp":1200}`, pq(text), id)
}

// privEnv is a Recorder on a memory store with one site.
type privEnv struct {
	t     *testing.T
	store *memstore.Store
	sites StaticSites
	r     *Recorder
}

const privSession = "sess-privacy-1"

func newPrivEnv(t *testing.T, p *Policy) *privEnv {
	t.Helper()
	sites, err := NewStaticSites(&Site{ID: "shop", Privacy: p})
	require.NoError(t, err)
	env := &privEnv{t: t, store: memstore.New(), sites: sites}
	env.r = env.recorder()
	return env
}

// recorder returns a new Recorder on the same store, as after a restart.
func (env *privEnv) recorder() *Recorder {
	r, err := New(env.store, env.sites, nil)
	require.NoError(env.t, err)
	return r
}

func (env *privEnv) ingest(r *Recorder, window string, seq int, events ...string) {
	env.t.Helper()
	require.NoError(env.t, env.tryIngest(r, window, seq, events...))
}

// tryIngest is ingest returning the error.
func (env *privEnv) tryIngest(r *Recorder, window string, seq int, events ...string) error {
	env.t.Helper()
	body := fmt.Sprintf(`{"site":"shop","session":%q,"window":%q,"seq":%d,"events":[%s]}`, privSession, window, seq, strings.Join(events, ","))
	b, err := DecodeBatch([]byte(body))
	require.NoError(env.t, err)
	_, err = r.Ingest(context.Background(), b, Client{UserAgent: "Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0"})
	return err
}

// stored returns every stored chunk of the session, decompressed, with the
// assets they reference.
func (env *privEnv) stored() string {
	env.t.Helper()
	return storedText(env.t, env.store, storage.Key{Site: "shop", Session: privSession})
}

// read returns what the read API serves for the session.
func (env *privEnv) read() string {
	env.t.Helper()
	var buf bytes.Buffer
	require.NoError(env.t, env.r.Events(context.Background(), "shop", privSession, "", &buf))
	require.True(env.t, json.Valid(buf.Bytes()), "read API output is JSON")
	return buf.String()
}

// TestLeak plants one secret per place rrweb can carry a value and checks
// that it reaches neither the store nor the read API, while benign content
// next to it survives.
func TestLeak(t *testing.T) {
	noInputs := &Policy{BlockSelector: ".rr-block, iframe", Scrub: []string{"card"}}
	tests := []struct {
		name    string
		policy  *Policy // nil: DefaultPolicy
		batches [][]string
		refused [][]string // batches that must be refused, after batches
		secrets []string
		benign  []string
	}{
		{
			name: "input event text",
			batches: [][]string{{pMeta, psnap(pel(10, "label", "", ptxt(11, "Your name")), pel(12, "input", `"type":"text","name":"fullname"`)),
				pinput(12, "JaneSecretDoe")}},
			secrets: []string{"JaneSecretDoe"},
			benign:  []string{"Your name", "fullname"},
		},
		{
			name: "select value in an input event",
			batches: [][]string{{pMeta, psnap(pel(10, "select", `"name":"country"`, pel(11, "option", `"value":"fr"`, ptxt(12, "France")))),
				pinput(10, "SelectSecret42")}},
			secrets: []string{"SelectSecret42"},
			benign:  []string{"country", "France", `"value":"fr"`},
		},
		{
			name:    "value attribute in the snapshot",
			batches: [][]string{{pMeta, psnap(pel(10, "input", `"type":"email","value":"SnapValueSecret","placeholder":"Email"`))}},
			secrets: []string{"SnapValueSecret"},
			benign:  []string{"Email"},
		},
		{
			name: "hidden input value",
			batches: [][]string{{pMeta, psnap(pel(10, "input", `"type":"hidden","name":"csrf","value":"HiddenSecret77"`)),
				pmut(`"texts":[],"removes":[],"adds":[],"attributes":[{"id":10,"attributes":{"value":"HiddenSecret78"}}]`)}},
			secrets: []string{"HiddenSecret77", "HiddenSecret78"},
			benign:  []string{"csrf"},
		},
		{
			name: "value attribute mutation",
			batches: [][]string{{pMeta, psnap(pel(10, "input", `"type":"text"`)),
				pmut(`"texts":[],"removes":[],"adds":[],"attributes":[{"id":10,"attributes":{"value":"MutValueSecret","data-state":"dirty"}}]`)}},
			secrets: []string{"MutValueSecret"},
			benign:  []string{"dirty"},
		},
		{
			name:   "password input, even with input masking off and after a show-password toggle",
			policy: noInputs,
			batches: [][]string{{pMeta, psnap(pel(10, "input", `"type":"password","value":"PwSnapSecret"`), pel(13, "input", `"type":"text"`)),
				pinput(10, "PwTypedSecret"),
				pmut(`"texts":[],"removes":[],"adds":[],"attributes":[{"id":10,"attributes":{"type":"text"}}]`),
				pinput(10, "PwShownSecret"),
				pinput(13, "PlainBenignText")}},
			secrets: []string{"PwSnapSecret", "PwTypedSecret", "PwShownSecret"},
			benign:  []string{"PlainBenignText"},
		},
		{
			name:   "card and password autocomplete",
			policy: noInputs,
			batches: [][]string{{pMeta, psnap(pel(10, "input", `"type":"text","autocomplete":"cc-number"`), pel(11, "input", `"type":"text","autocomplete":"new-password"`),
				pel(12, "input", `"type":"text","autocomplete":"shipping cc-name"`)),
				pinput(10, "CcNumberSecret"), pinput(11, "NewPwSecret"), pinput(12, "CcNameSecret")}},
			secrets: []string{"CcNumberSecret", "NewPwSecret", "CcNameSecret"},
			benign:  []string{"cc-number"},
		},
		{
			name: "textarea text in the snapshot and in a text mutation",
			batches: [][]string{{pMeta, psnap(pel(10, "textarea", `"name":"note"`, ptxt(11, "TextareaSnapSecret"))),
				pmut(`"texts":[{"id":11,"value":"TextareaMutSecret"}],"removes":[],"adds":[],"attributes":[]`)}},
			secrets: []string{"TextareaSnapSecret", "TextareaMutSecret"},
			benign:  []string{"note"},
		},
		{
			name: "contenteditable text",
			batches: [][]string{{pMeta, psnap(pel(10, "div", `"contenteditable":"true"`, ptxt(11, "EditableSnapSecret")), pel(12, "p", "", ptxt(13, "Static copy"))),
				pmut(`"texts":[{"id":11,"value":"EditableMutSecret"}],"removes":[],"adds":[{"parentId":10,"nextId":null,"node":{"type":3,"textContent":"EditableAddSecret","id":14}}],"attributes":[]`)}},
			secrets: []string{"EditableSnapSecret", "EditableMutSecret", "EditableAddSecret"},
			benign:  []string{"Static copy"},
		},
		{
			name: "text under maskTextSelector, in the snapshot, texts and adds",
			batches: [][]string{{pMeta, psnap(pel(10, "div", `"class":"card rr-mask"`, pel(11, "span", "", ptxt(12, "MaskedSnapSecret"))), pel(13, "p", "", ptxt(14, "Visible copy"))),
				pmut(`"texts":[{"id":12,"value":"MaskedMutSecret"}],"removes":[],"adds":[{"parentId":11,"nextId":null,"node":{"type":3,"textContent":"MaskedAddSecret","id":15}}],"attributes":[]`)}},
			secrets: []string{"MaskedSnapSecret", "MaskedMutSecret", "MaskedAddSecret"},
			benign:  []string{"Visible copy"},
		},
		{
			name:   "descendant combinator, and a class added to an ancestor later",
			policy: &Policy{MaskTextSelector: ".account .balance"},
			batches: [][]string{{pMeta, psnap(
				pel(10, "div", `"class":"account"`, pel(11, "span", `"class":"balance"`, ptxt(12, "BalanceSecret1"))),
				pel(20, "div", `"class":"later"`, pel(21, "span", `"class":"balance"`, ptxt(22, "Public balance"))),
			),
				pmut(`"texts":[],"removes":[],"adds":[],"attributes":[{"id":20,"attributes":{"class":"later account"}}]`),
				pmut(`"texts":[{"id":22,"value":"BalanceSecret2"}],"removes":[],"adds":[],"attributes":[]`)}},
			secrets: []string{"BalanceSecret1", "BalanceSecret2"},
			benign:  []string{"Public balance"},
		},
		{
			name: "attributes of masked elements that carry text",
			batches: [][]string{{pMeta, psnap(pel(10, "div", `"class":"rr-mask","title":"TitleSecret","aria-label":"AriaSecret","data-user":"DataSecret"`,
				pel(11, "img", `"alt":"AltSecret","src":"/a.png"`), pel(12, "input", `"type":"submit","value":"ButtonSecret","placeholder":"PlaceholderSecret"`)),
				pel(13, "img", `"alt":"Logo"`))}},
			secrets: []string{"TitleSecret", "AriaSecret", "DataSecret", "AltSecret", "ButtonSecret", "PlaceholderSecret"},
			benign:  []string{"Logo", "/a.png"},
		},
		{
			name: "blocked subtree in the snapshot",
			batches: [][]string{{pMeta, psnap(
				pel(10, "div", `"class":"rr-block","rr_width":"50px","rr_height":"20px","data-x":"BlockAttrSecret"`, pel(11, "span", "", ptxt(12, "BlockTextSecret"))),
				pel(13, "iframe", `"src":"https://pay.example/frame?BlockSrcSecret","srcdoc":"<b>SrcdocSecret</b>","rr_width":"300px"`),
				pel(14, "object", `"data":"/ObjectDataSecret.pdf"`),
				pel(15, "p", "", ptxt(16, "Outside the block")))}},
			secrets: []string{"BlockAttrSecret", "BlockTextSecret", "BlockSrcSecret", "SrcdocSecret", "ObjectDataSecret"},
			benign:  []string{"Outside the block", `"rr_width":"50px"`, `"rr_height":"20px"`, `"rr_width":"300px"`},
		},
		{
			name: "adds, texts, attributes and input inside a blocked element later",
			batches: [][]string{{pMeta, psnap(pel(10, "div", `"class":"rr-block"`, pel(11, "input", `"type":"text"`)), pel(15, "p", "", ptxt(16, "Open text"))),
				pmut(`"texts":[],"removes":[],"adds":[{"parentId":10,"nextId":null,"node":{"type":2,"tagName":"p","attributes":{"title":"AddAttrSecret"},"childNodes":[],"id":20}},{"parentId":20,"nextId":null,"node":{"type":3,"textContent":"AddTextSecret","id":21}}],"attributes":[]`),
				pmut(`"texts":[{"id":21,"value":"LaterTextSecret"}],"removes":[],"adds":[],"attributes":[{"id":20,"attributes":{"title":"LaterAttrSecret"}},{"id":10,"attributes":{"data-note":"BlockedAttrSecret","class":"rr-block open"}}]`),
				pinput(11, "BlockedInputSecret")}},
			secrets: []string{"AddAttrSecret", "AddTextSecret", "LaterTextSecret", "LaterAttrSecret", "BlockedAttrSecret", "BlockedInputSecret"},
			benign:  []string{"Open text", "rr-block open"},
		},
		{
			name: "attached iframe document inside a blocked iframe",
			batches: [][]string{{pMeta, psnap(pel(10, "iframe", ""), pel(15, "p", "", ptxt(16, "Host page"))),
				`{"type":3,"data":{"source":0,"texts":[],"attributes":[],"removes":[],"isAttachIframe":true,"adds":[{"parentId":10,"nextId":null,"node":{"type":0,"childNodes":[` +
					pel(31, "html", "", pel(32, "body", "", pel(33, "input", `"type":"text","value":"IframeValueSecret"`), ptxt(34, "IframeTextSecret"))) +
					`],"id":30,"rootId":30}}]},"timestamp":1300}`,
				pinput(33, "IframeInputSecret")}},
			secrets: []string{"IframeValueSecret", "IframeTextSecret", "IframeInputSecret"},
			benign:  []string{"Host page", `"isAttachIframe":true`},
		},
		{
			name:   "attached iframe document, frames not blocked",
			policy: &Policy{MaskAllInputs: true, MaskTextSelector: ".secret"},
			batches: [][]string{{pMeta, psnap(pel(10, "iframe", ""), pel(15, "p", "", ptxt(16, "Host page"))),
				`{"type":3,"data":{"source":0,"texts":[],"attributes":[],"removes":[],"isAttachIframe":true,"adds":[{"parentId":10,"nextId":null,"node":{"type":0,"childNodes":[` +
					pel(31, "html", "", pel(32, "body", "", pel(33, "input", `"type":"text","value":"FrameValueSecret"`), pel(35, "p", `"class":"secret"`, ptxt(34, "FrameTextSecret")), ptxt(36, "Frame copy"))) +
					`],"id":30,"rootId":30}}]},"timestamp":1300}`,
				pinput(33, "FrameInputSecret")}},
			secrets: []string{"FrameValueSecret", "FrameTextSecret", "FrameInputSecret"},
			benign:  []string{"Host page", "Frame copy"},
		},
		{
			name: "the choice of a masked select, not its menu",
			batches: [][]string{{pMeta, psnap(pel(10, "select", `"name":"plan","value":"ChosenValueSecret"`,
				pel(11, "option", `"value":"basic"`, ptxt(12, "Basic plan")),
				pel(13, "option", `"value":"ChosenValueSecret","selected":true`, ptxt(14, "Pro plan"))),
				pel(15, "label", "", ptxt(16, "Choose a plan"))),
				pmut(`"texts":[],"removes":[],"adds":[],"attributes":[{"id":11,"attributes":{"selected":""}},{"id":10,"attributes":{"value":"ChosenMutSecret"}}]`),
				pinput(10, "ChosenInputSecret")}},
			secrets: []string{`"plan","value":"ChosenValueSecret"`, `"selected":true`, `"selected":""`, "ChosenMutSecret", "ChosenInputSecret"},
			benign:  []string{"Choose a plan", "Basic plan", "Pro plan", `"value":"basic"`, `"name":"plan"`, `"selected":null`},
		},
		{
			name:   "console plugin payload and trace",
			policy: &Policy{Scrub: []string{"card", "email"}},
			batches: [][]string{{pMeta, `{"type":6,"data":{"plugin":"rrweb/console@1","payload":{"level":"error","trace":["pay (https://shop.example/app.js?u=jane.console@example.com:1:2)"],` +
				`"payload":["\"Payment failed for 4111 1111 1111 1111\"","{\"card\":4012888888881881,\"mail\":\"jane.console@example.com\",\"code\":402}"]}},"timestamp":1400}`}},
			secrets: []string{"4111 1111 1111 1111", "4012888888881881", "jane.console", "example.com"},
			benign:  []string{"Payment failed for", `\"code\":402`},
		},
		{
			name:    "$error custom event",
			batches: [][]string{{pMeta, `{"type":5,"data":{"tag":"$error","payload":{"message":"charge 5555-5555-5555-4444 declined","stack":"Error: 378282246310005\n at pay","source":"https://shop.example/app.js"}},"timestamp":1500}`}},
			secrets: []string{"5555-5555-5555-4444", "378282246310005"},
			benign:  []string{"declined", "at pay", "$error"},
		},
		{
			name:   "query parameters in every URL",
			policy: &Policy{ScrubQueryParams: []string{"token", "email"}},
			batches: [][]string{{`{"type":4,"data":{"href":"https://shop.example/reset?token=MetaTokenSecret&step=2","width":1,"height":1},"timestamp":1000}`,
				psnap(pel(10, "a", `"href":"/account?email=HrefEmailSecret&tab=orders"`, ptxt(11, "Account")), pel(12, "form", `"action":"/login#token=FormTokenSecret"`)),
				`{"type":5,"data":{"tag":"$pageview","payload":{"href":"https://shop.example/next?Token=PageviewSecret"}},"timestamp":1600}`,
				pmut(`"texts":[],"removes":[],"attributes":[{"id":10,"attributes":{"href":"/x?token=AttrMutSecret"}}],"adds":[{"parentId":5,"nextId":null,"node":{"type":2,"tagName":"img","attributes":{"src":"/p.png?token=AddSrcSecret"},"childNodes":[],"id":40}}]`)}},
			secrets: []string{"MetaTokenSecret", "HrefEmailSecret", "FormTokenSecret", "PageviewSecret", "AttrMutSecret", "AddSrcSecret"},
			benign:  []string{"step=2", "tab=orders", "token=***", "/p.png"},
		},
		{
			name:   "named regular expression",
			policy: &Policy{Scrub: []string{"ssn"}, ScrubPatterns: map[string]string{"ssn": `\b\d{3}-\d{2}-\d{4}\b`}},
			batches: [][]string{{pMeta, psnap(pel(10, "p", "", ptxt(11, "SSN 123-45-6789 on file"))),
				pinput(99, "x")}},
			secrets: []string{"123-45-6789"},
			benign:  []string{"SSN ", " on file"},
		},
		{
			name:   "ids the mirror never saw",
			policy: &Policy{},
			batches: [][]string{{pMeta, psnap(pel(10, "p", "", ptxt(11, "Known text"))),
				pinput(500, "UnknownInputSecret"),
				pmut(`"texts":[{"id":501,"value":"UnknownTextSecret"}],"removes":[],"adds":[{"parentId":502,"nextId":null,"node":{"type":3,"textContent":"UnknownParentSecret","id":503}}],"attributes":[{"id":504,"attributes":{"title":"UnknownAttrSecret","value":"UnknownValueSecret"}}]`)}},
			secrets: []string{"UnknownInputSecret", "UnknownTextSecret", "UnknownParentSecret", "UnknownAttrSecret", "UnknownValueSecret"},
			benign:  []string{"Known text"},
		},
		{
			name:    "srcdoc of a frame that is not blocked",
			policy:  &Policy{MaskAllInputs: true, MaskTextSelector: ".rr-mask"},
			batches: [][]string{{pMeta, psnap(pel(10, "iframe", `"srcdoc":"<p class=rr-mask>SrcdocTextSecret</p><input value=SrcdocValueSecret><p>Frame hello</p>"`))}},
			secrets: []string{"SrcdocTextSecret", "SrcdocValueSecret"},
			benign:  []string{"Frame hello"},
		},
		{
			name:   "text in nodes rrweb does not make",
			policy: &Policy{},
			batches: [][]string{{pMeta, psnap(`{"type":9,"textContent":"OddTypeSecret","id":40}`, `{"type":2,"tagName":"p","attributes":{},"childNodes":[],"textContent":"ElementTextSecret","id":41}`,
				pel(42, "p", "", ptxt(43, "Normal text")))}},
			secrets: []string{"OddTypeSecret", "ElementTextSecret"},
			benign:  []string{"Normal text"},
		},
		{
			name: "packed events are unpacked and masked",
			batches: [][]string{{pMeta, psnap(pel(10, "input", `"type":"text"`)),
				packedForTest(t, pinput(10, "PackedInputSecret"))}},
			secrets: []string{"PackedInputSecret"},
		},
		{
			name: "checked and selected state of masked inputs",
			batches: [][]string{{pMeta, psnap(pel(10, "input", `"type":"checkbox","name":"newsletter","checked":true`), pel(11, "input", `"type":"radio","name":"plan","checked":true`),
				pel(12, "select", `"name":"size"`, pel(13, "option", `"value":"m"`, ptxt(14, "M")))),
				pmut(`"texts":[],"removes":[],"adds":[{"parentId":5,"nextId":null,"node":` + pel(15, "input", `"type":"checkbox","checked":""`) + `}],"attributes":[{"id":10,"attributes":{"checked":""}},{"id":13,"attributes":{"selected":""}},{"id":99,"attributes":{"checked":"checked"}}]`),
				`{"type":3,"data":{"source":5,"text":"on","isChecked":true,"id":11},"timestamp":1200}`,
				`{"type":3,"data":{"source":5,"text":"on","isChecked":true,"id":98},"timestamp":1201}`}},
			secrets: []string{`"checked":true`, `"checked":""`, `"checked":"checked"`, `"selected":""`, `"isChecked":true`},
			benign:  []string{`"name":"newsletter"`, `"checked":null`, `"isChecked":false`, `"type":"radio"`},
		},
		{
			name: "rr_ attributes the page chose",
			batches: [][]string{{pMeta, psnap(pel(10, "div", `"class":"rr-mask","rr_note":"RrNoteSecret","rr_width":"40px","rr_height":"20px"`, ptxt(11, "x")),
				pel(12, "div", `"rr_scrollTop":120,"rr_open_mode":"modal"`), pel(13, "dialog", `"class":"rr-mask","rr_seq":12345678`)),
				pmut(`"texts":[],"removes":[],"adds":[],"attributes":[{"id":10,"attributes":{"rr_memo":"RrMemoSecret"}},{"id":999,"attributes":{"rr_x":"RrUnknownSecret","rr_width":"7px"}}]`)}},
			secrets: []string{"RrNoteSecret", "RrMemoSecret", "RrUnknownSecret", "12345678"},
			benign:  []string{`"rr_width":"40px"`, `"rr_height":"20px"`, `"rr_scrollTop":120`, `"rr_open_mode":"modal"`, `"rr_width":"7px"`},
		},
		{
			name:    "a secret moved into a masked region",
			policy:  &Policy{MaskTextSelector: ".private"},
			batches: [][]string{{pMeta, psnap(pel(10, "div", `"class":"private"`), pel(20, "p", "", ptxt(21, "Movable text"))), pmut(`"texts":[],"attributes":[],"removes":[{"parentId":20,"id":21}],"adds":[{"parentId":10,"nextId":null,"node":{"type":3,"textContent":"MovedSecret","id":21}}]`)}},
			secrets: []string{"MovedSecret"},
			benign:  []string{"Movable text"},
		},
		{
			name:   "adjacent sibling selector after a sibling is added, then removed",
			policy: &Policy{MaskTextSelector: "label.secret + span"},
			batches: [][]string{
				{pMeta, psnap(pel(10, "span", "", ptxt(11, "Plain span text")))},
				{pmut(`"texts":[],"attributes":[],"removes":[],"adds":[{"parentId":5,"nextId":10,"node":` + pel(20, "label", `"class":"secret"`) + `}]`),
					pmut(`"texts":[{"id":11,"value":"SiblingSecret1"}],"attributes":[],"removes":[],"adds":[]`)},
				{pmut(`"texts":[{"id":11,"value":"SiblingSecret2"}],"attributes":[],"removes":[],"adds":[{"parentId":5,"nextId":10,"node":` + pel(21, "label", `"class":"secret"`) + `}]`),
					pmut(`"texts":[],"attributes":[],"removes":[{"parentId":5,"id":21},{"parentId":5,"id":20}],"adds":[]`),
					pmut(`"texts":[{"id":11,"value":"UnmaskedAgainText"}],"attributes":[],"removes":[],"adds":[]`)},
			},
			secrets: []string{"SiblingSecret1", "SiblingSecret2"},
			benign:  []string{"Plain span text", "UnmaskedAgainText"},
		},
		{
			name:   "first-child selector after the first child is removed, then a child is added before",
			policy: &Policy{MaskTextSelector: "p:first-child"},
			batches: [][]string{
				{pMeta, psnap(pel(10, "div", "", pel(11, "p", "", ptxt(12, "FirstParaSecret")), pel(13, "p", "", ptxt(14, "Second para text"))))},
				{pmut(`"texts":[],"attributes":[],"removes":[{"parentId":10,"id":11}],"adds":[]`),
					pmut(`"texts":[{"id":14,"value":"NowFirstSecret"}],"attributes":[],"removes":[],"adds":[]`)},
				{pmut(`"texts":[],"attributes":[],"removes":[],"adds":[{"parentId":10,"nextId":13,"node":` + pel(15, "p", "", ptxt(16, "NewFirstSecret")) + `}]`),
					pmut(`"texts":[{"id":14,"value":"NoLongerFirstText"}],"attributes":[],"removes":[],"adds":[]`)},
			},
			secrets: []string{"FirstParaSecret", "NowFirstSecret", "NewFirstSecret"},
			benign:  []string{"Second para text", "NoLongerFirstText"},
		},
		{
			name:    "attribute values that are not scalars are refused",
			batches: [][]string{{pMeta, psnap(pel(10, "input", `"type":"text","name":"pw"`), pel(11, "p", "", ptxt(12, "Refusal copy")))}},
			refused: [][]string{
				{psnap(pel(10, "input", `"type":"password","value":["ArraySnapSecret"]`))},
				{pmut(`"texts":[],"removes":[],"attributes":[],"adds":[{"parentId":5,"nextId":null,"node":` + pel(20, "input", `"value":{"v":"ObjectAddSecret"}`) + `}]`)},
				{pmut(`"texts":[],"removes":[],"adds":[],"attributes":[{"id":10,"attributes":{"value":["ArrayMutSecret"]}}]`)},
			},
			secrets: []string{"ArraySnapSecret", "ObjectAddSecret", "ArrayMutSecret"},
			benign:  []string{"Refusal copy", `"name":"pw"`},
		},
		{
			name: "unknown top-level event keys",
			batches: [][]string{{pMeta, psnap(pel(10, "p", "", ptxt(11, "Key copy"))),
				`{"type":3,"data":{"source":1,"positions":[{"x":1,"y":2,"id":10,"timeOffset":0}]},"timestamp":1200,"note":"card 4111 1111 1111 1111","KeySecret":1,"delay":12}`}},
			secrets: []string{"4111 1111 1111 1111", "KeySecret", `"note"`},
			benign:  []string{"Key copy", `"positions"`, `"delay":12`},
		},
		{
			name: "event types, sources and plugins the masker does not model",
			batches: [][]string{{pMeta, psnap(pel(10, "input", `"type":"password"`), pel(13, "div", `"class":"rr-mask"`, pel(14, "span", "", ptxt(15, "x"))), pel(16, "p", "", ptxt(17, "Model copy"))),
				`{"type":3,"data":{"source":42,"text":"paid with 4111 1111 1111 1111","label":"Future label"},"timestamp":1200}`,
				`{"type":3,"data":{"source":43,"id":10,"value":"FutureInputSecret"},"timestamp":1201}`,
				`{"type":3,"data":{"source":44,"items":[{"nodeId":14,"text":"FutureMaskedSecret"},{"nodeId":17,"text":"Future visible"}]},"timestamp":1202}`,
				`{"type":9,"data":{"id":15,"text":"FutureTypeSecret"},"timestamp":1203}`,
				`{"type":9,"data":{"note":"type nine 5555-5555-5555-4444 note"},"timestamp":1204}`,
				`{"type":6,"data":{"plugin":"acme/fields@1","payload":{"fieldId":10,"typed":"PluginFieldSecret"}},"timestamp":1205}`,
				`{"type":6,"data":{"plugin":"acme/log@1","payload":{"msg":"order 378282246310005 shipped","ids":[16,17]}},"timestamp":1206}`,
				`{"type":7,"data":{"url":"blob:x","payload":{"rr_type":"Blob","note":"asset 4012888888881881"}},"timestamp":1207}`}},
			secrets: []string{"4111 1111 1111 1111", "FutureInputSecret", "FutureMaskedSecret", "FutureTypeSecret", "5555-5555-5555-4444", "PluginFieldSecret", "378282246310005", "4012888888881881"},
			benign:  []string{"Model copy", "paid with", "Future label", "Future visible", "type nine", `"plugin":"acme/fields@1"`, "order ", " shipped", `"ids":[16,17]`, `"rr_type":"Blob"`},
		},
		{
			name: "canvas mutations and canvas snapshots",
			batches: [][]string{{pMeta, psnap(pel(10, "div", `"class":"rr-mask"`, pel(11, "canvas", `"rr_dataURL":"data:image/png;base64,MaskedCanvasDataSecret"`)),
				pel(12, "canvas", `"rr_dataURL":"data:image/png;base64,PlainCanvasData"`), pel(13, "div", `"class":"rr-block"`, pel(14, "canvas", ""))),
				`{"type":3,"data":{"source":9,"id":11,"type":0,"commands":[{"property":"fillText","args":["MaskedCanvasSecret",1,2]}]},"timestamp":1200}`,
				`{"type":3,"data":{"source":9,"id":14,"type":0,"property":"fillText","args":["BlockedCanvasSecret",1,2]},"timestamp":1201}`,
				`{"type":3,"data":{"source":9,"id":99,"type":0,"property":"fillText","args":["UnknownCanvasSecret",1,2]},"timestamp":1202}`,
				`{"type":3,"data":{"source":9,"id":12,"type":0,"commands":[{"property":"fillText","args":["Card 4111 1111 1111 1111 drawn",1,2]},{"property":"fillStyle","args":["#ff0000"],"setter":true}]},"timestamp":1203}`,
				pmut(`"texts":[],"removes":[],"adds":[],"attributes":[{"id":11,"attributes":{"rr_dataURL":"data:image/png;base64,MaskedCanvasMutSecret"}}]`)}},
			secrets: []string{"MaskedCanvasDataSecret", "MaskedCanvasSecret", "BlockedCanvasSecret", "UnknownCanvasSecret", "4111 1111 1111 1111", "MaskedCanvasMutSecret"},
			benign:  []string{"PlainCanvasData", "Card ", " drawn", "#ff0000"},
		},
		{
			name:   "a masked attribute the selectors read, then changes below it and beside it",
			policy: &Policy{MaskTextSelector: ".rr-mask, [data-kind=secret] + p", BlockSelector: "[title=Blocked] span"},
			batches: [][]string{
				{pMeta, psnap(pel(10, "div", `"class":"rr-mask","title":"Blocked"`, pel(11, "span", "", ptxt(12, "x"))),
					pel(13, "label", `"class":"rr-mask","data-kind":"secret"`), pel(14, "p", "", ptxt(15, "SibText0Secret")))},
				{pmut(`"texts":[{"id":15,"value":"SibText1Secret"}],"removes":[],"attributes":[],"adds":[{"parentId":10,"nextId":null,"node":` +
					pel(16, "span", `"title":"AddedTitleSecret"`, ptxt(17, "AddedUnderBlockSecret")) + `}]`)},
				{pmut(`"texts":[],"removes":[],"attributes":[{"id":13,"attributes":{"class":"rr-mask moved"}}],"adds":[{"parentId":5,"nextId":null,"node":` +
					pel(18, "p", "", ptxt(19, "SibText2Secret")) + `}]`)},
			},
			secrets: []string{`"title":"Blocked"`, `"data-kind":"secret"`, "SibText0Secret", "SibText1Secret", "AddedTitleSecret", "AddedUnderBlockSecret", "SibText2Secret"},
			benign:  []string{`"class":"rr-mask moved"`, `"id":19`},
		},
		{
			name:   "attributes the selectors read are stored masked",
			policy: &Policy{MaskTextSelector: ".rr-mask", BlockSelector: "[title=Blocked]"},
			batches: [][]string{{pMeta, psnap(pel(10, "div", `"class":"rr-mask","title":"SelTitleSecret"`, ptxt(11, "x")),
				pel(12, "div", `"title":"Blocked"`, ptxt(13, "BlockedBySelSecret")), pel(14, "p", `"title":"Plain title"`, ptxt(15, "Sel copy"))),
				pmut(`"texts":[],"removes":[],"adds":[],"attributes":[{"id":10,"attributes":{"title":"SelTitleMutSecret"}}]`)}},
			secrets: []string{"SelTitleSecret", "SelTitleMutSecret", "BlockedBySelSecret"},
			benign:  []string{"Sel copy", "Plain title", `"rr_mask":"bx"`},
		},
	}
	for _, tt := range tests {
		for _, restart := range []bool{false, true} {
			name := tt.name
			if restart {
				name += ", restarting before each batch"
			}
			t.Run(name, func(t *testing.T) {
				leakCase(t, tt.policy, tt.batches, tt.refused, tt.secrets, tt.benign, restart)
			})
		}
	}
}

// leakCase ingests batches (each by a new Recorder when restart, so that
// the mirror is rebuilt from the stored chunks), expects refused to be
// refused, and checks that no secret is stored or served and every benign
// string is stored.
func leakCase(t *testing.T, p *Policy, batches, refused [][]string, secrets, benign []string, restart bool) {
	if p == nil {
		p = DefaultPolicy()
	}
	env := newPrivEnv(t, p)
	for seq, events := range batches {
		r := env.r
		if restart {
			r = env.recorder()
		}
		env.ingest(r, "w1", seq, events...)
	}
	for i, events := range refused {
		err := env.tryIngest(env.r, "w1", len(batches)+i, events...)
		var ve *ValidationError
		require.ErrorAs(t, err, &ve, "refused batch %d", i)
		assert.Contains(t, ve.Path, "attributes.", "the error names the attribute")
	}
	stored, read := env.stored(), env.read()
	for _, s := range secrets {
		assert.NotContains(t, stored, s, "stored")
		assert.NotContains(t, read, s, "read API")
	}
	for _, s := range benign {
		assert.Contains(t, stored, s, "benign content is kept")
	}
}

func packedForTest(t *testing.T, event string) string {
	t.Helper()
	var e Event
	require.NoError(t, json.Unmarshal([]byte(event), &e))
	s, err := PackEvent(e)
	require.NoError(t, err)
	return pq(s)
}

func TestMaskKeepsShape(t *testing.T) {
	env := newPrivEnv(t, DefaultPolicy())
	env.ingest(env.r, "w1", 0, pMeta, psnap(pel(10, "p", `"class":"rr-mask"`, ptxt(11, "Jane  Doe\u00a0😀")), pel(12, "input", `"type":"text","value":"a b"`)),
		pinput(12, "héllo wörld"), `{"type":3,"data":{"source":1,"positions":[{"x":1.5,"y":2,"id":12,"timeOffset":-10}]},"timestamp":1201.25,"_sid":7,"delay":-3.5}`)
	var events []map[string]any
	require.NoError(t, json.Unmarshal([]byte(env.read()), &events))
	require.Len(t, events, 4, "event count is kept")
	snap := events[1]["data"].(map[string]any)["node"].(map[string]any)
	body := snap["childNodes"].([]any)[1].(map[string]any)["childNodes"].([]any)[1].(map[string]any)
	p := body["childNodes"].([]any)[0].(map[string]any)
	assert.Equal(t, "****  ***\u00a0**", p["childNodes"].([]any)[0].(map[string]any)["textContent"], "text keeps whitespace and UTF-16 length")
	assert.Equal(t, "t", p["attributes"].(map[string]any)["rr_mask"])
	assert.EqualValues(t, 11, p["childNodes"].([]any)[0].(map[string]any)["id"], "ids are kept")
	in := body["childNodes"].([]any)[1].(map[string]any)
	assert.Equal(t, "***", in["attributes"].(map[string]any)["value"], "input values are masked whole")
	assert.Equal(t, "***********", events[2]["data"].(map[string]any)["text"])
	assert.Equal(t, false, events[2]["data"].(map[string]any)["isChecked"])
	assert.NotContains(t, events[3], "_sid", "unknown top-level keys are dropped")
	assert.EqualValues(t, -3.5, events[3]["delay"], "rrweb's delay is kept")
	assert.Equal(t, 1201.25, events[3]["timestamp"])
}

func TestMaskCheckedStateOnlyOfMaskedInputs(t *testing.T) {
	env := newPrivEnv(t, &Policy{MaskInputTypes: []string{"checkbox"}})
	env.ingest(env.r, "w1", 0, pMeta, psnap(pel(10, "input", `"type":"checkbox","checked":true`), pel(11, "input", `"type":"radio","checked":true`)),
		pmut(`"texts":[],"removes":[],"adds":[],"attributes":[{"id":10,"attributes":{"checked":""}},{"id":11,"attributes":{"checked":""}}]`),
		`{"type":3,"data":{"source":5,"text":"on","isChecked":true,"id":10},"timestamp":1200}`,
		`{"type":3,"data":{"source":5,"text":"on","isChecked":true,"id":11},"timestamp":1201}`)
	var events []map[string]any
	require.NoError(t, json.Unmarshal([]byte(env.read()), &events))
	require.Len(t, events, 5, "event count is kept")
	body := events[1]["data"].(map[string]any)["node"].(map[string]any)["childNodes"].([]any)[1].(map[string]any)["childNodes"].([]any)[1].(map[string]any)
	attrsOf := func(i int) map[string]any {
		return body["childNodes"].([]any)[i].(map[string]any)["attributes"].(map[string]any)
	}
	assert.NotContains(t, attrsOf(0), "checked", "a masked checkbox's state is removed")
	assert.Equal(t, true, attrsOf(1)["checked"], "an unmasked radio keeps its state")
	changes := events[2]["data"].(map[string]any)["attributes"].([]any)
	assert.Equal(t, map[string]any{"checked": nil}, changes[0].(map[string]any)["attributes"], "a masked change says removed")
	assert.Equal(t, map[string]any{"checked": ""}, changes[1].(map[string]any)["attributes"])
	assert.Equal(t, false, events[3]["data"].(map[string]any)["isChecked"])
	assert.Equal(t, true, events[4]["data"].(map[string]any)["isChecked"])
}

func TestMaskScrubsSessionAttrs(t *testing.T) {
	env := newPrivEnv(t, &Policy{Scrub: []string{"card", "email", "ssn"}, ScrubPatterns: map[string]string{"ssn": `\b\d{3}-\d{2}-\d{4}\b`}})
	body := `{"site":"shop","session":"` + privSession + `","window":"w1","seq":0,"events":[` + pMeta + `],"attrs":{` +
		`"userId":"jane.user@example.com","email":"jane.attr@example.com","note":"card 4111 1111 1111 1111, ssn 123-45-6789","plan":"pro","x@secret.example.org":"k"}}`
	b, err := DecodeBatch([]byte(body))
	require.NoError(t, err)
	_, err = env.r.Ingest(context.Background(), b, Client{UserAgent: "Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0"})
	require.NoError(t, err)
	s, err := env.r.Session(context.Background(), "shop", privSession)
	require.NoError(t, err)
	meta := fmt.Sprint(s.Attrs)
	for _, secret := range []string{"jane.attr", "4111 1111", "123-45-6789", "x@secret"} {
		assert.NotContains(t, meta, secret)
	}
	assert.Equal(t, "jane.user@example.com", s.Attrs["userId"], "userId is the host's own choice and is kept")
	assert.Equal(t, "pro", s.Attrs["plan"])
	assert.Contains(t, s.Attrs["note"], "card ")
	sessions, err := env.r.Sessions(context.Background(), storage.Query{Site: "shop", User: "jane.user@example.com"})
	require.NoError(t, err)
	assert.Len(t, sessions.Sessions, 1, "the read API still filters on userId")
}

func TestMaskUnmaskSelector(t *testing.T) {
	p := &Policy{MaskAllInputs: true, MaskTextSelector: "*", UnmaskSelector: ".public"}
	env := newPrivEnv(t, p)
	env.ingest(env.r, "w1", 0, pMeta, psnap(
		pel(10, "div", `"class":"public"`, ptxt(11, "Public copy"), pel(12, "input", `"type":"search"`), pel(13, "input", `"type":"password"`)),
		pel(20, "p", "", ptxt(21, "PrivateCopy"))),
		pinput(12, "shoes"), pinput(13, "UnmaskPwSecret"))
	stored := env.stored()
	assert.Contains(t, stored, "Public copy")
	assert.Contains(t, stored, `"text":"shoes"`)
	assert.NotContains(t, stored, "PrivateCopy")
	assert.NotContains(t, stored, "UnmaskPwSecret", "passwords are masked whatever unmaskSelector says")
}

func TestMaskCSSIsMinifiedNotScrubbed(t *testing.T) {
	css := "/* note */\n.password-field  {  color : red ;  }\n/* rr_split */\n.card-4111111111111111 { margin : 0px ; }"
	env := newPrivEnv(t, &Policy{Scrub: []string{"card"}})
	env.ingest(env.r, "w1", 0, pMeta, psnap(pel(10, "style", `"_cssText":`+pq(css), ptxt(11, ""))))
	stored := env.stored()
	assert.Contains(t, stored, ".password-field{color:red}/* rr_split */.card-4111111111111111{margin:0}")
}

func TestPolicyCompileErrorsNameTheField(t *testing.T) {
	tests := []struct {
		p    Policy
		want string
	}{
		{Policy{MaskTextSelector: "div[["}, `maskTextSelector: invalid CSS selector "div[["`},
		{Policy{BlockSelector: "iframe,"}, `blockSelector: invalid CSS selector "iframe,"`},
		{Policy{UnmaskSelector: ":has(input)"}, `unmaskSelector: ":has(input)": :has is not supported`},
		{Policy{MaskTextSelector: "p:contains(x)"}, `maskTextSelector: "p:contains(x)": :contains is not supported`},
		{Policy{MaskInputTypes: []string{"text", "pasword"}}, `maskInputTypes[1]: unknown input type "pasword"`},
		{Policy{Scrub: []string{"card", "iban"}}, `scrub[1]: unknown detector "iban"`},
		{Policy{ScrubPatterns: map[string]string{"ssn": `\d(`}}, `scrubPatterns.ssn: invalid regular expression`},
		{Policy{ScrubPatterns: map[string]string{"any": `x*`}}, `scrubPatterns.any: the expression matches the empty string`},
		{Policy{ScrubPatterns: map[string]string{"card": `x`}}, `scrubPatterns.card: the name is reserved`},
		{Policy{ScrubQueryParams: []string{" "}}, `scrubQueryParams[0]: empty name`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, err := tt.p.compile()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestPolicySiteJSONErrorIsPrefixed(t *testing.T) {
	_, err := LoadSites(strings.NewReader(`{"sites":[{"id":"a","privacy":{"maskTextSelector":"div[["}}]}`))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `privacy.maskTextSelector: invalid CSS selector "div[["`)
}

func TestPolicyJSON(t *testing.T) {
	sites, err := LoadSites(strings.NewReader(`{"sites":[{"id":"a","privacy":{"maskAllInputs":false,"maskInputTypes":["email"],
		"unmaskSelector":".pub","maskTextSelector":".m","blockSelector":".b","scrub":["card","ssn"],
		"scrubPatterns":{"ssn":"\\b\\d{3}-\\d{2}-\\d{4}\\b"},"scrubQueryParams":["token"]}}]}`))
	require.NoError(t, err)
	got := *sites["a"].Privacy
	assert.Equal(t, Policy{MaskInputTypes: []string{"email"}, UnmaskSelector: ".pub", MaskTextSelector: ".m", BlockSelector: ".b",
		Scrub: []string{"card", "ssn"}, ScrubPatterns: map[string]string{"ssn": `\b\d{3}-\d{2}-\d{4}\b`}, ScrubQueryParams: []string{"token"}}, got)
}

func TestPolicyDefaultIsStrict(t *testing.T) {
	p := DefaultPolicy()
	assert.True(t, p.MaskAllInputs)
	assert.Equal(t, "iframe, frame, object, embed, .rr-block", p.BlockSelector)
	assert.Contains(t, p.Scrub, "card")
	_, err := p.compile()
	require.NoError(t, err)
}

func TestPolicyRecordOptions(t *testing.T) {
	m, err := (&Policy{MaskInputTypes: []string{"email"}, MaskTextSelector: ".m", BlockSelector: "iframe"}).compile()
	require.NoError(t, err)
	opts := m.RecordOptions()
	assert.Equal(t, false, opts["maskAllInputs"])
	assert.Equal(t, map[string]bool{"password": true, "email": true}, opts["maskInputOptions"], "password is always masked by the browser too")
	assert.Equal(t, ".m", opts["maskTextSelector"])
	assert.Equal(t, "iframe", opts["blockSelector"])
	_, err = json.Marshal(opts)
	require.NoError(t, err)
}

func TestMaskHTML(t *testing.T) {
	p := &Policy{MaskAllInputs: true, MaskTextSelector: ".account .balance", BlockSelector: "iframe", Scrub: []string{"email"}, ScrubQueryParams: []string{"token"}}
	out, err := p.MaskHTML(`<div class="account"><p>Balance: <span class="balance">1 234,56 €</span></p>
		<input name="q" value="HtmlInputSecret"><textarea>HtmlAreaSecret</textarea>
		<iframe src="https://x.example/?HtmlFrameSecret"></iframe><a href="/r?token=HtmlTokenSecret&x=1">write to jane@example.com</a></div>`)
	require.NoError(t, err)
	for _, s := range []string{"1 234,56", "HtmlInputSecret", "HtmlAreaSecret", "HtmlFrameSecret", "HtmlTokenSecret", "jane@example.com"} {
		assert.NotContains(t, out, s)
	}
	assert.Contains(t, out, "Balance:")
	assert.Contains(t, out, `<span class="balance">* ****** *</span>`)
	assert.Contains(t, out, "token=***")
	_, err = (&Policy{BlockSelector: "[["}).MaskHTML("<p>x</p>")
	assert.ErrorContains(t, err, "blockSelector")
}

func TestMaskSiblingSelectorSurvivesRestart(t *testing.T) {
	env := newPrivEnv(t, &Policy{MaskTextSelector: "label.secret + span"})
	env.ingest(env.r, "w1", 0, pMeta, psnap(pel(10, "span", "", ptxt(11, "Plain span text"))))
	env.ingest(env.r, "w1", 1, pmut(`"texts":[],"attributes":[],"removes":[],"adds":[{"parentId":5,"nextId":10,"node":`+pel(20, "label", `"class":"secret"`)+`}]`))
	r := env.recorder() // the mirror is rebuilt from the stored chunks
	env.ingest(r, "w1", 2, pmut(`"texts":[{"id":11,"value":"RestartSiblingSecret"}],"attributes":[],"removes":[],"adds":[]`))
	assert.NotContains(t, env.stored(), "RestartSiblingSecret")
}

// TestMaskDataTableSelectKeepsTheMenu records a data-table page as rrweb
// does (a "Show N entries" menu, a search box, rows) under the default
// policy: the menu's labels and values replay, the user's choice does not.
func TestMaskDataTableSelectKeepsTheMenu(t *testing.T) {
	opt := func(id int, v string, selected bool) string {
		attrs := `"value":"` + v + `"`
		if selected {
			attrs += `,"selected":true`
		}
		return pel(id, "option", attrs, ptxt(id+1, v))
	}
	row := func(id int, name, office string) string {
		return pel(id, "tr", "", pel(id+1, "td", "", ptxt(id+2, name)), pel(id+3, "td", "", ptxt(id+4, office)))
	}
	env := newPrivEnv(t, DefaultPolicy())
	env.ingest(env.r, "w1", 0, pMeta, psnap(
		pel(10, "div", `"class":"dataTables_length"`, pel(11, "label", "", ptxt(12, "Show "),
			pel(13, "select", `"name":"example_length","aria-controls":"example","class":"form-select","value":"10"`,
				opt(20, "10", true), opt(22, "25", false), opt(24, "50", false), opt(26, "100", false)),
			ptxt(14, " entries"))),
		pel(30, "div", `"class":"dataTables_filter"`, pel(31, "label", "", ptxt(32, "Search:"), pel(33, "input", `"type":"search","aria-controls":"example"`))),
		pel(40, "table", `"id":"example"`, pel(41, "tbody", "", row(50, "Airi Satou", "Tokyo"), row(60, "Brielle Williamson", "New York"))),
	))
	// The user picks 50 entries and types a search; the table grows.
	env.ingest(env.r, "w1", 1,
		`{"type":3,"data":{"source":5,"text":"50","isChecked":false,"userTriggered":true,"id":13},"timestamp":1300}`,
		pmut(`"texts":[],"removes":[],"adds":[{"parentId":41,"nextId":null,"node":`+row(70, "Cedric Kelly", "Edinburgh")+`}],"attributes":[{"id":20,"attributes":{"selected":null}},{"id":24,"attributes":{"selected":""}},{"id":13,"attributes":{"value":"50"}}]`),
		pinput(33, "Kelly"))

	var events []struct {
		Type EventType      `json:"type"`
		Data map[string]any `json:"data"`
	}
	read := env.read()
	require.NoError(t, json.Unmarshal([]byte(read), &events))
	for _, label := range []string{`"textContent":"10"`, `"textContent":"25"`, `"textContent":"50"`, `"textContent":"100"`,
		`"value":"25"`, `"value":"100"`, "Show ", " entries", "Airi Satou", "Cedric Kelly"} {
		assert.Contains(t, read, label, "the menu and the page are kept")
	}
	assert.Contains(t, read, `"class":"form-select","value":"**"`, "the select's value is masked")
	assert.NotContains(t, read, `"selected":true`, "the default choice is not stored")
	assert.NotContains(t, read, `"selected":""`, "the user's choice is not stored")
	require.Len(t, events, 5) // by time: meta, snapshot, mutation, search, choice
	attrs := events[2].Data["attributes"].([]any)
	assert.Equal(t, map[string]any{"selected": nil}, attrs[1].(map[string]any)["attributes"], "selecting an option is stored as unselecting it")
	assert.Equal(t, "**", attrs[2].(map[string]any)["attributes"].(map[string]any)["value"])
	assert.Equal(t, "*****", events[3].Data["text"], "the search box is masked too")
	assert.Equal(t, "**", events[4].Data["text"], "the select's Input event is masked")
}
