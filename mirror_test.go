package replay

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionreplay/replay/internal/privacy"
	"github.com/sessionreplay/replay/storage"
)

func TestMirrorWindowsAreIsolated(t *testing.T) {
	env := newPrivEnv(t, &Policy{})
	env.ingest(env.r, "wa", 0, pMeta, psnap(pel(10, "input", `"type":"password"`)), pinput(10, "WindowASecret"))
	env.ingest(env.r, "wb", 0, pMeta, psnap(pel(10, "input", `"type":"search"`)), pinput(10, "window b query"))
	stored := env.stored()
	assert.NotContains(t, stored, "WindowASecret")
	assert.Contains(t, stored, "window b query", "the same id in another window is another node")
}

func TestMirrorFullSnapshotReplacesIt(t *testing.T) {
	env := newPrivEnv(t, &Policy{MaskTextSelector: ".private"})
	env.ingest(env.r, "w1", 0, pMeta, psnap(pel(10, "p", `"class":"private"`, ptxt(11, "x")), pel(12, "input", `"type":"password"`)))
	// A checkout: the paragraph is no longer private, the password field was toggled to text.
	env.ingest(env.r, "w1", 1, pMeta, psnap(pel(10, "p", "", ptxt(11, "y")), pel(12, "input", `"type":"text"`)),
		pmut(`"texts":[{"id":11,"value":"Now public text"}],"removes":[],"adds":[],"attributes":[]`),
		pinput(12, "EverPasswordSecret"))
	stored := env.stored()
	assert.Contains(t, stored, "Now public text")
	assert.NotContains(t, stored, "EverPasswordSecret", "an input that was a password stays masked across snapshots")
}

func TestMirrorRebuiltAfterRestart(t *testing.T) {
	batches := [][]string{
		{pMeta, psnap(pel(10, "div", `"class":"account"`, pel(11, "span", `"class":"balance"`, ptxt(12, "1"))), pel(20, "input", `"type":"password"`),
			pel(30, "div", "", pel(31, "span", `"class":"balance"`, ptxt(32, "2"))))},
		{pmut(`"texts":[],"removes":[],"adds":[],"attributes":[{"id":20,"attributes":{"type":"text"}},{"id":30,"attributes":{"class":"account"}}]`)},
		{pinput(20, "RestartPwSecret"), pmut(`"texts":[{"id":32,"value":"RestartBalanceSecret"},{"id":12,"value":"OtherBalanceSecret"}],"removes":[],"adds":[],"attributes":[]`)},
	}
	p := &Policy{MaskTextSelector: ".account .balance"}
	one := newPrivEnv(t, p)
	for seq, b := range batches {
		one.ingest(one.r, "w1", seq, b...)
	}
	restarted := newPrivEnv(t, p)
	for seq, b := range batches {
		restarted.ingest(restarted.recorder(), "w1", seq, b...) // a new process for every batch
	}
	for _, s := range []string{"RestartPwSecret", "RestartBalanceSecret", "OtherBalanceSecret"} {
		assert.NotContains(t, restarted.stored(), s)
	}
	assertSameBytes(t, one.stored(), restarted.stored(), "a rebuilt mirror masks as the live one")
}

func TestMirrorGapFailsClosed(t *testing.T) {
	env := newPrivEnv(t, &Policy{})
	env.ingest(env.r, "w1", 0, pMeta, psnap(pel(10, "form", "")))
	// Batch 1 (adding input 11 and a text) never arrives; batch 2 uses both.
	env.ingest(env.r, "w1", 2, pinput(11, "GapInputSecret"),
		pmut(`"texts":[{"id":13,"value":"GapTextSecret"}],"removes":[],"adds":[{"parentId":12,"nextId":null,"node":{"type":3,"textContent":"GapAddSecret","id":14}}],"attributes":[]`))
	stored := env.stored()
	for _, s := range []string{"GapInputSecret", "GapTextSecret", "GapAddSecret"} {
		assert.NotContains(t, stored, s)
	}
}

