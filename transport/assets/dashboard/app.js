// The replay dashboard: sign-in, the session list with its filters, and the
// player. Plain modern JavaScript, no build step, no framework.
//
// Routes (the dashboard works under any mount prefix: every URL is relative):
//
//	?site=S&<filters>                  the session list; filters as in API.md (and limit, the page size)
//	?site=S&<filters>#/session/ID      the player ("&window=W" after the id: one page load;
//	                                   "&t=83.2" last: open at that moment, in seconds, clamped)
//
// Security. Everything recorded is hostile: page contents, URLs, titles,
// error messages, custom event tags and payloads, attributes. The recording
// itself is replayed only by rrweb-player, inside rrweb's sandboxed iframe
// (sandbox="allow-same-origin": no script runs there). Recorded strings that
// the dashboard shows in its own page are always inserted as text
// (textContent, text nodes, title attributes), never as HTML, and recorded
// URLs are shown as text, never as links: the only links the dashboard makes
// point at its own routes, and el() refuses any other href.
'use strict';

const TOKEN_KEY = 'replay.token';
const SITE_KEY = 'replay.site';
const PAGE_SIZE = 50;

// The filters of the read API, in the order the filter bar shows them.
const FILTERS = ['from', 'to', 'device', 'os', 'browser', 'url', 'error', 'event', 'rule', 'minDuration', 'user', 'state'];

// Marker colours on the player's timeline, by custom event tag.
const TAG_COLOURS = {
  $error: '#d93025',
  $pageview: '#1e8e3e',
  $pageload: '#137333',
};
const DEFAULT_TAG_COLOUR = '#5b5fc7';

const app = {
  token: sessionStorage.getItem(TOKEN_KEY) || '',
  site: 'demo',
  list: null, // {key, sessions, next, scroll}: the last list shown, for a quick way back
  player: null, // {instance, resize, abort}: the player shown, destroyed on leave
  config: null, // a promise of v1/dashboard-config
  playerClass: null, // a promise of the rrweb-player constructor
  routeKey: '',
  overview: null, // {key, data}: the last overview drawn
};

// ---- DOM helpers -------------------------------------------------------

