// Holdfast live view: one WebSocket (/api/ws) feeds everything. Plain JS; its one import is the
// words of events, shared with the CLI (apps/lb/event-text.ts, compiled, served from /lib/).
// Message shapes: apps/lb/web/protocol.ts.
import { groupSlotMoves, lineText, lineTone } from '/lib/event-text.js';

const WINDOW_MS = 5 * 60_000;
const MAX_EVENTS = 2000;
const SHOWN_EVENTS = 200;
// No oranges or whites: those mark migrating and query slots.
const PALETTE = ['#5794f2', '#73bf69', '#b877d9', '#4ec9b0', '#ff7383', '#8ab8ff', '#ca95e5', '#96d98d', '#e0b400', '#3274d9', '#56a64b', '#de7fb5'];
const MIGRATING = '#ff9830';
const NO_OWNER = '#2c3235';

const state = {
  status: null,
  services: [],
  events: [],
  samples: [],
  /** "service/key" → latest traffic rates. */
  rates: new Map(),
  connected: false,
  lastEventId: 0,
};

// ---------------------------------------------------------------------------- helpers

const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

function human(n, digits = 1) {
  if (!Number.isFinite(n)) return '-';
  if (Math.abs(n) < 1000) return Number.isInteger(n) ? String(n) : n.toFixed(n < 10 ? digits : 0);
  const units = ['K', 'M', 'G', 'T'];
  let v = n;
  let u = -1;
  while (Math.abs(v) >= 1000 && u < units.length - 1) { v /= 1000; u++; }
  return `${v.toFixed(v < 10 ? 1 : 0)}${units[u]}`;
}

function bytesRate(n) {
  if (!n) return '0 B/s';
  const units = ['B', 'KB', 'MB', 'GB'];
  let v = n;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) { v /= 1000; u++; }
  return `${v.toFixed(v < 10 && u > 0 ? 1 : 0)} ${units[u]}/s`;
}