// TestMirrorOutOfOrderFailsClosed is the order recorder.js can produce: a
// pagehide beacon (seq 2) overtakes a keepalive fetch (seq 1) that made a
// node private. Seq 2 is masked failing closed whole; after seq 1 arrives
// the next batch is masked by a complete mirror again.
func TestMirrorOutOfOrderFailsClosed(t *testing.T) {
	batches := map[int][]string{
		0: {pMeta, psnap(pel(10, "div", `"class":"box"`, pel(11, "p", "", ptxt(12, "Visible before"))), pel(13, "input", `"type":"text"`),
			pel(20, "p", "", ptxt(21, "Public copy")), pel(22, "input", `"type":"checkbox"`))},
		1: {pmut(`"texts":[],"removes":[],"adds":[],"attributes":[{"id":10,"attributes":{"class":"box private"}}]`)},
		2: {pmut(`"texts":[{"id":12,"value":"ProbeTextSecret"},{"id":21,"value":"ProbeOtherText"}],"removes":[],` +
			`"adds":[{"parentId":11,"nextId":null,"node":{"type":3,"textContent":"ProbeAddSecret","id":14}},{"parentId":5,"nextId":null,"node":` +
			pel(30, "img", `"alt":"ProbeAltSecret","src":"/pic.png","rr_width":"10px"`) + `}],` +
			`"attributes":[{"id":10,"attributes":{"title":"ProbeTitleSecret"}},{"id":13,"attributes":{"value":"ProbeValueSecret"}}]`),
			pinput(13, "ProbeInputSecret"), `{"type":3,"data":{"source":5,"text":"on","isChecked":true,"id":22},"timestamp":1300}`},
		3: {pmut(`"texts":[{"id":12,"value":"HealedPrivateSecret"},{"id":21,"value":"Healed public text"}],"removes":[],"adds":[],"attributes":[]`)},
	}
	p := &Policy{MaskTextSelector: ".private"}
	for _, restart := range []bool{false, true} {
		env := newPrivEnv(t, p)
		for _, seq := range []int{0, 2, 1, 3} {
			r := env.r
			if restart {
				r = env.recorder()
			}
			env.ingest(r, "w1", seq, batches[seq]...)
		}
		stored := env.stored()
		for _, s := range []string{"ProbeTextSecret", "ProbeOtherText", "ProbeAddSecret", "ProbeAltSecret", "ProbeTitleSecret",
			"ProbeValueSecret", "ProbeInputSecret", `"isChecked":true`, "HealedPrivateSecret"} {
			assert.NotContains(t, stored, s, "restart %v", restart)
		}
		for _, s := range []string{"Visible before", `"src":"/pic.png"`, `"rr_width":"10px"`, `"id":14`, `"isChecked":false`, "Healed public text"} {
			assert.Contains(t, stored, s, "structure and later public text are kept (restart %v)", restart)
		}
	}
}

// TestMirrorGapStaysClosed: while a batch is missing, every later batch of
// the window fails closed, whether its mirror was cached or rebuilt.
func TestMirrorGapStaysClosed(t *testing.T) {
	for _, restart := range []bool{false, true} {
		env := newPrivEnv(t, &Policy{})
		env.ingest(env.r, "w1", 0, pMeta, psnap(pel(10, "p", "", ptxt(11, "Before the gap"))))
		for seq := 2; seq <= 3; seq++ {
			r := env.r
			if restart {
				r = env.recorder()
			}
			env.ingest(r, "w1", seq, pmut(fmt.Sprintf(`"texts":[{"id":11,"value":"GapText%dSecret"}],"removes":[],"adds":[],"attributes":[]`, seq)))
		}
		stored := env.stored()
		assert.Contains(t, stored, "Before the gap")
		assert.NotContains(t, stored, "GapText2Secret")
		assert.NotContains(t, stored, "GapText3Secret")
	}
}