// el creates an element. props: class, text, on<event> listeners, and
// attributes. Children are nodes or strings; strings become text nodes,
// never HTML. An href must be one of the dashboard's own routes ("#..." or
// "?..."): recorded URLs never become links.
function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v == null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
    else if (k === 'value' || k === 'checked' || k === 'disabled') node[k] = v;
    else if (k === 'href') {
      if (!/^[#?]/.test(v)) throw new Error('el: refusing a link that is not a dashboard route');
      node.setAttribute('href', v);
    } else node.setAttribute(k, v === true ? '' : String(v));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const c of children.flat(Infinity)) {
    if (c == null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function clear(node) {
  node.replaceChildren();
  return node;
}

const $ = (sel) => document.querySelector(sel);

// ---- Formatting --------------------------------------------------------

const dateTimeFmt = new Intl.DateTimeFormat(undefined, {
  month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false,
});
const fullDateFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

function fmtDate(s, full) {
  const d = new Date(s);
  if (!s || isNaN(d) || d.getFullYear() < 1971) return '—';
  return (full ? fullDateFmt : dateTimeFmt).format(d);
}

function fmtAgo(s) {
  const ms = Date.now() - new Date(s).getTime();
  if (!(ms >= 0)) return '';
  if (ms < 60e3) return 'just now';
  if (ms < 3600e3) return `${Math.floor(ms / 60e3)} min ago`;
  if (ms < 86400e3) return `${Math.floor(ms / 3600e3)} h ago`;
  return `${Math.floor(ms / 86400e3)} d ago`;
}

function fmtDuration(ms) {
  ms = Math.max(0, Math.round(ms || 0));
  if (ms < 1000) return `${ms} ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

// fmtClock formats a player offset as m:ss.
function fmtClock(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

function fmtBytes(n) {
  n = n || 0;
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many || one + 's'}`;
}

// shorten cuts a string for display; the whole string goes in a title.
function shorten(s, max) {
  s = String(s ?? '');
  return s.length > max ? s.slice(0, max - 1) + '…' : s;
}

// preview renders any recorded value as short text.
function preview(v, max = 160) {
  if (v == null) return '';
  if (typeof v === 'string') return shorten(v, max);
  try {
    return shorten(JSON.stringify(v), max);
  } catch {
    return '';
  }
}

// ---- API ---------------------------------------------------------------

class AuthError extends Error {}

// api fetches a path of the read API (relative to the dashboard) as JSON.
async function api(path, signal) {
  let res;
  try {
    res = await fetch(path, {
      headers: { Authorization: `Bearer ${app.token}`, Accept: 'application/json' },
      cache: 'no-store',
      signal,
    });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new Error(`The server could not be reached (${err.message}).`);
  }
  if (res.ok) return res.json();
  let msg = '';
  try {
    msg = (await res.json()).error || '';
  } catch {
    // not JSON: keep the status line
  }
  const text = `${res.status} ${res.statusText}${msg ? ': ' + msg : ''}`;
  if (res.status === 401) throw new AuthError(text); // 403 is not about the token: an unknown site, a read API turned off
  throw new Error(text);
}

function sitePath(rest) {
  return `v1/sites/${encodeURIComponent(app.site)}/${rest}`;
}

// dashboardConfig returns the asset URLs the server configured.
function dashboardConfig() {
  app.config ??= fetch('v1/dashboard-config', { cache: 'no-store' }).then((res) => {
    if (!res.ok) throw new Error(`v1/dashboard-config: ${res.status} ${res.statusText}`);
    return res.json();
  });
  app.config.catch(() => { app.config = null; });
  return app.config;
}

// loadPlayerClass loads rrweb-player (its script and style sheet, from the
// URLs of v1/dashboard-config) once, and returns its constructor.
function loadPlayerClass() {
  app.playerClass ??= (async () => {
    const cfg = await dashboardConfig();
    const js = cfg.rrwebPlayerURL;
    const css = cfg.rrwebPlayerCSSURL;
    if (!js) throw new Error('v1/dashboard-config names no rrwebPlayerURL');
    if (css) {
      const link = document.createElement('link');
      link.rel = 'stylesheet';
      link.href = css; // from the server's configuration, not from a recording
      document.head.append(link);
    }
    if (!window.rrwebPlayer) {
      await new Promise((resolve, reject) => {
        const s = document.createElement('script');
        s.src = js;
        s.onload = resolve;
        s.onerror = () => reject(new Error(`rrweb-player could not be loaded from ${js}`));
        document.head.append(s);
      });
    }
    const lib = window.rrwebPlayer;
    const Player = lib && (lib.Player || lib.default || (typeof lib === 'function' ? lib : null));
    if (!Player) throw new Error(`${js} did not define rrwebPlayer`);
    return Player;
  })();
  app.playerClass.catch(() => { app.playerClass = null; });
  return app.playerClass;
}

// ---- Routing -----------------------------------------------------------

function currentParams() {
  return new URLSearchParams(location.search);
}

function route() {
  const params = currentParams();
  app.site = params.get('site') || sessionStorage.getItem(SITE_KEY) || 'demo';
  const [hash, moment] = splitMoment(location.hash);
  const key = location.search + hash + '|' + app.token;
  if (key === app.routeKey) {
    if (moment != null) app.player?.seek?.(moment); // the same replay, another moment
    return;
  }
  app.routeKey = key;
  leavePlayer();
  renderHeader();
  if (!app.token) return renderSignIn();
  const m = hash.match(/^#\/session\/([A-Za-z0-9_-]{1,64})(?:&window=([A-Za-z0-9_-]{1,64}))?$/);
  if (m) return renderPlayer(m[1], m[2] || '', moment);
  return renderList();
}

// splitMoment splits "&t=SECONDS" off the end of a player's hash. It
// returns the hash without it and the moment in milliseconds: null when
// there is none, 0 for a value that is not a number (a forged link). The
// player clamps it to the recording.
function splitMoment(hash) {
  const m = hash.match(/^(#\/session\/[^&]*(?:&window=[^&]*)?)&t=([^&]{0,40})$/);
  if (!m) return [hash, null];
  let raw = '';
  try {
    raw = decodeURIComponent(m[2]);
  } catch {
    // not percent-encoded text: no moment
  }
  const s = Number(raw);
  return [m[1], Number.isNaN(s) ? 0 : s * 1000];
}

// clampMoment bounds a moment (ms from the start) to a recording of total ms.
function clampMoment(ms, total) {
  return Math.min(Math.max(0, Number.isFinite(ms) ? ms : ms > 0 ? total : 0), total);
}

// momentHash returns the hash of the player at ms from the start.
function momentHash(ms) {
  const [hash] = splitMoment(location.hash);
  return `${hash}&t=${(Math.max(0, ms) / 1000).toFixed(1)}`;
}

// navigate changes the URL's query (filters, site) and shows it.
function navigate(params, hash = '') {
  const q = params.toString();
  history.pushState(null, '', (q ? `?${q}` : location.pathname) + hash);
  route();
}

function listHref() {
  return location.search ? location.search : '?';
}

function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  app.token = '';
  app.list = null;
  app.routeKey = '';
  route();
  if (message) showSignInMessage(message);
}

// ---- Header ------------------------------------------------------------

function renderHeader() {
  const header = clear($('#header'));
  const siteForm = el('form', { class: 'site-form', onsubmit: (e) => {
    e.preventDefault();
    const site = siteForm.elements.site.value.trim();
    if (!site) return;
    sessionStorage.setItem(SITE_KEY, site);
    app.list = null;
    navigate(new URLSearchParams({ site }));
  } },
  el('label', { for: 'site-input' }, 'Site'),
  el('input', { id: 'site-input', name: 'site', value: app.site, size: 10, autocomplete: 'off', spellcheck: 'false', pattern: '[A-Za-z0-9_\\-]{1,64}', title: 'Site id' }),
  el('button', { type: 'submit', class: 'ghost' }, 'Switch'));
  append(header, [
    el('a', { class: 'brand', href: `?site=${encodeURIComponent(app.site)}` }, el('span', { class: 'logo', 'aria-hidden': 'true' }, '▶'), 'Session replay'),
    app.token ? siteForm : null,
    el('span', { class: 'spacer' }),
    app.token ? el('button', { type: 'button', class: 'ghost', id: 'sign-out', onclick: () => signOut('Signed out.') }, 'Sign out') : null,
  ]);
}

// ---- Sign-in -----------------------------------------------------------

function renderSignIn() {
  const main = clear($('#main'));
  const form = el('form', { class: 'card signin', id: 'signin', onsubmit: (e) => signIn(e, form) },
    el('h1', {}, 'Sign in'),
    el('p', { class: 'muted' }, 'Enter the read token of this server. It is kept in this tab only (sessionStorage).'),
    el('label', { for: 'signin-site' }, 'Site'),
    el('input', { id: 'signin-site', name: 'site', value: app.site, autocomplete: 'off', spellcheck: 'false', required: true }),
    el('label', { for: 'signin-token' }, 'Read token'),
    el('input', { id: 'signin-token', name: 'token', type: 'password', autocomplete: 'current-password', required: true, autofocus: true }),
    el('p', { class: 'message', id: 'signin-message', role: 'alert' }),
    el('button', { type: 'submit', class: 'primary' }, 'Sign in'));
  main.append(form);
  form.elements.token.focus();
}

function showSignInMessage(text, ok) {
  const m = $('#signin-message');
  if (!m) return;
  m.textContent = text;
  m.classList.toggle('ok', !!ok);
}

async function signIn(e, form) {
  e.preventDefault();
  const site = form.elements.site.value.trim() || 'demo';
  const token = form.elements.token.value.trim();
  if (!token) return;
  const button = form.querySelector('button');
  button.disabled = true;
  showSignInMessage('Checking the token…', true);
  app.token = token;
  app.site = site;
  try {
    await api(sitePath('sessions?limit=1'));
  } catch (err) {
    app.token = '';
    button.disabled = false;
    if (err instanceof AuthError) {
      showSignInMessage(`The server refused this token (${err.message}). Check the read token and try again.`);
    } else {
      showSignInMessage(`Could not sign in: ${err.message}`);
    }
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  sessionStorage.setItem(SITE_KEY, site);
  const params = currentParams();
  params.set('site', site);
  navigate(params, location.hash);
}

// handleError shows an error of a view; an AuthError sends back to sign-in.
function handleError(err, where) {
  if (err.name === 'AbortError') return;
  if (err instanceof AuthError) {
    signOut(`The server refused the token (${err.message}). Please sign in again.`);
    return;
  }
  clear(where).append(el('p', { class: 'error-box', role: 'alert' }, err.message));
}

// ---- Session list ------------------------------------------------------

const datalists = {
  os: ['Windows', 'macOS', 'Linux', 'Android', 'iOS', 'ChromeOS'],
  browser: ['Chrome', 'Firefox', 'Safari', 'Edge', 'Opera', 'Samsung Browser'],
};

// toLocalInput turns an RFC 3339 time into a datetime-local value.
function toLocalInput(s) {
  const d = new Date(s);
  if (!s || isNaN(d)) return '';
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

// fromLocalInput turns a datetime-local value into RFC 3339 (UTC).
function fromLocalInput(v) {
  const d = new Date(v);
  return v && !isNaN(d) ? d.toISOString().replace(/\.\d{3}Z$/, 'Z') : '';
}

function renderFilters(params) {
  const v = (k) => params.get(k) || '';
  const field = (label, input) => el('label', { class: 'field' }, el('span', {}, label), input);
  const text = (name, placeholder, list) => el('input', { name, value: v(name), placeholder, list, autocomplete: 'off', spellcheck: 'false' });
  const select = (name, options) => el('select', { name },
    options.map(([value, label]) => el('option', { value, selected: v(name) === value }, label)));

  const form = el('form', { class: 'filters', id: 'filters', onsubmit: (e) => {
    e.preventDefault();
    const next = new URLSearchParams({ site: app.site });
    const f = form.elements;
    const from = fromLocalInput(f.from.value);
    const to = fromLocalInput(f.to.value);
    if (from) next.set('from', from);
    if (to) next.set('to', to);
    for (const k of ['device', 'os', 'browser', 'url', 'event', 'rule', 'minDuration', 'user']) {
      const val = f[k].value.trim();
      if (val) next.set(k, val);
    }
    if (f.error.checked) next.set('error', 'true');
    if (f.state.value && f.state.value !== 'kept') next.set('state', f.state.value);
    if (params.get('limit')) next.set('limit', params.get('limit'));
    app.list = null;
    navigate(next);
  } },
  el('div', { class: 'filter-row' },
    field('From', el('input', { name: 'from', type: 'datetime-local', value: toLocalInput(v('from')) })),
    field('To', el('input', { name: 'to', type: 'datetime-local', value: toLocalInput(v('to')) })),
    field('Device', select('device', [['', 'Any'], ['desktop', 'Desktop'], ['mobile', 'Mobile'], ['tablet', 'Tablet'], ['bot', 'Bot']])),
    field('OS', text('os', 'Any', 'dl-os')),
    field('Browser', text('browser', 'Any', 'dl-browser')),
    field('State', select('state', [['kept', 'Kept'], ['pending', 'Pending'], ['all', 'Kept and pending']]))),
  el('div', { class: 'filter-row' },
    field('URL visited', text('url', '/checkout*')),
    field('Custom event', text('event', 'signup')),
    field('Rule', text('rule', 'errors')),
    field('Min. duration', text('minDuration', '30s')),
    field('User', text('user', 'user id')),
    el('label', { class: 'check' }, el('input', { type: 'checkbox', name: 'error', checked: v('error') === 'true' }), 'Errors only'),
    el('span', { class: 'spacer' }),
    el('button', { type: 'button', class: 'ghost', onclick: () => { app.list = null; navigate(new URLSearchParams({ site: app.site })); } }, 'Reset'),
    el('button', { type: 'submit', class: 'primary' }, 'Apply')),
  Object.entries(datalists).map(([k, values]) => el('datalist', { id: `dl-${k}` }, values.map((value) => el('option', { value })))));
  return form;
}

function listQuery(params, cursor) {
  const q = new URLSearchParams();
  for (const k of FILTERS) {
    const val = params.get(k);
    if (val) q.set(k, val);
  }
  const limit = Number(params.get('limit'));
  q.set('limit', String(limit > 0 && limit <= 500 ? Math.floor(limit) : PAGE_SIZE));
  if (cursor) q.set('cursor', cursor);
  return sitePath(`sessions?${q}`);
}

async function renderList() {
  const params = currentParams();
  const main = clear($('#main'));
  const results = el('section', { class: 'results', id: 'results' });
  const overview = el('section', { class: 'overview', id: 'overview' });
  main.append(renderFilters(params), overview, results);
  const key = app.site + '|' + location.search;
  renderOverview(overview, params, key);
  if (app.list && app.list.key === key) {
    showSessions(results, app.list);
    window.scrollTo(0, app.list.scroll || 0);
    return;
  }
  results.append(el('p', { class: 'muted' }, 'Loading sessions…'));
  try {
    let page = await api(listQuery(params));
    // A store may answer an empty page with a cursor when a rare filter
    // made it read its bound of rows; follow a few such pages.
    for (let hops = 0; !(page.sessions || []).length && page.next && hops < maxEmptyHops; hops++) {
      page = await api(listQuery(params, page.next));
    }
    app.list = { key, sessions: page.sessions || [], next: page.next || '', params };
    if (app.routeKey.startsWith(location.search + location.hash)) showSessions(results, app.list);
  } catch (err) {
    handleError(err, results);
  }
}

// ---- Overview ----------------------------------------------------------

const SVG_NS = 'http://www.w3.org/2000/svg';

// svg creates an SVG element; like el(), children strings become text.
function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null) continue;
    if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, String(v));
  }
  return append(node, children);
}

// overviewPath is the overview of the list's filters. Without a date range
// it asks for the last 14 days, in whole days of the reader's time zone.
function overviewPath(params) {
  const q = new URLSearchParams();
  for (const k of FILTERS) {
    const val = params.get(k);
    if (val) q.set(k, val);
  }
  if (!q.get('from') && !q.get('to')) {
    const to = new Date();
    to.setHours(24, 0, 0, 0); // the next local midnight
    const from = new Date(to);
    from.setDate(from.getDate() - 14);
    q.set('from', from.toISOString());
    q.set('to', to.toISOString());
    q.set('step', 'day');
  }
  return sitePath(`overview?${q}`);
}

// renderOverview draws the sessions per hour or day of the list's filters
// above it: kept and pending stacked, a red mark where sessions had errors.
// Clicking a bar (or Enter on it) filters the list to its interval.
async function renderOverview(box, params, key) {
  // Drawn again from memory only when the list is, too (back from the player).
  let data = app.list && app.list.key === key && app.overview && app.overview.key === key ? app.overview.data : null;
  if (!data) {
    box.append(el('p', { class: 'muted' }, 'Counting sessions…'));
    try {
      data = await api(overviewPath(params));
    } catch (err) {
      if (err.name === 'AbortError' || err instanceof AuthError) return clear(box);
      clear(box).append(el('p', { class: 'muted' }, `Overview: ${err.message}`));
      return;
    }
    app.overview = { key, data };
  }
  if (!box.isConnected) return;
  const buckets = data.buckets || [];
  const step = data.stepMs || 86400000;
  const total = (k) => buckets.reduce((n, b) => n + (b[k] || 0), 0);
  const kept = total('kept');
  const pending = total('pending');
  const errors = total('errors');
  const max = Math.max(1, ...buckets.map((b) => (b.kept || 0) + (b.pending || 0)));
  const W = 1000;
  const H = 120;
  const top = 14;
  const left = 30;
  const slot = (W - left) / Math.max(1, buckets.length);
  const barW = Math.max(1, slot * 0.78);
  const scale = (n) => (n / max) * (H - top);
  const hourly = step < 86400000;
  const label = (d) => hourly
    ? `${String(d.getHours()).padStart(2, '0')}:00`
    : d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' });
  const every = Math.max(1, Math.ceil(buckets.length / 12));
  const selFrom = params.get('from');
  const selTo = params.get('to');
  const chart = svg('svg', { class: 'overview-chart', id: 'overview-chart', viewBox: `0 0 ${W} ${H + 22}`, role: 'img', 'aria-label': 'Sessions over time' },
    svg('line', { x1: left, x2: W, y1: H + 0.5, y2: H + 0.5, class: 'axis' }),
    svg('line', { x1: left, x2: W, y1: top + 0.5, y2: top + 0.5, class: 'grid' }),
    svg('text', { x: left - 6, y: top + 4, class: 'tick', 'text-anchor': 'end' }, String(max)),
    svg('text', { x: left - 6, y: H, class: 'tick', 'text-anchor': 'end' }, '0'),
    buckets.map((b, i) => {
      const start = new Date(b.start);
      const end = new Date(start.getTime() + step);
      const x = left + i * slot + (slot - barW) / 2;
      const hk = scale(b.kept || 0);
      const hp = scale(b.pending || 0);
      const from = start.toISOString().replace(/\.000Z$/, 'Z');
      const to = end.toISOString().replace(/\.000Z$/, 'Z');
      const selected = selFrom === from && selTo === to;
      const go = () => {
        const next = new URLSearchParams(params);
        next.set('site', app.site);
        next.set('from', from);
        next.set('to', to);
        app.list = null;
        navigate(next);
      };
      const n = (b.kept || 0) + (b.pending || 0);
      const title = `${fmtDate(start, true)} – ${fmtDate(end, true)}: ${plural(n, 'session')} (${b.kept || 0} kept, ${b.pending || 0} pending), ${b.errors || 0} with errors. Click to list them.`;
      return svg('g', { class: `bar${selected ? ' selected' : ''}${b.errors ? ' has-errors' : ''}`, tabindex: 0, role: 'button', 'data-start': from, 'data-end': to,
        'data-kept': b.kept || 0, 'data-pending': b.pending || 0, 'data-errors': b.errors || 0,
        onclick: go, onkeydown: (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); go(); } } },
      svg('title', {}, title),
      svg('rect', { x: left + i * slot, y: 0, width: slot, height: H, class: 'hit' }),
      hk ? svg('rect', { x, y: H - hk, width: barW, height: hk, class: 'kept' }) : null,
      hp ? svg('rect', { x, y: H - hk - hp, width: barW, height: hp, class: 'pending' }) : null,
      b.errors ? svg('circle', { cx: x + barW / 2, cy: Math.max(5, H - hk - hp - 6), r: 3.5, class: 'errors' }) : null,
      i % every === 0 ? svg('text', { x: x + barW / 2, y: H + 16, class: 'tick', 'text-anchor': 'middle' }, label(start)) : null);
    }));
  clear(box).append(
    el('div', { class: 'overview-head' },
      el('h2', {}, `Sessions per ${hourly ? 'hour' : 'day'}`),
      el('span', { class: 'legend' },
        el('span', { class: 'swatch kept' }), `${kept} kept `,
        el('span', { class: 'swatch pending' }), `${pending} pending `,
        el('span', { class: 'swatch errors' }), `${errors} with errors`),
      data.complete === false ? el('span', { class: 'muted' }, ' · at least: the store cannot count, the first 10 000 were') : null),
    chart);
}

// maxEmptyHops bounds the empty pages with a cursor followed at once.
const maxEmptyHops = 10;

function showSessions(results, list) {
  clear(results);
  if (!list.sessions.length && list.next) {
    results.append(el('div', { class: 'empty' },
      el('p', {}, 'No sessions found yet; the store stopped searching part of the way.'),
      el('button', { type: 'button', class: 'ghost', id: 'search-further', onclick: async (ev) => {
        ev.target.disabled = true;
        try {
          let page = { sessions: [], next: list.next };
          for (let hops = 0; !(page.sessions || []).length && page.next && hops < maxEmptyHops; hops++) {
            page = await api(listQuery(list.params, page.next));
          }
          list.sessions = page.sessions || [];
          list.next = page.next || '';
          showSessions(results, list);
        } catch (err) {
          handleError(err, results);
        }
      } }, 'Search further')));
    return;
  }
  if (!list.sessions.length) {
    results.append(el('div', { class: 'empty' },
      el('p', {}, 'No sessions match these filters.'),
      el('p', { class: 'muted' }, 'Sessions appear once a page with recorder.js sends its first batch; pending sessions are listed with State “Pending” or “Kept and pending”.')));
    return;
  }
  const tbody = el('tbody', {}, list.sessions.map(sessionRow));
  const more = el('button', { type: 'button', class: 'ghost', id: 'load-more', onclick: async () => {
    more.disabled = true;
    more.textContent = 'Loading…';
    try {
      const page = await api(listQuery(list.params, list.next));
      const added = page.sessions || [];
      list.sessions.push(...added);
      list.next = page.next || '';
      tbody.append(...added.map(sessionRow));
      count.textContent = `${plural(list.sessions.length, 'session')}${list.next ? ', more available' : ''}`;
      more.hidden = !list.next;
    } catch (err) {
      handleError(err, results);
    } finally {
      more.disabled = false;
      more.textContent = 'Load more';
    }
  } }, 'Load more');
  more.hidden = !list.next;
  const count = el('p', { class: 'count muted' }, `${plural(list.sessions.length, 'session')}${list.next ? ', more available' : ''}`);
  results.append(count,
    el('table', { class: 'sessions' },
      el('thead', {}, el('tr', {}, ['Start', 'Duration', 'Pages', 'Errors', 'Device', 'Rules · events', 'Clicks', 'State'].map((t) => el('th', {}, t)))),
      tbody),
    el('div', { class: 'more' }, more));
}

function chip(text, cls, title) {
  return el('span', { class: `chip ${cls || ''}`, title }, text);
}

function sessionRow(s) {
  const href = `${listHref()}#/session/${encodeURIComponent(s.id)}`;
  const pages = s.pages || [];
  const errs = s.errors || 0;
  const events = Object.entries(s.events || {}).filter(([tag]) => tag !== '$pageview' && tag !== '$error');
  const device = [s.device, s.os, s.browser].filter(Boolean).join(' · ') || 'unknown';
  const user = s.attrs && s.attrs.userId;
  const tr = el('tr', { class: 'session', 'data-id': s.id, onclick: (e) => {
    if (e.target.closest('a')) return;
    app.list.scroll = window.scrollY;
    location.hash = `#/session/${encodeURIComponent(s.id)}`;
  } },
  el('td', { class: 'start' },
    el('a', { href, onclick: () => { app.list.scroll = window.scrollY; } }, fmtDate(s.start)),
    el('div', { class: 'sub' }, fmtAgo(s.start), user ? ' · user ' : '', user ? el('span', { class: 'user' }, shorten(user, 24)) : null)),
  el('td', { class: 'duration' }, fmtDuration(s.durationMs),
    s.activeMs != null ? el('div', { class: 'sub' }, `active ${fmtDuration(s.activeMs)}`) : null),
  el('td', { class: 'pages' }, plural(pages.length, 'page'),
    el('div', { class: 'sub url', title: s.entryUrl || '' }, shorten(s.entryUrl || pages[0] || '', 70))),
  el('td', { class: 'errors' }, errs ? chip(String(errs), 'bad', (s.errorMessages || []).join('\n')) : el('span', { class: 'muted' }, '0'),
    errs && s.errorMessages && s.errorMessages.length ? el('div', { class: 'sub err', title: s.errorMessages.join('\n') }, shorten(s.errorMessages[0], 48)) : null),
  el('td', { class: 'device' }, device,
    s.viewport && s.viewport.w ? el('div', { class: 'sub' }, `${s.viewport.w}×${s.viewport.h}`) : null),
  el('td', { class: 'rules' },
    (s.matchedRules || []).map((r) => chip(shorten(r, 24), 'rule', `rule ${r}`)),
    events.length ? el('div', { class: 'sub' }, events.slice(0, 4).map(([tag, n]) => chip(`${shorten(tag, 20)} ×${n}`, 'event', tag))) : null),
  el('td', { class: 'clicks' }, String(s.clicks || 0),
    s.rageClicks ? el('div', { class: 'sub' }, chip(`${s.rageClicks} rage`, 'bad')) : null),
  el('td', { class: 'state' }, chip(s.state, s.state === 'kept' ? 'good' : 'warn'),
    el('div', { class: 'sub' }, s.ended ? 'ended' : 'live', ' · ', plural(s.windows || 0, 'load'))));
  return tr;
}

// ---- Player ------------------------------------------------------------

function leavePlayer() {
  const p = app.player;
  if (!p) return;
  app.player = null;
  p.abort.abort();
  window.removeEventListener('resize', p.resize);
  try {
    p.instance?.pause();
    p.instance?.$destroy();
  } catch {
    // a half-built player: nothing more to free
  }
}

// playerSize fits the replay into the space left at the side of the facts.
function playerSize(box) {
  const width = Math.max(320, Math.floor(box.clientWidth));
  const top = box.getBoundingClientRect().top + window.scrollY;
  const room = window.innerHeight - top - 80 /* controller */ - 16;
  const height = Math.max(240, Math.min(Math.floor(width * 0.625), Math.floor(room)));
  return { width, height };
}

async function renderPlayer(id, windowId, moment) {
  const main = clear($('#main'));
  const abort = new AbortController();
  app.player = { instance: null, resize: () => {}, abort };
  const stage = el('div', { class: 'stage', id: 'stage' }, el('p', { class: 'muted' }, 'Loading the recording…'));
  const facts = el('section', { class: 'facts', id: 'facts' });
  const timeline = el('section', { class: 'timeline', id: 'timeline' });
  const consoleBox = el('section', { class: 'console', id: 'console' });
  const viewers = el('section', { class: 'viewers', id: 'viewers', hidden: true });
  const momentLink = el('input', { id: 'moment-link', readonly: true, hidden: true, 'aria-label': 'Link to this moment', onfocus: (e) => e.target.select() });
  const momentStatus = el('span', { class: 'muted', id: 'moment-status', role: 'status' });
  const copyMoment = el('button', { type: 'button', class: 'ghost', id: 'copy-moment', disabled: true, title: 'Copy a link that opens this replay at the current moment' }, 'Copy link at this moment');
  const windowSelect = el('select', { id: 'window-select', title: 'Page load to replay' });
  const toolbar = el('div', { class: 'toolbar' },
    el('a', { class: 'back', href: listHref(), id: 'back' }, '← Sessions'),
    el('h1', {}, 'Session ', el('code', {}, id)),
    el('span', { class: 'spacer' }),
    momentLink, momentStatus, copyMoment,
    el('label', { class: 'window-switch', hidden: true }, 'Page load ', windowSelect));
  main.append(toolbar, el('div', { class: 'player-layout' }, el('div', { class: 'player-col' }, stage), el('aside', {}, consoleBox, timeline, facts, viewers)));

  let session;
  try {
    session = await api(sitePath(`sessions/${encodeURIComponent(id)}`), abort.signal);
  } catch (err) {
    return handleError(err, stage);
  }
  if (abort.signal.aborted) return;
  renderFacts(facts, session);

  const windows = session.windowIds || [];
  if (windows.length > 1) {
    append(windowSelect, [el('option', { value: '' }, `All ${windows.length} page loads`),
      windows.map((w, i) => el('option', { value: w, selected: w === windowId }, `${i + 1}. window ${shorten(w, 16)}`))]);
    windowSelect.addEventListener('change', () => {
      location.hash = `#/session/${encodeURIComponent(id)}${windowSelect.value ? '&window=' + encodeURIComponent(windowSelect.value) : ''}`;
    });
    toolbar.querySelector('.window-switch').hidden = false;
  }

  let events, Player;
  try {
    const path = sitePath(`sessions/${encodeURIComponent(id)}/events${windowId ? '?window=' + encodeURIComponent(windowId) : ''}`);
    [events, Player] = await Promise.all([api(path, abort.signal), loadPlayerClass()]);
  } catch (err) {
    return handleError(err, stage);
  }
  if (abort.signal.aborted) return;
  if (!Array.isArray(events) || events.length < 2) {
    clear(stage).append(el('p', { class: 'error-box' }, `This ${windowId ? 'page load' : 'session'} has ${Array.isArray(events) ? events.length : 0} stored events: too few to replay.`));
    return;
  }
  events.sort((a, b) => a.timestamp - b.timestamp); // stable: equal timestamps keep their order
  if (!events.some((e) => e.type === 2)) {
    stage.append(el('p', { class: 'error-box' }, 'No full snapshot was stored for this recording: the replay may stay blank.'));
  }

  const items = timelineItems(events);
  const playEvents = withMarkers(events, items);
  clear(stage);
  const target = el('div', { class: 'player-target', id: 'player' });
  stage.append(target);
  const size = playerSize(target);
  let instance;
  try {
    instance = new Player({
      target,
      props: {
        events: playEvents,
        width: size.width,
        height: size.height,
        autoPlay: moment == null,
        skipInactive: true,
        speedOption: [1, 2, 4, 8],
        showController: true,
        tags: TAG_COLOURS,
        mouseTail: { strokeStyle: '#d93025' },
      },
    });
  } catch (err) {
    clear(stage).append(el('p', { class: 'error-box' }, `The player could not start: ${err.message}`));
    return;
  }
  app.player.instance = instance;
  let resizeTimer;
  app.player.resize = () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      instance.$set(playerSize(target));
      instance.triggerResize();
    }, 150);
  };
  window.addEventListener('resize', app.player.resize);

  const start = events[0].timestamp;
  const total = Math.max(0, events[events.length - 1].timestamp - start);
  const p = app.player;
  p.now = 0;
  instance.addEventListener('ui-update-current-time', (e) => { p.now = e.payload; });
  // The URL carries the moment the replay was paused at, so that reloading
  // or sharing it opens there (replaceState: no new history entry, no route).
  const remember = (ms) => {
    if (app.player === p) history.replaceState(null, '', location.pathname + location.search + momentHash(ms));
  };
  p.seek = (ms) => {
    const at = clampMoment(ms, total);
    p.now = at;
    instance.goto(at, false);
    remember(at);
  };
  instance.addEventListener('ui-update-player-state', (e) => { if (e.payload === 'paused') remember(p.now); });
  if (moment != null) p.seek(moment);
  copyMoment.disabled = false;
  copyMoment.addEventListener('click', async () => {
    const url = location.origin + location.pathname + location.search + momentHash(p.now);
    momentLink.value = url;
    momentLink.hidden = false;
    try {
      await navigator.clipboard.writeText(url);
      momentStatus.textContent = 'Link copied';
    } catch {
      momentStatus.textContent = 'Copy the link:';
      momentLink.focus();
    }
  });
  renderConsole(consoleBox, consoleEntries(events), start, instance);
  // Who viewed it, this read included (it is recorded by the server).
  api(sitePath(`sessions/${encodeURIComponent(id)}/views`), abort.signal)
    .then((v) => renderViewers(viewers, v))
    .catch((err) => { if (err.name !== 'AbortError') clear(viewers).append(el('p', { class: 'muted' }, `Viewers: ${err.message}`)); });
  renderTimeline(timeline, items, start, instance);
  if (windows.length > 1 && windowId) {
    const meta = events.find((e) => e.type === 4);
    const opt = [...windowSelect.options].find((o) => o.value === windowId);
    if (meta && opt) opt.textContent = `${windows.indexOf(windowId) + 1}. ${shorten(meta.data?.href, 60)}`;
  }
}

