// recorder.js records the page it runs on with rrweb and sends the events to a
// replay handler (package github.com/sessionreplay/replay/transport). A page
// needs one tag:
//
//   <script src="/replay/v1/recorder.js" data-site="demo" defer></script>
//
// data-endpoint="https://…/replay" overrides where the handler is mounted; by
// default it is this script's own URL without /v1/recorder.js. The wire format
// is the one of API.md. The only global this script defines is window.replay:
//
//   replay.event(tag, payload)    records a custom event (a rule can match it)
//   replay.identify(userId, attrs) attaches attrs.userId and attrs to the session
//   replay.flush()                 sends what is buffered now
//   replay.session                 the visit's id (read-only)
//   replay.recording               whether rrweb is recording this page now
//
// Plain modern JavaScript, no build step: read it top to bottom.
(() => {
  'use strict';
  if (window.replay) return; // loaded twice

  const IDLE_MS = 30 * 60 * 1000; // a visit ends after 30 minutes without events
  const BEACON_MAX = 60000; // sendBeacon and keepalive fetch share a 64 KiB budget in flight
  const MAX_QUEUE_BYTES = 16 << 20; // see enqueue
  const MAX_EARLY = 100; // custom events kept while rrweb loads
  const TEXT = 'text/plain;charset=UTF-8'; // a CORS-safelisted type: no preflight
  const ID_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-';

  const script = document.currentScript || document.querySelector('script[src*="/v1/recorder.js"]');
  const site = script && script.dataset.site;
  const base = script && new URL(script.dataset.endpoint || script.src.replace(/\/v1\/recorder\.js([?#].*)?$/, ''), location.href).href.replace(/\/$/, '');
  // ?site= lets the handler check the origin before it reads the body, so
  // even a refusal carries CORS headers this page can read.
  const ingestURL = base + '/v1/ingest?site=' + encodeURIComponent(site || '');

  // randomId returns n characters of [A-Za-z0-9_-] from the browser's CSPRNG.
  const randomId = (n) => Array.from(crypto.getRandomValues(new Uint8Array(n)), (b) => ID_CHARS[b & 63]).join('');

  // The session (visit) id lives in first-party localStorage, shared by the
  // site's tabs, so it survives page loads; it changes after IDLE_MS without
  // events. Each page load is a new window with its own seq counter.
  const storeKey = 'replay:' + site;
  const readSession = () => {
    try {
      const s = JSON.parse(localStorage.getItem(storeKey));
      if (s && /^[A-Za-z0-9_-]{8,64}$/.test(s.id) && Date.now() - s.at <= IDLE_MS) return s;
    } catch {} // storage disabled or garbage: start a new visit
    return null;
  };
  const writeSession = () => {
    try {
      localStorage.setItem(storeKey, JSON.stringify(session));
    } catch {}
  };
  let session = readSession() || { id: randomId(22), at: Date.now() };
  writeSession();
  let windowId = randomId(16);
  const seqs = new Map(); // window id -> next seq; a window's batches count from 0
  const nextSeq = (w) => {
    const n = seqs.get(w) || 0;
    seqs.set(w, n + 1);
    return n;
  };
  const attrs = {};

  let cfg = null; // the answer of /v1/config once recording
  let stopRecording = null; // rrweb's stop function while rrweb records
  let stopped = false; // told record:false (or refused): nothing more is recorded or sent
  let paused = false; // the queue is full: see enqueue
  let buffer = []; // JSON of events not yet in a batch
  let bufferBytes = 0;
  let lastTimestamp = 0; // of the last event buffered
  const queue = []; // batches not yet acknowledged, oldest first
  let queueBytes = 0;
  let inFlight = null; // the batch being POSTed (always queue[0])
  let retryTimer = 0;
  let flushTimer = 0;
  const early = []; // [tag, payload] recorded before rrweb started

  // custom records a custom event, or keeps it until rrweb runs.
  const custom = (tag, payload) => {
    if (stopped) return;
    if (stopRecording) window.rrweb.record.addCustomEvent(tag, payload);
    else if (early.length < MAX_EARLY) early.push([tag, payload]);
  };

  // Uncaught errors and unhandled rejections become $error custom events from
  // the start, before rrweb has loaded.
  addEventListener('error', (e) =>
    custom('$error', {
      message: String(e.message || (e.error && e.error.message) || 'error'),
      stack: String((e.error && e.error.stack) || ''),
      source: e.filename ? `${e.filename}:${e.lineno}:${e.colno}` : '',
    }),
  );
  addEventListener('unhandledrejection', (e) => {
    const r = e.reason;
    custom('$error', {
      message: r instanceof Error ? r.message : String(r),
      stack: String((r && r.stack) || ''),
      source: 'unhandledrejection',
    });
  });

  window.replay = Object.freeze({
    event(tag, payload) {
      if (typeof tag === 'string' && tag !== '') custom(tag, payload === undefined ? {} : payload);
    },
    identify(userId, more) {
      for (const [k, v] of Object.entries(more || {})) attrs[k] = String(v);
      if (userId != null) attrs.userId = String(userId);
    },
    flush() {
      flush();
    },
    get session() {
      return session.id;
    },
    get recording() {
      return !!stopRecording;
    },
  });

  // emit receives every rrweb event.
  function emit(event) {
    if (stopped) return;
    const now = Date.now();
    if (now - session.at > IDLE_MS && rotate(now)) {
      // The visit ended while the page stayed open: what is buffered belongs
      // to the old one; the new one starts with a fresh full snapshot, and
      // the event that woke us comes right after it (moved by the few ms
      // the snapshot took, so that the new visit replays on its own).
      flush();
      session = { id: session.next, at: now };
      windowId = randomId(16);
      writeSession();
      window.rrweb.record.takeFullSnapshot(true);
      if (event.timestamp < lastTimestamp) event = { ...event, timestamp: lastTimestamp };
    } else if (now - session.at > 5000) {
      session.at = now; // localStorage is written at most every 5 s
      writeSession();
    }
    lastTimestamp = event.timestamp;
    const json = JSON.stringify(event);
    buffer.push(json);
    bufferBytes += json.length + 1;
    if (bufferBytes >= cfg.maxBatchBytes) flush();
  }

  // rotate reports whether this window must move to another session id
  // (stored in session.next): the one another tab keeps alive, or a new one.
  function rotate(now) {
    const other = readSession();
    if (other && other.id === session.id) {
      session.at = now;
      return false;
    }
    session.next = other ? other.id : randomId(22);
    return true;
  }

  // flush turns the buffer into a batch and starts sending.
  function flush() {
    if (stopped || !buffer.length) return;
    batchBuffer();
    send();
  }

  // A batch takes its seq when it is first sent, not when it is made: a
  // batch that was never sent may still be cut into parts (for beacons, or
  // after a 413), and the parts then take consecutive seqs as they are
  // sent, in order. Once a request with its seq may have reached the
  // handler (batch.sent), a batch is only ever sent again whole, with the
  // same seq and the same events, which the handler stores once. So the
  // handler sees every seq of a window once, or the same (window, seq)
  // again with the same events: no gap, no event twice.
  function batchBuffer() {
    enqueue({ session: session.id, window: windowId, seq: null, sent: false, events: buffer, bytes: bufferBytes, attrs: { ...attrs }, tries: 0 });
    buffer = [];
    bufferBytes = 0;
  }

  // enqueue adds a batch to the send queue. The queue is bounded: when it
  // holds MAX_QUEUE_BYTES (the handler has been unreachable for a long time)
  // recording pauses. Nothing queued is dropped: the batches are still sent,
  // in order, and recording resumes with a fresh full snapshot once the
  // queue is empty again. What happens on the page meanwhile is not recorded.
  function enqueue(batch) {
    queue.push(batch);
    queueBytes += batch.bytes;
    if (queueBytes >= MAX_QUEUE_BYTES && stopRecording) {
      paused = true;
      stopRecording();
      stopRecording = null;
    }
  }

  function settle(batch) {
    const i = queue.indexOf(batch);
    if (i >= 0) {
      queue.splice(i, 1);
      queueBytes -= batch.bytes;
    }
  }

  const body = (b) =>
    `{"site":${JSON.stringify(site)},"session":"${b.session}","window":"${b.window}","seq":${b.seq},` +
    `"events":[${b.events.join(',')}],"attrs":${JSON.stringify(b.attrs)}}`;

  // seqOf returns the seq of a batch, giving it the window's next one if
  // it has none yet.
  const seqOf = (batch) => (batch.seq ??= nextSeq(batch.window));

  // part returns a batch of some events of batch, without a seq.
  const part = (batch, events) => ({ ...batch, seq: null, sent: false, events, bytes: events.reduce((n, json) => n + json.length + 1, 0), tries: 0 });

  // send POSTs the oldest batch, one at a time so batches arrive in order.
  // Network errors, 429 and 5xx are retried with exponential backoff (429
  // waits for Retry-After); a 413 on the first try halves the batch; a
  // batch is only given up when the handler refuses it for good (another
  // 4xx) or answers record:false.
  async function send() {
    if (inFlight || stopped || !queue.length) return;
    const batch = (inFlight = queue[0]);
    seqOf(batch);
    batch.abort = new AbortController(); // hide aborts a batch it beacons
    batch.keepalive = false;
    let wait = 0;
    try {
      const res = await post(batch);
      if (res.status === 429 || res.status === 408 || res.status >= 500) {
        wait = backoff(batch, res.headers.get('Retry-After'));
      } else if (res.status === 413 && batch.tries === 0 && batch.events.length > 1 && queue[0] === batch) {
        // Too big for the handler, which refused it before storing
        // anything; no earlier try can have been stored either (this was
        // the first), so the seq is still free: the first half keeps it,
        // the second takes the next one when it is sent.
        const half = Math.ceil(batch.events.length / 2);
        const first = { ...part(batch, batch.events.slice(0, half)), seq: batch.seq };
        queue.splice(0, 1, first, part(batch, batch.events.slice(half)));
      } else {
        const answer = res.ok ? await res.json().catch(() => ({})) : {};
        settle(batch);
        // Refused for good (4xx): nothing of it was stored, and on a first
        // try nothing with its seq ever was, so the seq goes to the next
        // batch when no later seq was given yet: no gap.
        if (!res.ok && batch.tries === 0 && seqs.get(batch.window) === batch.seq + 1) seqs.set(batch.window, batch.seq);
        if (res.status === 403 || answer.record === false) stop();
      }
    } catch {
      wait = backoff(batch, null); // offline, DNS, reset, or aborted by hide
    }
    if (!queue.includes(batch)) wait = 0; // settled, or handed to a beacon by hide
    inFlight = null;
    if (paused && !queue.length && !stopped) resume();
    if (wait) retryTimer = setTimeout(send, wait);
    else send();
  }

  // post sends one batch, gzipped when the browser can (?enc=gzip, because
  // Content-Encoding would need a preflight). Small bodies use keepalive so
  // they survive the page; keepalive is limited to 64 KiB.
  async function post(batch) {
    let data = body(batch);
    let url = ingestURL;
    if (window.CompressionStream) {
      const gz = new Blob([data]).stream().pipeThrough(new CompressionStream('gzip'));
      data = await new Response(gz).arrayBuffer();
      url += '&enc=gzip';
    }
    batch.abort.signal.throwIfAborted(); // beaconed by hide while it was compressed
    const blob = new Blob([data], { type: TEXT });
    batch.keepalive = blob.size <= BEACON_MAX;
    batch.sent = true;
    return fetch(url, { method: 'POST', body: blob, keepalive: batch.keepalive, credentials: 'omit', signal: batch.abort.signal });
  }

  // backoff returns how long to wait before the next try: Retry-After when
  // the handler gives it, else 1 s doubling up to a minute, with jitter.
  function backoff(batch, retryAfter) {
    batch.tries++;
    if (retryAfter) {
      const s = Number(retryAfter);
      const ms = Number.isNaN(s) ? Date.parse(retryAfter) - Date.now() : s * 1000;
      if (ms >= 0) return Math.min(ms, 10 * 60 * 1000) || 1;
    }
    return Math.min(60000, 1000 * 2 ** (batch.tries - 1)) * (0.5 + Math.random() / 2);
  }

  // hide runs when the page is hidden or goes away: what is waiting is
  // handed to navigator.sendBeacon, oldest first, which the browser delivers
  // after the page is gone. A beacon cannot be gzipped synchronously, and
  // the browser allows about 64 KiB in flight for all the beacons and
  // keepalive fetches of a page together, so a batch too big for one beacon
  // is cut into pieces, if it was never sent: the pieces take consecutive
  // seqs (see batchBuffer). A batch that was sent already goes whole, with
  // its seq, or not at all. At the first batch or piece that cannot go,
  // hide stops, so what arrives has no holes; the rest stays queued and is
  // sent by fetch if the page lives on, and is lost if it does not.
  // Flushing every flushIntervalMs keeps that rest small.
  function hide() {
    if (stopped || !cfg) return;
    if (buffer.length) batchBuffer();
    for (const batch of queue.slice()) {
      if (batch === inFlight && batch.keepalive) continue; // the browser completes it
      if (batch.sent && !fits(batch)) break; // only fetch can send it: keep it, and what follows, in order
      if (batch === inFlight) batch.abort.abort();
      const rest = beacon(batch);
      if (!rest) {
        settle(batch);
        continue;
      }
      if (rest !== batch) {
        queue[queue.indexOf(batch)] = rest;
        queueBytes += rest.bytes - batch.bytes;
      }
      break;
    }
    send();
  }

  const beaconBody = (b) => new Blob([body(b)], { type: TEXT });
  const fits = (b) => beaconBody(b).size <= BEACON_MAX;

  // beacon sends a batch as one or more beacons and returns what it could
  // not send (the batch itself, or a batch of its last events), or null.
  // Only a batch that was never sent is cut: its first piece takes its seq,
  // if it has one, and the others the next seqs, in order.
  function beacon(batch) {
    const sendBeacon = (b) => {
      const ok = navigator.sendBeacon(ingestURL, beaconBody(b));
      if (ok) b.sent = true;
      return ok;
    };
    if (fits(batch)) {
      seqOf(batch);
      return sendBeacon(batch) ? null : batch;
    }
    const enc = new TextEncoder();
    const sizes = batch.events.map((json) => enc.encode(json).length + 1);
    const overhead = 300 + enc.encode(JSON.stringify(batch.attrs)).length;
    let i = 0;
    let seq = batch.seq; // the seq of the next piece, if it has one already
    while (i < sizes.length) {
      let j = i;
      for (let size = overhead; j < sizes.length && size + sizes[j] <= BEACON_MAX; j++) size += sizes[j];
      if (j === i) break; // one event over the limit: it can only go by fetch
      const piece = { ...part(batch, batch.events.slice(i, j)), seq };
      seqOf(piece);
      seq = piece.seq;
      if (!sendBeacon(piece)) break; // the browser refused it: its seq was not sent
      seq = null;
      i = j;
    }
    if (i === sizes.length) return null;
    if (i === 0) return seq === batch.seq ? batch : { ...batch, seq };
    return { ...part(batch, batch.events.slice(i)), seq };
  }

  // stop ends recording and sending for good: the handler answered
  // record:false (the session was dropped or deleted) or refused the site.
  function stop() {
    stopped = true;
    early.length = 0;
    if (stopRecording) stopRecording();
    stopRecording = null;
    clearInterval(flushTimer);
    clearTimeout(retryTimer);
    queue.length = 0;
    buffer = [];
  }

  // record starts rrweb with the site's privacy options. The handler masks
  // again whatever the browser lets through; this only keeps protected
  // values from leaving the browser at all.
  function record() {
    const { unmaskSelector, ...privacy } = cfg.privacy || {};
    const passwords = new WeakSet(); // an input that was ever a password stays masked
    const plugin = window.rrwebPluginConsoleRecord;
    stopRecording = window.rrweb.record({
      emit,
      ...privacy,
      maskInputFn: (text, el) => {
        if (el && el.type === 'password') passwords.add(el);
        return unmaskSelector && !passwords.has(el) && within(el, unmaskSelector) ? text : '*'.repeat(text.length);
      },
      plugins: plugin ? [consolePlugin(plugin)] : [],
    });
    for (const [tag, payload] of early.splice(0)) custom(tag, payload);
  }

  // within reports whether el is inside (or is) an element matching
  // selector; a selector the browser cannot parse matches nothing.
  function within(el, selector) {
    try {
      return !!(el && el.closest && el.closest(selector));
    } catch {
      return false;
    }
  }

  // consolePlugin records console errors, warnings and failed asserts with
  // rrweb's console plugin. The plugin would also report uncaught errors,
  // which are $error events already: it gets a window that ignores its
  // listeners, so that each error is counted once.
  function consolePlugin(plugin) {
    const p = plugin.getRecordConsolePlugin({ level: ['error', 'warn', 'assert'], logger: console });
    const quiet = { addEventListener() {}, removeEventListener() {} };
    return { ...p, observer: (cb, _win, options) => p.observer(cb, quiet, options) };
  }

  function resume() {
    paused = false;
    record();
  }

  // $pageview custom events mark history navigation (the page load itself is
  // the Meta event rrweb records).
  let lastHref = location.href;
  function pageview() {
    if (location.href === lastHref) return;
    lastHref = location.href;
    custom('$pageview', { href: lastHref });
  }

  const load = (src) =>
    new Promise((resolve, reject) => {
      const s = document.createElement('script');
      s.src = src;
      s.onload = resolve;
      s.onerror = () => reject(new Error('replay: cannot load ' + src));
      document.head.appendChild(s);
    });

  // start asks the handler whether to record and, if so, starts; it
  // resolves to whether it did.
  async function start() {
    if (!site || !base) return false;
    const q = `site=${encodeURIComponent(site)}&session=${session.id}`;
    const res = await fetch(`${base}/v1/config?${q}`, { credentials: 'omit' });
    if (!res.ok) return false;
    const c = await res.json();
    if (!c.record || (!window.rrweb && !c.rrwebURL)) return false;
    // The URLs of the answer are the handler's: a relative one is resolved
    // against the URL of /v1/config, not against the page, which may be on
    // another origin. Absolute URLs stay as they are.
    const resolve = (u) => (u ? new URL(u, res.url || `${base}/v1/config`).href : u);
    c.rrwebURL = resolve(c.rrwebURL);
    c.consolePluginURL = resolve(c.consolePluginURL);
    c.flushIntervalMs = c.flushIntervalMs > 0 ? c.flushIntervalMs : 5000;
    c.maxBatchBytes = c.maxBatchBytes > 0 ? c.maxBatchBytes : 512 * 1024;
    if (!window.rrweb) await load(c.rrwebURL);
    if (c.consolePluginURL && !window.rrwebPluginConsoleRecord) await load(c.consolePluginURL).catch(() => {});
    cfg = c;
    for (const name of ['pushState', 'replaceState']) {
      const original = history[name];
      history[name] = function (...args) {
        const r = original.apply(this, args);
        pageview();
        return r;
      };
    }
    addEventListener('popstate', pageview);
    addEventListener('hashchange', pageview);
    addEventListener('pagehide', hide);
    document.addEventListener('visibilitychange', () => document.visibilityState === 'hidden' && hide());
    addEventListener('online', () => {
      clearTimeout(retryTimer);
      send();
    });
    record();
    flushTimer = setInterval(flush, c.flushIntervalMs);
    return true;
  }

  // A page that is not to be recorded, or whose handler cannot be reached,
  // is simply not recorded.
  start().then((recording) => recording || stop(), stop);
})();
