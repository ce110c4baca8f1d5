package replay

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sessionreplay/replay/internal/jsonx"
	"github.com/sessionreplay/replay/storage"
	"github.com/sessionreplay/replay/storage/memstore"
)

// Event builders for the targeting tests. t0 is an arbitrary session start.
const t0 = 1_718_000_000_000 // ms

const (
	uaIPhone  = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
	uaDesktop = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
	uaIPad    = "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)

func metaEv(ms int, href string) string {
	return fmt.Sprintf(`{"type":4,"data":{"href":%q,"width":1280,"height":720},"timestamp":%d}`, href, t0+ms)
}

func fullEv(ms int) string {
	return fmt.Sprintf(`{"type":2,"data":{"node":{"type":0,"childNodes":[{"type":1,"name":"html","publicId":"","systemId":"","id":2},`+
		`{"type":2,"tagName":"html","attributes":{},"childNodes":[{"type":2,"tagName":"head","attributes":{},"childNodes":[],"id":4},`+
		`{"type":2,"tagName":"body","attributes":{},"childNodes":[{"type":2,"tagName":"button","attributes":{},"childNodes":[],"id":6}],"id":5}],"id":3}],"id":1},`+
		`"initialOffset":{"left":0,"top":0}},"timestamp":%d}`, t0+ms)
}

func clickEv(ms int, x, y float64) string {
	return fmt.Sprintf(`{"type":3,"data":{"source":2,"type":2,"id":6,"x":%v,"y":%v,"pointerType":0},"timestamp":%d}`, x, y, t0+ms)
}

func moveEv(ms int) string {
	return fmt.Sprintf(`{"type":3,"data":{"source":1,"positions":[{"x":10,"y":20,"id":6,"timeOffset":0}]},"timestamp":%d}`, t0+ms)
}

func resizeEv(ms, w, h int) string {
	return fmt.Sprintf(`{"type":3,"data":{"source":4,"width":%d,"height":%d},"timestamp":%d}`, w, h, t0+ms)
}

func customEv(ms int, tag, payload string) string {
	return fmt.Sprintf(`{"type":5,"data":{"tag":%q,"payload":%s},"timestamp":%d}`, tag, payload, t0+ms)
}

func pageviewEv(ms int, href string) string {
	return customEv(ms, "$pageview", fmt.Sprintf(`{"href":%q}`, href))
}

func jsErrorEv(ms int, msg string) string {
	return customEv(ms, "$error", fmt.Sprintf(`{"message":%q,"stack":"at f (app.js:1:2)","source":"app.js"}`, msg))
}

func consoleErrEv(ms int, level, msg string) string {
	arg, _ := json.Marshal(msg) // the plugin JSON-encodes each argument into a string
	return fmt.Sprintf(`{"type":6,"data":{"plugin":"rrweb/console@1","payload":{"level":%q,"trace":[],"payload":[%q]}},"timestamp":%d}`,
		level, string(arg), t0+ms)
}

func mkBatch(t testing.TB, session, window string, seq int, events ...string) *Batch {
	t.Helper()
	body := fmt.Sprintf(`{"site":"shop","session":%q,"window":%q,"seq":%d,"events":[%s]}`,
		session, window, seq, strings.Join(events, ","))
	b, err := DecodeBatch([]byte(body))
	require.NoError(t, err)
	return b
}

func factsRecorder(t testing.TB) *Recorder {
	t.Helper()
	r, err := New(memstore.New(), StaticSites{}, nil)
	require.NoError(t, err)
	return r
}

// fold runs batches through updateFacts alone (no masking, no store).
func fold(r *Recorder, ua string, batches ...*Batch) storage.Session {
	s := storage.Session{ID: "sess-0001", Site: "shop", State: storage.StatePending}
	now := time.Unix(0, 0)
	for _, b := range batches {
		now = now.Add(time.Second)
		r.updateFacts(&s, loadFactState(&s), b, Client{UserAgent: ua}, now)
	}
	return s
}

func TestFactsOfOneVisit(t *testing.T) {
	r := factsRecorder(t)
	b := mkBatch(t, "sess-0001", "w1", 0,
		metaEv(0, "https://shop.example/?token=[scrubbed]"),
		fullEv(1),
		moveEv(100),
		clickEv(200, 10, 10), clickEv(400, 12, 11), clickEv(600, 15, 14), clickEv(700, 11, 10), // one burst of 4: one rage click
		clickEv(5000, 400, 400), // alone
		pageviewEv(6000, "https://shop.example/checkout"),
		pageviewEv(6001, "https://shop.example/checkout"), // the same page again: one run
		customEv(6500, "signup", `{"plan":"pro"}`),
		customEv(6600, "signup", `{}`),
		jsErrorEv(7000, "TypeError: x is undefined"),
		consoleErrEv(7100, "error", "Payment failed"),
		consoleErrEv(7200, "warn", "not an error"),
		resizeEv(8000, 390, 844),
		moveEv(30000), // 22 s after the previous input: that gap is not active
		moveEv(31000),
	)
	b.Attrs = map[string]string{"userId": "u-42", "plan": "pro"}
	s := fold(r, uaIPhone, b)

	assert.Equal(t, []string{"https://shop.example/?token=[scrubbed]", "https://shop.example/checkout"}, s.Pages)
	assert.Equal(t, "https://shop.example/?token=[scrubbed]", s.EntryURL)
	assert.Equal(t, 2, s.Errors)
	assert.Equal(t, []string{"TypeError: x is undefined", "Payment failed"}, s.ErrorMessages)
	assert.Equal(t, map[string]int{"signup": 2}, s.Events, "$pageview and $error feed pages and errors, not events")
	assert.Equal(t, 5, s.Clicks)
	assert.Equal(t, 1, s.RageClicks)
	assert.Equal(t, int64(31000), s.DurationMs)
	// Input at 100, 200, 400, 600, 700, 5000, 8000 (active: 7900 ms), then
	// 30000 and 31000 (1000 ms); the 22 s gap is left out.
	assert.Equal(t, int64(8900), s.ActiveMs)
	assert.Equal(t, storage.Viewport{W: 390, H: 844}, s.Viewport)
	assert.Equal(t, "mobile", s.Device)
	assert.Equal(t, "iOS", s.OS)
	assert.Equal(t, "Safari", s.Browser)
	assert.Equal(t, 1, s.Windows)
	assert.Equal(t, 18, s.EventCount)
	assert.Equal(t, int64(b.Bytes), s.Bytes)
	assert.Equal(t, map[string]string{"userId": "u-42", "plan": "pro"}, s.Attrs)
	assert.Equal(t, time.UnixMilli(t0), s.Start)
	assert.Equal(t, time.UnixMilli(t0+31000), s.End)
}

func TestFactsRageClicks(t *testing.T) {
	tests := []struct {
		name   string
		rc     RageClick
		clicks []string
		want   int
	}{
		{"three quick clicks in place", RageClick{}, []string{clickEv(0, 5, 5), clickEv(300, 6, 6), clickEv(600, 5, 7)}, 1},
		{"two are not enough", RageClick{}, []string{clickEv(0, 5, 5), clickEv(300, 6, 6)}, 0},
		{"a long burst counts once", RageClick{}, []string{clickEv(0, 5, 5), clickEv(100, 5, 5), clickEv(200, 5, 5),
			clickEv(300, 5, 5), clickEv(400, 5, 5), clickEv(500, 5, 5)}, 1},
		{"two bursts count twice", RageClick{}, []string{clickEv(0, 5, 5), clickEv(100, 5, 5), clickEv(200, 5, 5),
			clickEv(3000, 5, 5), clickEv(3100, 5, 5), clickEv(3200, 5, 5)}, 2},
		{"too slow", RageClick{}, []string{clickEv(0, 5, 5), clickEv(600, 5, 5), clickEv(1200, 5, 5)}, 0},
		{"too far apart", RageClick{}, []string{clickEv(0, 5, 5), clickEv(100, 50, 50), clickEv(200, 100, 100)}, 0},
		{"radius is configurable", RageClick{Radius: 100}, []string{clickEv(0, 5, 5), clickEv(100, 50, 50), clickEv(200, 70, 70)}, 1},
		{"count is configurable", RageClick{Count: 5}, []string{clickEv(0, 5, 5), clickEv(100, 5, 5), clickEv(200, 5, 5), clickEv(300, 5, 5)}, 0},
		{"window is configurable", RageClick{Window: 3 * time.Second}, []string{clickEv(0, 5, 5), clickEv(1000, 5, 5), clickEv(2000, 5, 5)}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := New(memstore.New(), StaticSites{}, &Options{RageClick: tt.rc})
			require.NoError(t, err)
			// One click per batch: the burst crosses batch boundaries.
			var bs []*Batch
			for i, c := range tt.clicks {
				bs = append(bs, mkBatch(t, "sess-0001", "w1", i, c))
			}
			s := fold(r, "", bs...)
			assert.Equal(t, tt.want, s.RageClicks)
			assert.Equal(t, len(tt.clicks), s.Clicks)
		})
	}
}