// timelineItems lists what the side list shows and seeks to: page loads
// (Meta), navigations ($pageview), errors ($error, console errors) and other
// custom events, in time order. Every string in them is recorded data.
function timelineItems(events) {
  const items = [];
  let lastErr = null;
  for (const e of events) {
    const d = e.data || {};
    if (e.type === 4) {
      items.push({ t: e.timestamp, kind: 'page', label: 'Page load', text: String(d.href ?? '') });
    } else if (e.type === 5) {
      const tag = String(d.tag ?? '');
      const p = d.payload;
      if (tag === '$pageview') {
        items.push({ t: e.timestamp, kind: 'page', label: 'Navigation', text: preview((p && (p.url ?? p.href ?? p.path)) ?? p, 300) });
      } else if (tag === '$error') {
        const msg = preview(p && typeof p === 'object' ? p.message ?? p : p, 300);
        items.push({ t: e.timestamp, kind: 'error', label: 'Error', text: msg, detail: p && typeof p === 'object' ? preview(p.stack, 2000) : '' });
        lastErr = { t: e.timestamp, msg };
      } else {
        items.push({ t: e.timestamp, kind: 'event', label: shorten(tag, 40) || 'Event', text: preview(p, 200) });
      }
    } else if (e.type === 6 && d.plugin === 'rrweb/console@1' && d.payload && d.payload.level === 'error') {
      const args = Array.isArray(d.payload.payload) ? d.payload.payload : [];
      const msg = consoleText(args);
      // An uncaught error is recorded twice, by recorder.js ($error) and by
      // the console plugin: list it once.
      if (repeatsError(lastErr, e.timestamp, msg)) continue;
      items.push({ t: e.timestamp, kind: 'error', label: 'Console error', text: preview(msg, 300), detail: preview((d.payload.trace || []).join('\n'), 2000), console: true });
    }
  }
  return items;
}