// TestMirrorRecoversAtTheNextFullSnapshot: after a lost batch, a window is
// masked in full only until its next FullSnapshot; from there masking is
// normal again, whether the mirror was cached, rebuilt from the stored
// chunks after a restart, or rebuilt by another process that never saw the
// window; and the lost batch arriving late changes nothing.
func TestMirrorRecoversAtTheNextFullSnapshot(t *testing.T) {
	p := &Policy{MaskTextSelector: ".private"}
	page := psnap(pel(10, "p", "", ptxt(11, "Before the gap")), pel(12, "p", `"class":"private"`, ptxt(13, "x")), pel(14, "input", `"type":"text"`))
	text := func(id int, s string) string {
		return pmut(fmt.Sprintf(`"texts":[{"id":%d,"value":%q}],"removes":[],"adds":[],"attributes":[]`, id, s))
	}
	batches := map[int][]string{
		0: {pMeta, page},
		1: {text(11, "LostBatchText")}, // lost, or late
		2: {text(11, "ClosedBeforeSnapshotSecret"), pinput(14, "ClosedInputSecret"), pMeta, page,
			text(11, "Recovered in the same batch"), text(13, "PrivateAfterRecoverySecret"), pinput(14, "Typed after recovery")},
		3: {text(11, "Recovered next batch"), text(13, "PrivateNextBatchSecret")},
		4: {text(11, "Recovered after a rebuild"), text(13, "PrivateAfterRebuildSecret")},
	}
	for _, mode := range []string{"cached", "restart", "late batch"} {
		t.Run(mode, func(t *testing.T) {
			env := newPrivEnv(t, p)
			order := []int{0, 2, 3, 4}
			if mode == "late batch" {
				order = []int{0, 2, 1, 3, 4}
			}
			for _, seq := range order {
				r := env.r
				if mode == "restart" {
					r = env.recorder()
				}
				env.ingest(r, "w1", seq, batches[seq]...)
			}
			stored := env.stored()
			for _, s := range []string{"ClosedBeforeSnapshotSecret", "ClosedInputSecret", "PrivateAfterRecoverySecret", "PrivateNextBatchSecret", "PrivateAfterRebuildSecret"} {
				assert.NotContains(t, stored, s)
			}
			for _, s := range []string{"Before the gap", "Recovered in the same batch", "Typed after recovery", "Recovered next batch", "Recovered after a rebuild"} {
				assert.Contains(t, stored, s, "masking is normal again after the full snapshot")
			}
			assert.NotContains(t, stored[strings.LastIndex(stored, "Recovered in the same batch"):], `"rr_mask":"x"`, "nothing after the snapshot is marked unsure")
		})
	}
}

// TestMirrorLateBatchUsesOnlyTheChunksBelowIt: a batch below what the
// cached mirror has applied is masked by a mirror of the chunks below it,
// neither by the cached one nor failing closed.
func TestMirrorLateBatchUsesOnlyTheChunksBelowIt(t *testing.T) {
	env := newPrivEnv(t, &Policy{MaskTextSelector: ".private"})
	env.ingest(env.r, "w1", 0, pMeta, psnap(pel(10, "p", `"class":"private"`, ptxt(11, "x")), pel(20, "p", "", ptxt(21, "y"))))
	env.ingest(env.r, "w1", 2, pMeta, psnap(pel(10, "p", "", ptxt(11, "x")), pel(20, "p", `"class":"private"`, ptxt(21, "y"))))
	env.ingest(env.r, "w1", 1, pmut(`"texts":[{"id":11,"value":"LateSecret"},{"id":21,"value":"Late public text"}],"removes":[],"adds":[],"attributes":[]`))
	stored := env.stored()
	assert.NotContains(t, stored, "LateSecret")
	assert.Contains(t, stored, "Late public text")
}

func TestMirrorRetryUsesTheStateBeforeIt(t *testing.T) {
	env := newPrivEnv(t, &Policy{MaskTextSelector: ".private"})
	env.ingest(env.r, "w1", 0, pMeta, psnap(pel(10, "p", `"class":"private"`, ptxt(11, "x"))))
	env.ingest(env.r, "w1", 1, pmut(`"texts":[{"id":11,"value":"RetrySecret"}],"removes":[],"adds":[],"attributes":[]`))
	before := env.stored()
	env.ingest(env.r, "w1", 1, pmut(`"texts":[{"id":11,"value":"RetrySecret"}],"removes":[],"adds":[],"attributes":[]`))
	env.ingest(env.r, "w1", 2, pmut(`"texts":[{"id":11,"value":"AfterRetrySecret"}],"removes":[],"adds":[],"attributes":[]`))
	stored := env.stored()
	assert.Contains(t, stored, before[:len(before)-1], "a retry stores nothing twice")
	assert.NotContains(t, stored, "RetrySecret")
}

func TestMirrorCacheIsBounded(t *testing.T) {
	c := newMirrorCache(2)
	for _, w := range []string{"a", "b", "c"} {
		c.put(&windowState{key: mirrorKey{"s", "sess-0001", w}, mr: privacy.NewMirror()})
	}
	assert.Nil(t, c.take(mirrorKey{"s", "sess-0001", "a"}), "the least recently used is evicted")
	assert.NotNil(t, c.take(mirrorKey{"s", "sess-0001", "c"}))
	c.put(&windowState{key: mirrorKey{"s", "sess-0002", "a"}, mr: privacy.NewMirror()})
	c.forget(storage.Key{Site: "s", Session: "sess-0001"})
	assert.Nil(t, c.take(mirrorKey{"s", "sess-0001", "b"}))
	assert.NotNil(t, c.take(mirrorKey{"s", "sess-0002", "a"}), "forget leaves other sessions alone")
}