function since(ms) {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

function clock(ms) {
  const d = new Date(ms);
  return d.toTimeString().slice(0, 8);
}

function swatch(color, size = 10) {
  return `<svg class="swatch" width="${size}" height="${size}" viewBox="0 0 10 10"><rect width="10" height="10" rx="2" fill="${color}"/></svg>`;
}

/** Stable colours per service: backends in list order. */
function colorsOf(svc) {
  const m = new Map();
  svc.backends.forEach((b, i) => m.set(b.key, PALETTE[i % PALETTE.length]));
  return m;
}

// ---------------------------------------------------------------------------- token

function readToken() {
  const m = /(?:^|[#&])token=([^&]+)/.exec(location.hash);
  if (m) {
    const t = decodeURIComponent(m[1]);
    sessionStorage.setItem('holdfast-token', t);
    return t;
  }
  return sessionStorage.getItem('holdfast-token') || '';
}

let token = readToken();

async function checkToken() {
  try {
    const res = await fetch('/api/status', { headers: token ? { authorization: `Bearer ${token}` } : {} });
    return res.status !== 401;
  } catch {
    return true; // unreachable: the socket's reconnect loop reports it
  }
}

function askForToken() {
  const form = $('token-form');
  form.hidden = false;
  setConn('down', token ? 'token refused' : 'token needed');
  showBanner(token ? 'The API refused this token. Enter the right one to connect.' : 'This API needs a token. Enter it to connect (or open the page with #token=… in the URL).');
  $('token-input').focus();
}

$('token-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  token = $('token-input').value.trim();
  sessionStorage.setItem('holdfast-token', token);
  $('token-form').hidden = true;
  connect();
});

// ---------------------------------------------------------------------------- connection

let ws = null;
let retryMs = 500;
let retryTimer = null;
let countdownTimer = null;

function setConn(kind, text) {
  $('conn').dataset.state = kind;
  $('conn-text').textContent = text;
}

function showBanner(text) {
  const b = $('banner');
  b.textContent = text;
  b.hidden = !text;
}

function setOffline(offline) {
  document.body.classList.toggle('offline', offline);
}

async function connect() {
  clearTimeout(retryTimer);
  clearInterval(countdownTimer);
  setConn('connecting', 'connecting…');
  if (!(await checkToken())) {
    askForToken();
    return;
  }
  const proto = location.protocol === 'https:' ? 'wss' : 'ws';
  const url = `${proto}://${location.host}/api/ws${token ? `?token=${encodeURIComponent(token)}` : ''}`;
  const sock = new WebSocket(url);
  ws = sock;
  sock.onopen = () => {
    retryMs = 500;
  };
  sock.onmessage = (ev) => {
    let msg;
    try { msg = JSON.parse(ev.data); } catch { return; }
    onMessage(msg);
  };
  sock.onclose = () => {
    if (ws !== sock) return;
    ws = null;
    state.connected = false;
    setOffline(true);
    scheduleReconnect();
  };
  sock.onerror = () => { /* onclose follows */ };
}

function scheduleReconnect() {
  const delay = retryMs * (0.8 + Math.random() * 0.4);
  retryMs = Math.min(retryMs * 2, 8000);
  const at = Date.now() + delay;
  const tick = () => {
    const left = Math.max(0, Math.ceil((at - Date.now()) / 1000));
    setConn('down', `disconnected · retry in ${left}s`);
    showBanner(`Disconnected from the Holdfast controller — reconnecting in ${left}s. What you see below is the last known state.`);
  };
  tick();
  countdownTimer = setInterval(tick, 250);
  retryTimer = setTimeout(() => { clearInterval(countdownTimer); connect(); }, delay);
}

function onMessage(msg) {
  switch (msg.type) {
    case 'snapshot':
      state.connected = true;
      setOffline(false);
      setConn('live', 'live');
      showBanner('');
      $('token-form').hidden = true;
      state.events = msg.recentEvents.slice().reverse();
      state.lastEventId = msg.lastEventId;
      if (msg.metricsHistory.length > 0) state.samples = msg.metricsHistory.slice();
      applyState(msg);
      renderEvents(false);
      renderCharts();
      refreshCluster();
      break;
    case 'state':
      applyState(msg);
      break;
    case 'event':
      if (msg.event.id <= state.lastEventId && state.events.some((e) => e.id === msg.event.id)) return;
      state.lastEventId = Math.max(state.lastEventId, msg.event.id);
      state.events.unshift(msg.event);
      if (state.events.length > MAX_EVENTS) state.events.length = MAX_EVENTS;
      renderEvents(true);
      break;
    case 'metrics':
      onSample(msg.sample);
      break;
  }
}

function applyState(msg) {
  state.status = msg.status;
  state.services = msg.services;
  renderAll();
}

function onSample(sample) {
  state.samples.push(sample);
  const cutoff = sample.at - WINDOW_MS - 5000;
  while (state.samples.length > 0 && state.samples[0].at < cutoff) state.samples.shift();
  state.rates = new Map(sample.backends.map((b) => [`${b.service}/${b.key}`, b]));
  renderCharts();
  renderCards();
  renderRates();
  renderBackendCharts();
}

// ---------------------------------------------------------------------------- rendering

function renderAll() {
  renderTop();
  renderCards();
  renderSwitches();
  renderServices();
}

function renderTop() {
  const st = state.status;
  if (!st) return;
  const c = st.counters;
  $('top-stats').innerHTML = `
    <span>up <b>${esc(since(st.startedAt))}</b></span>
    <span>packet-ins <b>${human(c.packetIns)}</b></span>
    <span>pins installed <b>${human(c.pinsInstalled)}</b></span>
    <span>slots moved <b>${human(c.slotsMoved)}</b></span>`;
}

function renderCards() {
  const st = state.status;
  if (!st) return;
  const last = state.samples[state.samples.length - 1];
  const backends = state.services.reduce((n, s) => n + s.backends.length, 0);
  const active = state.services.reduce((n, s) => n + s.backends.filter((b) => b.state === 'active').length, 0);
  const pins = state.services.reduce((n, s) => n + s.backends.reduce((m, b) => m + b.pins, 0), 0);
  const migrations = last ? last.migrationsActive : st.counters.migrationsActive;
  const cards = [
    ['Switches', st.switches.length, 'blue'],
    ['Services', state.services.length, 'purple'],
    ['Backends active', `${active}<small class="unit"> / ${backends}</small>`, 'green'],
    ['Pins', human(pins), 'yellow'],
    ['Packet-ins /s', last ? human(last.packetInsPerSec) : '0', 'blue'],
    ['Migrations active', migrations, migrations > 0 ? 'orange' : ''],
  ];
  $('cards').innerHTML = cards.map(([label, value, cls]) =>
    `<div class="card"><div class="label">${label}</div><div class="value ${cls}">${value}</div></div>`).join('');
}

// ---------------------------------------------------------------------------- cluster

/** How often the cluster panel asks again (leadership changes are rare; a failover takes ~2 s). */
const CLUSTER_EVERY_MS = 2000;

/** GET /api/cluster, the data `holdfast status` prints; 404 means a controller that runs alone. */
async function refreshCluster() {
  try {
    const res = await fetch('/api/cluster', { headers: token ? { authorization: `Bearer ${token}` } : {} });
    if (res.status === 404) renderCluster(null);
    else if (res.ok) renderCluster(await res.json());
  } catch { /* unreachable: the socket's reconnect loop reports it */ }
}

function renderCluster(c) {
  const el = $('cluster');
  if (!c) {
    el.innerHTML = '<div class="empty" data-cluster="single">single controller (started without --etcd)</div>';
    return;
  }
  const members = c.members.map((m) => {
    const role = m.name === c.leader?.name ? 'leader' : 'follower';
    return `<tr data-member="${esc(m.name)}"><td class="mono">${esc(m.name)}</td><td class="mono">${esc(m.api)}</td><td class="role-${role}">${role}${m.name === c.self.name ? ' (this one)' : ''}</td></tr>`;
  }).join('');
  const switches = c.switches.length === 0
    ? '<div class="empty">no switch has answered a role request yet</div>'
    : `<table><thead><tr><th>Switch</th><th>Role of ${esc(c.self.name)}</th><th>Generation</th></tr></thead><tbody>${
      c.switches.map((w) => `<tr data-switch-role="${esc(w.dpid)}"><td class="mono">${esc(w.dpid)}</td><td class="role-${esc(w.role)}">${esc(w.role)}</td><td class="mono">${esc(w.generationId)}</td></tr>`).join('')
    }</tbody></table>`;
  el.innerHTML = `<div class="cluster-summary" data-cluster="on">${c.members.length} member${c.members.length === 1 ? '' : 's'} · leader <b data-leader>${esc(c.leader?.name ?? 'none')}</b> · generation <b data-generation>${esc(c.generationId)}</b></div>
    <table><thead><tr><th>Member</th><th>API</th><th>Role</th></tr></thead><tbody>${members}</tbody></table>
    <div class="cluster-switches">${switches}</div>`;
}

function renderSwitches() {
  const st = state.status;
  const el = $('switches');
  if (!st || st.switches.length === 0) {
    el.innerHTML = '<div class="empty">no switches connected</div>';
    return;
  }
  el.innerHTML = `<table><thead><tr><th>Datapath</th><th>OF</th><th>Profile</th><th>Address</th><th class="num">Ports</th><th class="num">Up</th></tr></thead><tbody>${
    st.switches.map((w) => `<tr data-switch="${esc(w.dpid)}">
      <td class="mono">${esc(w.dpid)}</td><td>1.${w.version - 1}</td>
      <td class="profile" title="${w.profile === 'ovs' ? 'the switch remembers every connection (learn)' : 'standard OpenFlow 1.3: query/reply migration windows'}">${esc(w.profile)}${w.profileForced ? ' (forced)' : ''}</td>
      <td class="mono">${esc(w.address)}</td>
      <td class="num" title="${esc(w.ports.map((p) => `${p.portNo} ${p.name}${p.up ? '' : ' (down)'}`).join(', '))}">${w.ports.filter((p) => p.up).length}/${w.ports.length}</td>
      <td class="num">${esc(since(w.connectedAt))}</td></tr>`).join('')
  }</tbody></table>`;
}

function renderServices() {
  const el = $('services');
  if (state.services.length === 0) {
    el.innerHTML = '<div class="panel"><div class="empty">no services yet — <span class="mono">holdfast service add NAME --vip IP --port N</span></div></div>';
    return;
  }
  el.innerHTML = state.services.map(serviceHtml).join('');
  renderBackendCharts();
}

function serviceHtml(svc) {
  const colors = colorsOf(svc);
  const pins = svc.backends.reduce((n, b) => n + b.pins, 0);
  const conns = svc.backends.reduce((n, b) => n + (b.connections ?? 0), 0);
  const migrating = svc.migrations.length;
  return `<section class="panel service" data-service="${esc(svc.name)}">
    <header>
      <span class="name">${esc(svc.name)}</span>
      <span class="meta mono">${esc(svc.vip)}:${svc.port}/${esc(svc.proto)}</span>
      <span class="pill">${esc(svc.mode)}</span>
      <span class="pill">${svc.slots} slots</span>
      ${svc.tracking === 'all' ? '<span class="pill">tracks all flows</span>' : ''}
      ${migrating ? `<span class="pill mig">${migrating} migrating</span>` : ''}
      ${Object.keys(svc.failedOn || {}).length ? `<span class="pill bad" title="${esc(Object.entries(svc.failedOn).map(([d, e]) => `${d}: ${e}`).join('\n'))}">failed on ${Object.keys(svc.failedOn).length} switch(es)</span>` : ''}
      <span class="meta">${human(conns)} connections · ${human(pins)} pins · ${human(svc.counters.packetIns)} packet-ins</span>
    </header>
    <div class="ring">${ringSvg(svc, colors)}
      <div class="legend">
        <span>${swatch('#ffffff', 8)} query slot</span>
        <span>${swatch(MIGRATING, 8)} migrating</span>
        <span>${swatch(NO_OWNER, 8)} no owner</span>
      </div>
    </div>
    <div class="backends">${backendsTable(svc, colors)}</div>
    <div class="backend-charts">
      <div class="chart" data-chart="connections"><h3>Connections per backend<span class="now"></span></h3><svg viewBox="0 0 600 120" preserveAspectRatio="none"></svg></div>
      <div class="chart" data-chart="traffic"><h3>Traffic per backend <span class="unit">B/s</span><span class="now"></span></h3><svg viewBox="0 0 600 120" preserveAspectRatio="none"></svg></div>
    </div>
  </section>`;
}

function polar(cx, cy, r, a) {
  return [cx + r * Math.cos(a), cy + r * Math.sin(a)];
}

function arcPath(cx, cy, r0, r1, a0, a1) {
  const large = a1 - a0 > Math.PI ? 1 : 0;
  const [x0, y0] = polar(cx, cy, r1, a0);
  const [x1, y1] = polar(cx, cy, r1, a1);
  const [x2, y2] = polar(cx, cy, r0, a1);
  const [x3, y3] = polar(cx, cy, r0, a0);
  const f = (n) => n.toFixed(2);
  return `M${f(x0)} ${f(y0)}A${r1} ${r1} 0 ${large} 1 ${f(x1)} ${f(y1)}L${f(x2)} ${f(y2)}A${r0} ${r0} 0 ${large} 0 ${f(x3)} ${f(y3)}Z`;
}

/** Runs of equal value as [start, endExclusive, value] (fewer SVG elements on big rings). */
function runs(n, valueAt) {
  const out = [];
  let start = 0;
  for (let i = 1; i <= n; i++) {
    if (i === n || valueAt(i) !== valueAt(start)) {
      out.push([start, i, valueAt(start)]);
      start = i;
    }
  }
  return out;
}

function ringSvg(svc, colors) {
  const S = svc.slots;
  const cx = 125, cy = 125;
  const step = (2 * Math.PI) / S;
  const a = (i) => -Math.PI / 2 + i * step;
  const gap = S <= 64 ? Math.min(step * 0.12, 0.02) : 0;
  const query = new Set(svc.querySlots);
  const migTo = new Map(svc.migrations.map((m) => [m.slot, m]));
  const parts = [];
  // Owner ring.
  const single = S <= 128;
  const ownerRuns = single ? [...Array(S).keys()].map((i) => [i, i + 1, svc.slotOwners[i]]) : runs(S, (i) => svc.slotOwners[i]);
  for (const [s, e, owner] of ownerRuns) {
    const color = owner == null ? NO_OWNER : (colors.get(owner) || '#888');
    const title = single ? `slot ${s}: ${owner ?? 'no owner'}` : `slots ${s}–${e - 1}: ${owner ?? 'no owner'}`;
    parts.push(`<path d="${arcPath(cx, cy, 80, 108, a(s) + gap / 2, a(e) - gap / 2)}" fill="${color}"><title>${esc(title)}</title></path>`);
  }
  // Migrating slots: an outer arc in the destination's colour, pulsing.
  const migRuns = runs(S, (i) => (migTo.has(i) ? (migTo.get(i).to ?? '') : null)).filter((r) => r[2] !== null);
  for (const [s, e, to] of migRuns) {
    const color = to ? (colors.get(to) || MIGRATING) : NO_OWNER;
    parts.push(`<path class="migrating" d="${arcPath(cx, cy, 111, 121, a(s), a(e))}" fill="${MIGRATING}"><title>slots ${s}–${e - 1} migrating to ${esc(to || 'none')}</title></path>`);
    parts.push(`<path class="migrating" d="${arcPath(cx, cy, 113, 119, a(s), a(e))}" fill="${color}"/>`);
  }
  // Query slots: a white inner band.
  const qRuns = runs(S, (i) => query.has(i)).filter((r) => r[2]);
  for (const [s, e] of qRuns) {
    parts.push(`<path d="${arcPath(cx, cy, 72, 77, a(s), a(e))}" fill="#ffffff"><title>query slots ${s}–${e - 1}</title></path>`);
  }
  const active = svc.backends.filter((b) => b.state === 'active').length;
  return `<svg viewBox="0 0 250 250" role="img" aria-label="slot ring of ${esc(svc.name)}">
    <circle cx="${cx}" cy="${cy}" r="94" fill="none" stroke="#1f2329" stroke-width="30"/>
    ${parts.join('')}
    <text x="${cx}" y="${cy - 4}" text-anchor="middle" class="center-big">${svc.backends.length}</text>
    <text x="${cx}" y="${cy + 14}" text-anchor="middle" class="center-small">backends · ${active} active</text>
    <text x="${cx}" y="${cy + 30}" text-anchor="middle" class="center-small">${query.size} query · ${svc.migrations.length} migrating</text>
  </svg>`;
}

function backendsTable(svc, colors) {
  if (svc.backends.length === 0) return '<div class="empty">no backends — <span class="mono">holdfast backend add ' + esc(svc.name) + ' IP:PORT</span></div>';
  const rows = svc.backends.map((b) => {
    const r = state.rates.get(`${svc.name}/${b.key}`);
    const share = svc.slots ? b.slots / svc.slots : 0;
    return `<tr data-backend="${esc(b.key)}">
      <td class="mono">${swatch(colors.get(b.key))}${esc(b.key)}</td>
      <td><span class="state ${esc(b.state)}">${esc(b.state)}</span> <span class="t">${esc(since(b.stateSince))}</span></td>
      <td class="num">${b.weight}</td>
      <td class="num">${b.slots}${b.slotsIncoming ? ` <span class="pill mig">+${b.slotsIncoming}</span>` : ''}<span class="bar"><svg width="60" height="6"><rect width="${(share * 60).toFixed(1)}" height="6" fill="${colors.get(b.key)}"/></svg></span></td>
      <td class="num conns">${human(b.connections ?? 0)}</td>
      <td class="num">${human(b.pins)}</td>
      <td class="num rate-pkts">${r ? human(r.packetsPerSec) : '0'}</td>
      <td class="num rate-bytes">${r ? bytesRate(r.bytesPerSec) : '0 B/s'}</td>
      <td class="mono">${esc(b.mac || b.resolvedMac || '—')}</td>
      <td class="health">${healthCell(b)}</td>
    </tr>`;
  }).join('');
  return `<table><thead><tr><th>Backend</th><th>State</th><th class="num">Weight</th><th class="num">Slots</th><th class="num">Conns</th><th class="num">Pins</th><th class="num">Pkts/s</th><th class="num">Traffic</th><th>MAC</th><th>Health</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/** A backend's health: status and check, round-trip time, last result; slow start in progress. */
function healthCell(b) {
  const h = b.health;
  if (!h) return '—';
  const cls = h.status === 'up' ? 'up' : 'down';
  const now = Date.now();
  const ss = h.slowStart && now < h.slowStart.until
    ? ` <span class="pill mig">slow start ${Math.round((100 * (now - h.slowStart.since)) / Math.max(1, h.slowStart.until - h.slowStart.since))}%</span>` : '';
  const rtt = h.rttMs === null || h.rttMs === undefined ? '' : ` <span class="t">${h.rttMs} ms</span>`;
  const title = [h.lastResult, h.note].filter(Boolean).join(' · ');
  return `<span class="hstate ${cls}" title="${esc(title)}">${esc(h.status)} · ${esc(h.check)}</span>${rtt}${ss} <span class="t">${esc(since(h.lastChange))}</span>`
    + (h.lastResult ? `<div class="t">${esc(h.lastResult)}</div>` : '');
}

/** Rates change every second; update just those cells. */
function renderRates() {
  for (const svcEl of document.querySelectorAll('[data-service]')) {
    const name = svcEl.dataset.service;
    for (const row of svcEl.querySelectorAll('tr[data-backend]')) {
      const r = state.rates.get(`${name}/${row.dataset.backend}`);
      const p = row.querySelector('.rate-pkts');
      const b = row.querySelector('.rate-bytes');
      if (p) p.textContent = r ? human(r.packetsPerSec) : '0';
      if (b) b.textContent = r ? bytesRate(r.bytesPerSec) : '0 B/s';
    }
  }
}

// ---------------------------------------------------------------------------- charts

const CHARTS = [
  { id: 'chart-packetins', field: 'packetInsPerSec', color: '#5794f2' },
  { id: 'chart-pins', field: 'pinsInstalledPerSec', color: '#73bf69' },
  { id: 'chart-migrations', field: 'migrationsActive', color: '#ff9830' },
];

function niceMax(v) {
  if (v <= 1) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function renderCharts() {
  const now = state.samples.length ? state.samples[state.samples.length - 1].at : Date.now();
  const t0 = now - WINDOW_MS;
  const W = 600, H = 150, L = 34, B = 16, T = 6;
  for (const c of CHARTS) {
    const box = $(c.id);
    const svg = box.querySelector('svg');
    const pts = state.samples.filter((s) => s.at >= t0).map((s) => [s.at, s[c.field] ?? 0]);
    const max = niceMax(Math.max(0, ...pts.map((p) => p[1])));
    const x = (t) => L + ((t - t0) / WINDOW_MS) * (W - L);
    const y = (v) => T + (1 - v / max) * (H - B - T);
    const grid = [0, 0.5, 1].map((f) => {
      const v = max * f;
      return `<line class="grid" x1="${L}" x2="${W}" y1="${y(v)}" y2="${y(v)}"/><text class="axis" x="${L - 6}" y="${y(v) + 3}" text-anchor="end">${human(v)}</text>`;
    }).join('');
    const times = [[t0, '-5m'], [t0 + WINDOW_MS / 2, '-2.5m'], [now, 'now']].map(([t, label], i) =>
      `<text class="axis" x="${x(t)}" y="${H - 2}" text-anchor="${i === 0 ? 'start' : i === 2 ? 'end' : 'middle'}">${label}</text>`).join('');
    let line = '';
    let area = '';
    if (pts.length > 1) {
      const d = pts.map(([t, v], i) => `${i ? 'L' : 'M'}${x(t).toFixed(1)} ${y(v).toFixed(1)}`).join('');
      line = `<path class="line" d="${d}" stroke="${c.color}"/>`;
      area = `<path d="${d}L${x(pts[pts.length - 1][0]).toFixed(1)} ${y(0)}L${x(pts[0][0]).toFixed(1)} ${y(0)}Z" fill="url(#g-${c.id})"/>`;
    }
    svg.innerHTML = `<defs><linearGradient id="g-${c.id}" x1="0" x2="0" y1="0" y2="1"><stop offset="0" stop-color="${c.color}" stop-opacity=".35"/><stop offset="1" stop-color="${c.color}" stop-opacity="0"/></linearGradient></defs>${grid}${times}${area}${line}`;
    const last = pts[pts.length - 1];
    box.querySelector('.now').textContent = last ? human(last[1]) : '0';
  }
}

/** Per service: one line per backend (its ring colour) for live connections and bytes/s, over
 * the same five minutes as the charts above (samples carry every backend). */
const BACKEND_CHARTS = [
  { kind: 'connections', field: 'connections', fmt: human },
  { kind: 'traffic', field: 'bytesPerSec', fmt: bytesRate },
];

function renderBackendCharts() {
  const now = state.samples.length ? state.samples[state.samples.length - 1].at : Date.now();
  const t0 = now - WINDOW_MS;
  const samples = state.samples.filter((s) => s.at >= t0);
  const W = 600, H = 120, L = 34, B = 16, T = 6;
  const x = (t) => L + ((t - t0) / WINDOW_MS) * (W - L);
  for (const svc of state.services) {
    const el = document.querySelector(`[data-service="${CSS.escape(svc.name)}"]`);
    if (!el) continue;
    const colors = colorsOf(svc);
    for (const c of BACKEND_CHARTS) {
      const box = el.querySelector(`[data-chart="${c.kind}"]`);
      if (!box) continue;
      const series = svc.backends.map((b) => ({
        key: b.key,
        pts: samples.map((s) => {
          const v = s.backends.find((x) => x.service === svc.name && x.key === b.key);
          return v ? [s.at, v[c.field] ?? 0] : null;
        }).filter(Boolean),
      }));
      const max = niceMax(Math.max(0, ...series.flatMap((s) => s.pts.map((p) => p[1]))));
      const y = (v) => T + (1 - v / max) * (H - B - T);
      const grid = [0, 0.5, 1].map((f) => {
        const v = max * f;
        return `<line class="grid" x1="${L}" x2="${W}" y1="${y(v)}" y2="${y(v)}"/><text class="axis" x="${L - 6}" y="${y(v) + 3}" text-anchor="end">${human(v)}</text>`;
      }).join('');
      const lines = series.filter((s) => s.pts.length > 1).map((s) => {
        const d = s.pts.map(([t, v], i) => `${i ? 'L' : 'M'}${x(t).toFixed(1)} ${y(v).toFixed(1)}`).join('');
        return `<path class="line" data-backend="${esc(s.key)}" d="${d}" stroke="${colors.get(s.key) ?? '#8e8e8e'}"><title>${esc(s.key)}</title></path>`;
      }).join('');
      box.querySelector('svg').innerHTML = `${grid}${lines}`;
      const total = series.reduce((n, s) => n + (s.pts.length ? s.pts[s.pts.length - 1][1] : 0), 0);
      box.querySelector('.now').textContent = c.fmt(total);
    }
  }
}

// ---------------------------------------------------------------------------- events

let renderedTopEvent = 0;

function renderEvents(fresh) {
  const el = $('events');
  if (state.events.length === 0) {
    el.innerHTML = '<li class="empty">no events yet</li>';
    return;
  }
  // Newest first: a run of slot moves starts at its newest move.
  el.innerHTML = groupSlotMoves(state.events).slice(0, SHOWN_EVENTS).map((line) => {
    const e = 'slots' in line ? line.first : line;
    const isNew = fresh && e.id > renderedTopEvent;
    return `<li class="${isNew ? 'fresh' : ''}" data-event="${e.id}"><span class="t">${esc(clock(e.at))}</span><span class="ev-text ${lineTone(line)}">${esc(lineText(line))}</span></li>`;
  }).join('');
  renderedTopEvent = state.events[0].id;
}

// "since" columns age while nothing else changes.
setInterval(() => { if (state.connected) { renderTop(); } }, 1000);
setInterval(() => { if (state.connected) refreshCluster(); }, CLUSTER_EVERY_MS);

renderCharts();
connect();