// consoleText joins the arguments of a console plugin record, each a JSON
// text as the plugin stringified it.
function consoleText(args) {
  return args.map((a) => {
    try {
      const v = JSON.parse(a);
      return typeof v === 'string' ? v : JSON.stringify(v);
    } catch {
      return String(a);
    }
  }).join(' ');
}

// repeatsError reports whether a console error at t with message msg is the
// uncaught error last, recorded by recorder.js as $error, recorded again.
function repeatsError(last, t, msg) {
  return !!last && Math.abs(t - last.t) < 1000 && (msg.includes(last.msg) || last.msg.includes(msg));
}

// consoleEntries lists what the console panel shows: the console plugin's
// records (any level) and the $error events of recorder.js, in time order.
// An uncaught error that the plugin recorded as well is listed once. Every
// string in them is recorded data, already scrubbed by the server.
function consoleEntries(events) {
  const out = [];
  let lastErr = null;
  for (const e of events) {
    const d = e.data || {};
    if (e.type === 5 && d.tag === '$error') {
      const p = d.payload;
      const msg = preview(p && typeof p === 'object' ? p.message ?? p : p, 500);
      const source = p && typeof p === 'object' && p.source ? preview(p.source, 200) : '';
      out.push({ t: e.timestamp, level: 'error', text: msg, source, detail: p && typeof p === 'object' ? preview(p.stack, 2000) : '' });
      lastErr = { t: e.timestamp, msg };
    } else if (e.type === 6 && d.plugin === 'rrweb/console@1' && d.payload && typeof d.payload === 'object') {
      const level = String(d.payload.level ?? 'log');
      const args = Array.isArray(d.payload.payload) ? d.payload.payload : [];
      const msg = consoleText(args);
      if (level === 'error' && repeatsError(lastErr, e.timestamp, msg)) continue;
      const trace = Array.isArray(d.payload.trace) ? d.payload.trace.map(String) : [];
      out.push({ t: e.timestamp, level, text: preview(msg, 500), source: preview(trace[0] || '', 200), detail: preview(trace.join('\n'), 2000) });
    }
  }
  return out;
}

