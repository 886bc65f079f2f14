// Human output of the CLI: aligned tables and one-line event descriptions (the words of an event
// are apps/lb/event-text.ts, shared with the live view).
import type { BackendView, ServiceView, StatusView } from '../../apps/lb/control.js';
import { describeHealth, eventText, groupSlotMoves, lineText, type EventLine, type SlotMoveGroup } from '../../apps/lb/event-text.js';
import type { StoredEvent } from '../../apps/lb/model.js';
import type { ClusterInfo } from '../../controller/management/follower.js';

export { describeHealth, groupSlotMoves, type SlotMoveGroup };

/** Left-aligned columns, two spaces apart; numeric-looking columns right-aligned. */
export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const numeric = header.map((_, i) => rows.length > 0 && rows.every((r) => /^-?\d+(\.\d+)?[KMGT]?(\/s)?$|^-$/.test(String(r[i] ?? ''))));
  return cells
    .map((r) => r.map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd())
    .join('\n');
}

export function human(n: number): string {
  if (n < 1000) return String(Math.round(n));
  const units = ['K', 'M', 'G', 'T'];
  let v = n;
  let u = -1;
  while (v >= 1000 && u < units.length - 1) { v /= 1000; u++; }
  return `${v.toFixed(v < 10 ? 1 : 0)}${units[u]}`;
}