func TestMirrorStoreErrorIsReturned(t *testing.T) {
	env := newPrivEnv(t, DefaultPolicy())
	env.ingest(env.r, "w1", 0, pMeta, psnap())
	r, err := New(failingChunks{env.store}, env.sites, nil)
	require.NoError(t, err)
	b, err := DecodeBatch([]byte(`{"site":"shop","session":"` + privSession + `","window":"w1","seq":1,"events":[]}`))
	require.NoError(t, err)
	_, err = r.Ingest(context.Background(), b, Client{})
	assert.ErrorIs(t, err, storage.ErrUnavailable)
	assert.ErrorContains(t, err, "rebuild privacy mirror")
}

type failingChunks struct{ storage.Store }

func (f failingChunks) Chunks(context.Context, storage.Key, string) iter.Seq2[storage.Chunk, error] {
	return func(yield func(storage.Chunk, error) bool) { yield(storage.Chunk{}, storage.ErrUnavailable) }
}

// mirrorOf masks events with a fresh mirror and returns it.
func mirrorOf(t testing.TB, p *Policy, events []Event) *privacy.Mirror {
	m, err := p.compile()
	require.NoError(t, err)
	mr := privacy.NewMirror()
	_, _, err = mr.MaskBatch(m, privacyEvents(events), false)
	require.NoError(t, err)
	return mr
}

func genEvents(t testing.TB, nodes int) []Event {
	g := newDomGen(42)
	g.grow(nodes)
	var events []Event
	for _, s := range append(g.snapshot(), g.batch(200)...) {
		var e Event
		require.NoError(t, json.Unmarshal([]byte(s), &e))
		events = append(events, e)
	}
	return events
}

func recordingEvents(t testing.TB, name string) []Event {
	data, err := os.ReadFile("testdata/recordings/" + name)
	if err != nil {
		t.Skipf("no recording %s: %v", name, err)
	}
	var events []Event
	require.NoError(t, json.Unmarshal(data, &events))
	return events
}

// TestMirrorBytesPerNode checks the mirror's own estimate of its size on a
// synthetic page and on a recorded catalog page; BenchmarkMirror measures
// the heap.
func TestMirrorBytesPerNode(t *testing.T) {
	// Nothing blocked, so that every generated node is in the mirror.
	p := &Policy{MaskAllInputs: true, MaskTextSelector: ".pii, .account .balance"}
	for name, events := range map[string][]Event{
		"synthetic 2000 nodes": genEvents(t, 2000),
		"catalog recording":    recordingEvents(t, "catalog.json"),
	} {
		mr := mirrorOf(t, p, events)
		perNode := float64(mr.Bytes()) / float64(mr.Len())
		t.Logf("%s: %d nodes, %.1f B/node", name, mr.Len(), perNode)
		assert.Less(t, perNode, 100.0, name)
	}
}

// TestMirrorFailsClosedPastTheSiblingCap: an element added beside more
// siblings than the mirror follows for a sibling selector (1024, see
// internal/privacy) has its text masked in what is stored.
func TestMirrorFailsClosedPastTheSiblingCap(t *testing.T) {
	const maxSiblings = 1024
	env := newPrivEnv(t, &Policy{MaskTextSelector: "li:nth-child(2)", UnmaskSelector: "ul"})
	var items []string
	for i := range maxSiblings + 1 {
		items = append(items, pel(100+i, "li", ""))
	}
	env.ingest(env.r, "w1", 0, pMeta, psnap(pel(10, "ul", "", items...)))
	env.ingest(env.r, "w1", 1, pmut(`"texts":[],"removes":[],"attributes":[],"adds":[{"parentId":10,"nextId":null,"node":{"type":2,"tagName":"li","attributes":{},"childNodes":[],"id":50000}},{"parentId":50000,"nextId":null,"node":{"type":3,"textContent":"SiblingCapSecret","id":50001}}]`))
	assert.NotContains(t, env.stored(), "SiblingCapSecret")
}