// CONSOLE_LEVELS are the filters of the console panel: each level the
// plugin records falls in one of them.
const CONSOLE_LEVELS = [
  ['error', 'Errors', (l) => l === 'error' || l === 'assert'],
  ['warn', 'Warnings', (l) => l === 'warn'],
  ['log', 'Logs', (l) => l !== 'error' && l !== 'assert' && l !== 'warn'],
];

// renderConsole shows the recorded console beside the player: level
// filters, a line per entry (its text only: recorded strings never become
// markup), click or Enter seeks there, and the line at the current moment
// is marked and kept in view as the replay plays.
function renderConsole(box, entries, start, player) {
  const counts = Object.fromEntries(CONSOLE_LEVELS.map(([k, , has]) => [k, entries.filter((e) => has(e.level)).length]));
  const shown = new Set(CONSOLE_LEVELS.map(([k]) => k));
  const list = el('ol', { class: 'items console-lines', id: 'console-lines' });
  const filters = el('div', { class: 'console-filters' }, CONSOLE_LEVELS.map(([k, label]) =>
    el('label', { class: `check level-${k}` },
      el('input', { type: 'checkbox', name: `level-${k}`, checked: true, onchange: (e) => {
        if (e.target.checked) shown.add(k);
        else shown.delete(k);
        for (const r of rows) r.li.hidden = !shown.has(r.group);
      } }),
      `${label} (${counts[k]})`)));
  clear(box).append(el('h2', {}, 'Console ', el('span', { class: 'muted' }, `(${entries.length})`)), filters);
  if (!entries.length) {
    box.append(el('p', { class: 'muted', id: 'console-empty' }, 'Nothing was logged.'));
    return;
  }
  let playing = true;
  player.addEventListener('ui-update-player-state', (s) => { playing = s.payload === 'playing'; });
  const rows = entries.map((it) => {
    const offset = Math.max(0, it.t - start);
    const group = CONSOLE_LEVELS.find(([, , has]) => has(it.level))[0];
    const li = el('li', { class: `item line level-${group}`, tabindex: 0, role: 'button', 'data-offset': offset, 'data-level': it.level,
      title: [it.text, it.source, it.detail].filter(Boolean).join('\n'),
      onclick: () => player.goto(offset, playing),
      onkeydown: (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); player.goto(offset, playing); } } },
    el('span', { class: 'when' }, fmtClock(offset)),
    el('span', { class: 'what' }, el('span', { class: 'text' }, it.text || '(empty)'), it.source ? el('span', { class: 'source' }, it.source) : null));
    list.append(li);
    return { li, offset, group };
  });
  box.append(list);
  let current = null;
  player.addEventListener('ui-update-current-time', (e) => {
    const now = e.payload;
    let found = null;
    for (const r of rows) if (!r.li.hidden && r.offset <= now + 50) found = r;
    if (found === current) return;
    current?.li.classList.remove('current');
    found?.li.classList.add('current');
    current = found;
    if (found) {
      // Scroll the list only, never the page.
      const top = found.li.offsetTop - list.offsetTop;
      if (top < list.scrollTop || top + found.li.offsetHeight > list.scrollTop + list.clientHeight) list.scrollTop = top - list.clientHeight / 2;
    }
  });
}