export function ago(ms: number, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600)}h`;
}

export function servicesTable(services: ServiceView[]): string {
  if (services.length === 0) return 'no services';
  return table(
    ['NAME', 'VIP', 'PORT', 'PROTO', 'MODE', 'SLOTS', 'BACKENDS', 'ACTIVE', 'MIGRATING', 'CONNS', 'PINS'],
    services.map((s) => [
      s.name, s.vip, s.port, s.proto, s.mode, s.slots, s.backends.length,
      s.backends.filter((b) => b.state === 'active').length, s.migrations.length,
      s.backends.reduce((n, b) => n + b.connections, 0), s.backends.reduce((n, b) => n + b.pins, 0),
    ]),
  );
}

export function backendsTable(backends: BackendView[], now = Date.now()): string {
  if (backends.length === 0) return 'no backends';
  return table(
    ['BACKEND', 'STATE', 'SINCE', 'WEIGHT', 'SLOTS', 'INCOMING', 'CONNS', 'PINS', 'PACKETS', 'BYTES', 'MAC', 'HEALTH', 'RTT', 'LAST CHECK'],
    backends.map((b) => [
      b.key, b.state, ago(b.stateSince, now), b.weight, b.slots, b.slotsIncoming, b.connections, b.pins,
      human(b.traffic.packets), human(b.traffic.bytes), b.mac ?? b.resolvedMac ?? '-',
      healthCell(b, now), b.health.rttMs === null ? '-' : `${b.health.rttMs}ms`, b.health.lastResult ?? '-',
    ]),
  );
}

/** "up (tcp)", "down (http) 12s", "up (tcp) slow start 40%" */
export function healthCell(b: BackendView, now = Date.now()): string {
  const h = b.health;
  const ss = h.slowStart && now < h.slowStart.until
    ? ` slow start ${Math.round((100 * (now - h.slowStart.since)) / Math.max(1, h.slowStart.until - h.slowStart.since))}%` : '';
  return `${h.status} (${h.check}) ${ago(h.lastChange, now)}${ss}`;
}

export function serviceDetail(s: ServiceView): string {
  const lines = [
    `service ${s.name}`,
    `  vip        ${s.vip}:${s.port}/${s.proto}  (virtual MAC ${s.vmac})`,
    `  mode       ${s.mode}`,
    `  slots      ${s.slots} (${s.querySlots.length} query, ${s.migrations.length} migrating)`,
    `  switches   ${s.switches.length === 0 ? 'all' : s.switches.join(', ')}`,
    `  tracking   ${s.tracking}`,
    `  migration  min ${s.migration.minMs} ms, quiet ${s.migration.quietMs} ms, max ${s.migration.maxMs} ms; at most ${s.maxQuerySlots} query slots`,
    `  pins idle  tcp ${s.pinIdleTimeout.tcp} s, udp ${s.pinIdleTimeout.udp} s`,
    `  health     ${describeHealth(s.health)}`,
    ...[...new Set(s.backends.map((b) => b.health.note).filter((n): n is string => n !== undefined))].map((n) => `             ${n}`),
    `  counters   ${s.counters.packetIns} packet-ins, ${s.counters.pinsInstalled} pins installed, ${s.counters.pinsRemoved} removed`,
    ...Object.entries(s.failedOn ?? {}).map(([dpid, err]) => `  FAILED on switch ${dpid}: ${err}`),
    '',
    backendsTable(s.backends),
  ];
  return lines.join('\n');
}

export function statusText(st: StatusView, now = Date.now()): string {
  const c = st.counters;
  const parts = [
    `up ${ago(st.startedAt, now)}  ·  ${st.switches.length} switch${st.switches.length === 1 ? '' : 'es'}  ·  ${st.services.length} service${st.services.length === 1 ? '' : 's'}`,
    `packet-ins ${c.packetIns}  ·  pins installed ${c.pinsInstalled}, removed ${c.pinsRemoved}  ·  migrations active ${c.migrationsActive}  ·  slots moved ${c.slotsMoved}`,
    st.monitor.ip ? `health probes from ${st.monitor.ip} (${st.monitor.mac})` : `health: ${st.monitor.note ?? 'no monitor address'}`,
    '',
    st.switches.length === 0
      ? 'no switches connected'
      : table(['SWITCH', 'OF', 'PROFILE', 'ADDRESS', 'UP', 'PORTS', 'QUEUE'], st.switches.map((w) => [
        w.dpid, `1.${w.version - 1}`, `${w.profile}${w.profileForced ? ' (forced)' : ''}`, w.address, ago(w.connectedAt, now), w.ports.length, w.queueDepth,
      ])),
    '',
    st.services.length === 0
      ? 'no services'
      : table(['SERVICE', 'VIP', 'PROTO', 'MODE', 'BACKENDS', 'ACTIVE', 'MIGRATING', 'CONNS', 'PINS'], st.services.map((s) => [
        s.name, `${s.vip}:${s.port}`, s.proto, s.mode, s.backends, s.activeBackends, s.migrating, s.connections, s.pins,
      ])),
  ];
  return parts.join('\n');
}

/** The cluster as the answering controller sees it: members, leader, generation, its switch roles. */
export function clusterText(c: ClusterInfo): string {
  const rows = c.members.map((m) => [m.name, m.api, m.name === c.leader?.name ? 'leader' : 'follower', m.name === c.self.name ? '(this one)' : '']);
  const lines = [
    `cluster: ${c.members.length} member${c.members.length === 1 ? '' : 's'}, leader ${c.leader?.name ?? 'none'}, generation ${c.generationId}`,
    table(['MEMBER', 'API', 'ROLE', ''], rows),
  ];
  if (c.switches.length > 0) lines.push('', table(['SWITCH', 'ROLE HERE', 'GENERATION'], c.switches.map((s) => [s.dpid, s.role, s.generationId])));
  return lines.join('\n');
}

/** "2026-…Z  #12  web: backend 10.0.0.1:80 added" */
export function describeEvent(e: StoredEvent): string {
  return `${new Date(e.at).toISOString()}  #${e.id}  ${eventText(e.event)}`;
}

/** One event as describeEvent, or a run of slot moves with its first and last ids. */
export function describeGroup(g: EventLine): string {
  if (!('slots' in g)) return describeEvent(g);
  if (g.slots.length === 1) return describeEvent(g.first);
  return `${new Date(g.last.at).toISOString()}  #${g.first.id}-${g.last.id}  ${lineText(g)}`;
}
