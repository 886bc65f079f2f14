// Input validation for the control surface: every check that can reject an operator's request
// before anything changes. Each failure is one clear line (LbError 'invalid').

import { maxSlotsFor } from './pipeline.js';
import type { ServiceInput } from './control.js';
import { LbError } from './errors.js';
import { validateHealth } from './health.js';
import {
  SERVICE_DEFAULTS, SLOTS_MAX, SLOTS_MIN, WEIGHT_MAX,
  type BackendSpec, type ServiceSpec,
} from './model.js';

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

function invalid(message: string): never {
  throw new LbError('invalid', message);
}

export function isIpv4(s: string): boolean {
  const parts = s.split('.');
  return parts.length === 4 && parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255);
}

export function checkIpv4(what: string, s: unknown): string {
  if (typeof s !== 'string' || !isIpv4(s)) invalid(`${what} must be an IPv4 address like 10.0.0.1, got ${JSON.stringify(s)}`);
  const n = s.split('.').map(Number);
  if (n[0] === 0 || n[0] >= 224 || (n[0] === 255)) invalid(`${what} ${s} is not a unicast address`);
  return s;
}

export function checkInt(what: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    invalid(`${what} must be a whole number from ${min} to ${max}, got ${JSON.stringify(v)}`);
  }
  return v;
}

export function normalizeMac(what: string, v: unknown): string {
  const s = typeof v === 'string' ? v.trim().toLowerCase().replace(/-/g, ':') : '';
  if (!MAC_RE.test(s)) invalid(`${what} must be a MAC address like 02:00:00:00:00:01, got ${JSON.stringify(v)}`);
  if (parseInt(s.slice(0, 2), 16) & 1) invalid(`${what} ${s} is a multicast address`);
  return s;
}

/** Datapath ids are written as 16 hex digits; accept 0x-prefixed, colon-separated or short forms. */
export function normalizeDpid(v: unknown): string {
  const s = typeof v === 'string' ? v.trim().toLowerCase().replace(/^0x/, '').replace(/:/g, '') : '';
  if (!/^[0-9a-f]{1,16}$/.test(s)) invalid(`switch datapath id must be up to 16 hex digits, got ${JSON.stringify(v)}`);
  return s.padStart(16, '0');
}

/** Fills defaults and validates a service request. */
export function validateServiceInput(input: ServiceInput): ServiceSpec {
  if (typeof input !== 'object' || input === null) invalid('service must be an object');
  if (typeof input.name !== 'string' || !NAME_RE.test(input.name)) {
    invalid(`service name must be 1-63 letters, digits, '.', '_' or '-', got ${JSON.stringify(input.name)}`);
  }
  const proto = input.proto ?? SERVICE_DEFAULTS.proto;
  if (proto !== 'tcp' && proto !== 'udp') invalid(`proto must be tcp or udp, got ${JSON.stringify(proto)}`);
  const mode = input.mode ?? SERVICE_DEFAULTS.mode;
  if (mode !== 'nat' && mode !== 'dsr') invalid(`mode must be nat or dsr, got ${JSON.stringify(mode)}`);
  const tracking = input.tracking ?? SERVICE_DEFAULTS.tracking;
  if (tracking !== 'migrations' && tracking !== 'all') invalid(`tracking must be migrations or all, got ${JSON.stringify(tracking)}`);
  const idle = { ...SERVICE_DEFAULTS.pinIdleTimeout, ...(input.pinIdleTimeout ?? {}) };
  const migration = { ...SERVICE_DEFAULTS.migration, ...(input.migration ?? {}) };
  const spec: ServiceSpec = {
    name: input.name,
    vip: checkIpv4('vip', input.vip),
    port: checkInt('port', input.port, 1, 65535),
    proto,
    mode,
    slots: checkInt('slots', input.slots ?? SERVICE_DEFAULTS.slots, SLOTS_MIN, SLOTS_MAX),
    switches: (input.switches ?? []).map(normalizeDpid),
    pinIdleTimeout: {
      tcp: checkInt('tcp pin idle timeout (s)', idle.tcp, 1, 65535),
      udp: checkInt('udp pin idle timeout (s)', idle.udp, 1, 65535),
    },
    migration: {
      minMs: checkInt('migration minimum window (ms)', migration.minMs, 0, 3_600_000),
      quietMs: checkInt('migration quiet period (ms)', migration.quietMs, 0, 3_600_000),
      maxMs: checkInt('migration maximum window (ms)', migration.maxMs, 0, 3_600_000),
    },
    drainDeadlineMs: checkInt('drain deadline (ms)', input.drainDeadlineMs ?? SERVICE_DEFAULTS.drainDeadlineMs, 0, 7 * 86_400_000),
    tracking,
    maxQuerySlots: checkInt('max query slots', input.maxQuerySlots ?? SERVICE_DEFAULTS.maxQuerySlots, 1, SLOTS_MAX),
    health: validateHealth(input.health, proto),
  };
  if (spec.migration.maxMs < spec.migration.minMs) invalid('migration maximum window must not be shorter than the minimum window');
  const limit = maxSlotsFor(spec.mode, spec.proto);
  if (spec.slots > limit) {
    invalid(`slots ${spec.slots} is over the limit of ${limit} for a ${spec.mode} ${spec.proto} service: its group (one bucket a slot) must fit in one OpenFlow message of 64 KiB`);
  }
  return spec;
}

/** Validates a backend for a service of the given mode. */
export function validateBackendSpec(spec: BackendSpec, mode: ServiceSpec['mode']): BackendSpec {
  if (typeof spec !== 'object' || spec === null) invalid('backend must be an object');
  const ip = checkIpv4('backend address', spec.ip);
  let port: number | undefined;
  if (mode === 'nat') {
    port = spec.port === undefined ? undefined : checkInt('backend port', spec.port, 1, 65535);
  } else if (spec.port !== undefined) {
    invalid('a dsr backend takes no port: it answers on the service port');
  }
  const weight = checkInt('weight', spec.weight ?? 1, 0, WEIGHT_MAX);
  const hasMac = spec.mac !== undefined;
  const hasPort = spec.switchPort !== undefined;
  if (hasMac !== hasPort) invalid('give both --mac and --switch-port, or neither (the controller then resolves them by ARP)');
  return {
    ip,
    ...(port === undefined ? {} : { port }),
    weight,
    ...(hasMac ? { mac: normalizeMac('backend MAC', spec.mac), switchPort: checkInt('switch port', spec.switchPort, 1, 0xffffff00) } : {}),
  };
}

/** Parses "IP" or "IP:PORT" as operators write a backend. */
export function parseBackendKey(s: string): { ip: string; port?: number } {
  const m = /^([^:]+)(?::(\d+))?$/.exec(s);
  if (!m) invalid(`backend must be IP or IP:PORT, got ${JSON.stringify(s)}`);
  const ip = checkIpv4('backend address', m[1]);
  return m[2] === undefined ? { ip } : { ip, port: checkInt('backend port', Number(m[2]), 1, 65535) };
}