// withMarkers returns the events with a custom event added for each page load
// and console error, so that rrweb-player marks them on its timeline as it
// marks $error and $pageview. Custom events do nothing in the replay itself.
function withMarkers(events, items) {
  const extra = items.filter((it) => it.console || (it.kind === 'page' && it.label === 'Page load' && it.t > events[0].timestamp));
  if (!extra.length) return events;
  const out = events.slice();
  for (const it of extra) {
    const tag = it.console ? '$error' : '$pageload';
    out.push({ type: 5, timestamp: it.t, data: { tag, payload: { dashboardMarker: true } } });
  }
  return out.sort((a, b) => a.timestamp - b.timestamp);
}

function renderTimeline(box, items, start, player) {
  clear(box).append(el('h2', {}, 'Pages and errors ', el('span', { class: 'muted' }, `(${items.length})`)));
  if (!items.length) {
    box.append(el('p', { class: 'muted' }, 'Nothing to list.'));
    return;
  }
  let playing = true;
  player.addEventListener('ui-update-player-state', (s) => { playing = s.payload === 'playing'; });
  const ol = el('ol', { class: 'items', id: 'timeline-items' });
  const rows = items.map((it) => {
    const offset = Math.max(0, it.t - start);
    const li = el('li', { class: `item ${it.kind}`, tabindex: 0, role: 'button', 'data-offset': offset, title: it.detail || it.text,
      onclick: () => player.goto(offset, playing),
      onkeydown: (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); player.goto(offset, playing); } } },
    el('span', { class: 'when' }, fmtClock(offset)),
    el('span', { class: 'what' }, el('span', { class: 'label' }, it.label), el('span', { class: 'text' }, it.text)));
    ol.append(li);
    return { li, offset };
  });
  box.append(ol);
  let current = null;
  player.addEventListener('ui-update-current-time', (e) => {
    const now = e.payload;
    let found = null;
    for (const r of rows) if (r.offset <= now + 50) found = r;
    if (found === current) return;
    current?.li.classList.remove('current');
    found?.li.classList.add('current');
    current = found;
  });
}