// twoWindows is a visit with two page loads whose events interleave in time.
func twoWindows() (a, b []string) {
	a = []string{
		metaEv(0, "https://shop.example/"), fullEv(1),
		moveEv(500), clickEv(1000, 5, 5), clickEv(1200, 5, 5), clickEv(1400, 6, 5),
		jsErrorEv(2000, "e1"), customEv(2100, "cart", `{}`),
		pageviewEv(9000, "https://shop.example/checkout"),
		consoleErrEv(9500, "error", "e4"),
		resizeEv(12000, 800, 600),
		jsErrorEv(20000, "e6"), jsErrorEv(20001, "e7"),
	}
	b = []string{
		metaEv(3000, "https://shop.example/product/1"), fullEv(3001),
		moveEv(3500), clickEv(4000, 100, 100),
		jsErrorEv(4500, "e2"), jsErrorEv(4600, "e3"),
		customEv(5000, "cart", `{}`),
		consoleErrEv(10000, "error", "e5"),
		resizeEv(11000, 1024, 768),
		moveEv(15000),
	}
	return a, b
}

func TestFactsDoNotDependOnBatchBoundariesOrWindowOrder(t *testing.T) {
	r := factsRecorder(t)
	a, b := twoWindows()
	whole := fold(r, uaDesktop, mkBatch(t, "sess-0001", "wa", 0, a...), mkBatch(t, "sess-0001", "wb", 0, b...))

	// The same events cut into batches of 1-3 events, window b sent first
	// and window a's batches after, as two tabs flushing at different times.
	var split []*Batch
	for _, w := range []struct {
		id  string
		evs []string
	}{{"wb", b}, {"wa", a}} {
		for i, seq := 0, 0; i < len(w.evs); seq++ {
			n := min(1+seq%3, len(w.evs)-i)
			split = append(split, mkBatch(t, "sess-0001", w.id, seq, w.evs[i:i+n]...))
			i += n
		}
	}
	parts := fold(r, uaDesktop, split...)

	assert.Equal(t, []string{"https://shop.example/", "https://shop.example/product/1", "https://shop.example/checkout"}, whole.Pages)
	assert.Equal(t, "https://shop.example/", whole.EntryURL)
	assert.Equal(t, 7, whole.Errors)
	assert.Equal(t, []string{"e1", "e2", "e3", "e4", "e5"}, whole.ErrorMessages, "the first five by timestamp")
	assert.Equal(t, 1, whole.RageClicks)
	assert.Equal(t, storage.Viewport{W: 800, H: 600}, whole.Viewport, "the latest by timestamp")

	normalize := func(s storage.Session) storage.Session {
		s.LastSeen, s.Opaque, s.Bytes = time.Time{}, nil, 0
		slices.Sort(s.WindowIDs)
		return s
	}
	assert.Equal(t, normalize(whole), normalize(parts))
}