// renderViewers lists who read the recording, newest first. Principals
// come from the server's Authorizer; they are shown as text.
function renderViewers(box, answer) {
  const views = (answer.views || []).slice().reverse();
  box.hidden = false;
  clear(box).append(el('h2', {}, 'Viewed by ', el('span', { class: 'muted' }, `(${views.length})`)));
  if (!views.length) {
    box.append(el('p', { class: 'muted' }, 'Nobody yet.'));
    return;
  }
  box.append(el('ol', { class: 'views', id: 'views' }, views.slice(0, 20).map((v) =>
    el('li', { class: 'view', title: fmtDate(v.at, true) },
      el('span', { class: 'who' }, v.principal ? shorten(v.principal, 60) : 'unnamed reader'),
      el('span', { class: 'muted' }, ` · ${fmtDate(v.at)}`)))),
  views.length > 20 ? el('p', { class: 'muted' }, `… and ${views.length - 20} earlier`) : null,
  answer.durable ? null : el('p', { class: 'muted' }, 'Kept in the server’s memory only: this store keeps no view log.'));
}

function renderFacts(box, s) {
  const row = (k, ...v) => [el('dt', {}, k), el('dd', {}, ...v)];
  const pages = s.pages || [];
  const errs = s.errorMessages || [];
  const events = Object.entries(s.events || {});
  const attrs = Object.entries(s.attrs || {});
  clear(box).append(el('h2', {}, 'Facts'), el('dl', {},
    row('State', chip(s.state, s.state === 'kept' ? 'good' : 'warn'), ' ', s.ended ? 'ended' : 'live'),
    row('Start', fmtDate(s.start, true)),
    row('Duration', fmtDuration(s.durationMs), s.activeMs != null ? ` (active ${fmtDuration(s.activeMs)})` : ''),
    row('Device', [s.device, s.os, s.browser].filter(Boolean).join(' · ') || 'unknown',
      s.viewport && s.viewport.w ? ` · ${s.viewport.w}×${s.viewport.h}` : ''),
    row('Page loads', String(s.windows || 0)),
    row('Pages', el('ol', { class: 'urls' }, pages.slice(0, 20).map((p) => el('li', { class: 'url', title: p }, shorten(p, 90)))),
      pages.length > 20 ? `… and ${pages.length - 20} more` : ''),
    row('Errors', String(s.errors || 0), errs.length ? el('ol', { class: 'errs' }, errs.map((m) => el('li', { title: m }, shorten(m, 120)))) : ''),
    row('Rules', (s.matchedRules || []).length ? s.matchedRules.map((r) => chip(r, 'rule')) : el('span', { class: 'muted' }, 'none')),
    events.length ? row('Events', events.map(([tag, n]) => chip(`${shorten(tag, 30)} ×${n}`, 'event', tag))) : null,
    row('Clicks', `${s.clicks || 0}`, s.rageClicks ? chip(`${s.rageClicks} rage`, 'bad') : ''),
    attrs.length ? row('Attributes', el('ul', { class: 'attrs' }, attrs.map(([k, v]) => el('li', {}, el('b', {}, shorten(k, 40)), ' ', shorten(v, 80))))) : null,
    row('Size', `${plural(s.eventCount || 0, 'event')} · ${fmtBytes(s.bytes)} received · ${fmtBytes(s.storedBytes)} stored`)));
}

// ---- Start -------------------------------------------------------------

window.addEventListener('popstate', route);
window.addEventListener('hashchange', route);
route();