func TestFactsBoundHostileInput(t *testing.T) {
	r := factsRecorder(t)
	var evs []string
	for i := range 3000 {
		evs = append(evs, metaEv(i, fmt.Sprintf("https://shop.example/p/%d", i)))
		evs = append(evs, customEv(i, fmt.Sprintf("tag-%d", i), `{}`))
		if i%10 == 0 {
			evs = append(evs, jsErrorEv(i, strings.Repeat("x", 10_000)))
		}
	}
	b := mkBatch(t, "sess-0001", "w1", 0, evs...)
	b.Attrs = map[string]string{}
	for i := range 500 {
		b.Attrs[fmt.Sprintf("k%03d", i)] = strings.Repeat("v", 5000)
	}
	s := fold(r, "", b)
	assert.Len(t, s.Pages, maxPages)
	assert.Len(t, s.Events, maxEventTags)
	assert.Equal(t, 300, s.Errors)
	assert.Len(t, s.ErrorMessages, maxErrorMessages)
	assert.LessOrEqual(t, len([]rune(s.ErrorMessages[0])), maxMessageRunes+1)
	assert.Len(t, s.Attrs, maxAttrs)
	assert.Less(t, len(s.Opaque), 64<<10, "state between batches stays small")
}

func TestFactsUserAgent(t *testing.T) {
	tests := []struct {
		ua                  string
		device, os, browser string
	}{
		{uaIPhone, "mobile", "iOS", "Safari"},
		{uaIPad, "tablet", "iOS", "Safari"},
		{uaDesktop, "desktop", "Linux", "Chrome"},
		{"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36", "mobile", "Android", "Chrome"},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0", "desktop", "Windows", "Firefox"},
		{"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "bot", "", "Googlebot"},
		{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.0.0 Safari/537.36", "bot", "Linux", "Headless Chrome"},
		{"", "", "", ""},
	}
	for _, tt := range tests {
		got := parseUserAgent(tt.ua)
		assert.Equal(t, clientFacts{tt.device, tt.os, tt.browser}, got, tt.ua)
	}
}

func TestFactsUserAgentIsReadOnce(t *testing.T) {
	r := factsRecorder(t)
	s := storage.Session{ID: "sess-0001", Site: "shop"}
	r.updateFacts(&s, loadFactState(&s), mkBatch(t, "sess-0001", "w1", 0, moveEv(0)), Client{UserAgent: uaIPhone}, time.Now())
	r.updateFacts(&s, loadFactState(&s), mkBatch(t, "sess-0001", "w1", 1, moveEv(1)), Client{UserAgent: uaDesktop}, time.Now())
	assert.Equal(t, "mobile", s.Device, "device is a start fact")
}

// TestFactsSeeMaskedValues ingests secrets in every place the facts read
// (page URLs, error messages): the session's facts hold them masked,
// since the facts read the events after masking.
func TestFactsSeeMaskedValues(t *testing.T) {
	env := newPrivEnv(t, &Policy{MaskAllInputs: true, Scrub: []string{"card"}, ScrubQueryParams: []string{"token"}})
	env.ingest(env.r, "w1", 0,
		metaEv(0, "https://shop.example/reset?token=MetaTokenSecret"),
		pageviewEv(1, "https://shop.example/next?token=PageviewSecret"),
		jsErrorEv(2, "charge 4111 1111 1111 1111 declined"),
		consoleErrEv(3, "error", "card 5555-5555-5555-4444 refused"),
	)
	s, err := env.r.Session(context.Background(), "shop", privSession)
	require.NoError(t, err)
	facts, err := json.Marshal(s)
	require.NoError(t, err)
	for _, secret := range []string{"MetaTokenSecret", "PageviewSecret", "4111 1111 1111 1111", "5555-5555-5555-4444"} {
		assert.NotContains(t, string(facts), secret)
	}
	assert.Equal(t, []string{"https://shop.example/reset?token=***", "https://shop.example/next?token=***"}, s.Pages)
	assert.Len(t, s.ErrorMessages, 2)
	assert.Contains(t, s.ErrorMessages[0], "declined")
}

// TestFactsReadTheTree shows the facts read an event's decoded tree, which
// masking rewrites in place, over its Data.
func TestFactsReadTheTree(t *testing.T) {
	r := factsRecorder(t)
	b := mkBatch(t, "sess-0001", "w1", 0,
		metaEv(0, "https://shop.example/?token=RawSecret"),
		pageviewEv(1, "https://shop.example/next?token=RawSecret"),
		resizeEv(2, 390, 844),
	)
	require.NoError(t, b.Validate())
	for i := range b.Events {
		require.NotNil(t, b.Events[i].tree, "Validate keeps the decoded data")
	}
	b.Events[0].tree.Set("href", "https://shop.example/?token=***")
	b.Events[1].tree.Get("payload").(*jsonx.Object).Set("href", "https://shop.example/next?token=***")
	b.Events[2].tree.Set("width", json.Number("100"))
	s := fold(r, uaIPhone, b)
	assert.Equal(t, []string{"https://shop.example/?token=***", "https://shop.example/next?token=***"}, s.Pages)
	assert.Equal(t, storage.Viewport{W: 100, H: 844}, s.Viewport)
}
