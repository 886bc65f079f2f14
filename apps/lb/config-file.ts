// The declarative configuration file of `holdfast apply` / `holdfast export` (YAML, or JSON, which
// is YAML too): parsing with line numbers, validation with one problem per line, and writing the
// live state back out. Pure: text in, a desired state or a list of problems out.
//
//   services:
//     - name: web
//       vip: 10.0.0.100
//       port: 80
//       mode: nat                     # every service setting of `service add`, defaults as there
//       removeMissingBackends: drain  # or `now`: backends missing from the file break their connections
//       backends:
//         - 10.0.0.11:8080            # weight 1
//         - { address: 10.0.0.12:8080, weight: 3 }
//         - { address: 10.0.0.13:8080, state: drained }

import { isMap, isScalar, isSeq, LineCounter, parseDocument, stringify, type Node, type Pair } from 'yaml';
import { LbError, type ServiceInput, type ServiceView } from './control.js';
import { backendKey, SERVICE_DEFAULTS, type BackendSpec, type ServiceSpec } from './model.js';
import { parseBackendKey, validateBackendSpec, validateServiceInput } from './validation.js';

export interface Problem {
  /** 1-based line in the file (0: the file as a whole). */
  line: number;
  message: string;
}

export type RemoveMissing = 'drain' | 'now';
export type DesiredBackendState = 'active' | 'drained';

export interface DesiredBackend {
  key: string;
  spec: BackendSpec;
  state: DesiredBackendState;
  line: number;
}

export interface DesiredService {
  spec: ServiceSpec;
  backends: DesiredBackend[];
  removeMissingBackends: RemoveMissing;
  line: number;
  /** Line of each setting given in the file (for problems found against the live state). */
  fieldLines: Partial<Record<keyof ServiceSpec, number>>;
}

export interface DesiredConfig {
  services: DesiredService[];
}

const SERVICE_KEYS = [
  'name', 'vip', 'port', 'proto', 'mode', 'slots', 'switches', 'pinIdleTimeout', 'migration', 'drainDeadlineMs', 'tracking',
  'maxQuerySlots',
] as const satisfies readonly (keyof ServiceSpec)[];
const SERVICE_FILE_KEYS = [...SERVICE_KEYS, 'backends', 'removeMissingBackends'];
const BACKEND_KEYS = ['address', 'weight', 'mac', 'switchPort', 'state'];

function messageOf(err: unknown): string {
  return err instanceof LbError ? err.message : err instanceof Error ? err.message : String(err);
}

/** Parses and validates a configuration file. `problems` empty ⇔ `config` set. */
export function parseConfig(text: string): { config?: DesiredConfig; problems: Problem[] } {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const problems: Problem[] = [];
  const lineOf = (n: Node | Pair | null | undefined): number => {
    const node = n && 'range' in n ? n : (n as Pair | undefined)?.key;
    const range = node && typeof node === 'object' && 'range' in node ? (node as Node).range : undefined;
    return range ? lc.linePos(range[0]).line : 0;
  };
  const problem = (line: number, message: string): void => {
    problems.push({ line, message });
  };
  if (doc.errors.length > 0) {
    // Without prettyErrors the parser leaves linePos unset: place the error from its offset.
    for (const e of doc.errors) {
      const at = Math.min(e.pos[0], Math.max(0, text.length - 1));
      problem(e.linePos?.[0]?.line ?? lc.linePos(at).line, e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, ''));
    }
    return { problems };
  }
  const root = doc.contents;
  if (!isMap(root)) {
    problem(lineOf(root as Node | null), 'the file must be a map with a "services" list');
    return { problems };
  }
  let servicesNode: Node | undefined;
  for (const pair of root.items) {
    const k = isScalar(pair.key) ? String(pair.key.value) : '';
    if (k === 'services') servicesNode = pair.value as Node | undefined;
    else problem(lineOf(pair.key as Node), `unknown key "${k}" (expected "services")`);
  }
  const services: DesiredService[] = [];
  if (servicesNode !== undefined && servicesNode !== null && !isSeq(servicesNode)) {
    problem(lineOf(servicesNode), '"services" must be a list');
  } else if (isSeq(servicesNode)) {
    for (const item of servicesNode.items) {
      const s = parseService(item as Node, lineOf, problem);
      if (s) services.push(s);
    }
  }
  // Across services: unique names and addresses.
  const names = new Map<string, number>();
  const addrs = new Map<string, string>();
  for (const s of services) {
    if (names.has(s.spec.name)) problem(s.line, `service ${s.spec.name} appears twice (first on line ${names.get(s.spec.name)})`);
    else names.set(s.spec.name, s.line);
    const a = `${s.spec.vip}:${s.spec.port}/${s.spec.proto}`;
    if (addrs.has(a)) problem(s.fieldLines.vip ?? s.line, `service ${s.spec.name}: ${a} is already service ${addrs.get(a)}`);
    else addrs.set(a, s.spec.name);
  }
  problems.sort((a, b) => a.line - b.line);
  return problems.length > 0 ? { problems } : { config: { services }, problems };
}

function parseService(
  node: Node, lineOf: (n: Node | Pair | null | undefined) => number, problem: (line: number, message: string) => void,
): DesiredService | undefined {
  const line = lineOf(node);
  if (!isMap(node)) {
    problem(line, 'a service must be a map (name, vip, port, ..., backends)');
    return undefined;
  }
  const fields = new Map<string, { value: unknown; line: number; node: Node }>();
  for (const pair of node.items) {
    const k = isScalar(pair.key) ? String(pair.key.value) : '';
    const l = lineOf(pair.key as Node);
    if (!SERVICE_FILE_KEYS.includes(k)) {
      problem(l, `unknown service setting "${k}" (allowed: ${SERVICE_FILE_KEYS.join(', ')})`);
      continue;
    }
    const v = pair.value as Node | null;
    fields.set(k, { value: v === null ? null : (v as { toJSON(): unknown }).toJSON(), line: l, node: v as Node });
  }
  const name = fields.get('name')?.value;
  const label = typeof name === 'string' ? `service ${name}` : 'service';
  for (const req of ['name', 'vip', 'port'] as const) {
    if (!fields.has(req)) problem(line, `${label}: "${req}" is required`);
  }
  // Each setting alone (the others at harmless values), so every bad one gets its own line.
  const input: Record<string, unknown> = {};
  const fieldLines: DesiredService['fieldLines'] = {};
  let bad = false;
  for (const k of SERVICE_KEYS) {
    const f = fields.get(k);
    if (!f) continue;
    fieldLines[k] = f.line;
    const probe = { name: 'probe', vip: '10.0.0.1', port: 1, [k]: f.value } as unknown as ServiceInput;
    try {
      validateServiceInput(probe);
      input[k] = f.value;
    } catch (err) {
      bad = true;
      problem(f.line, `${label}: ${messageOf(err)}`);
    }
  }
  const removeMissing = fields.get('removeMissingBackends');
  if (removeMissing && removeMissing.value !== 'drain' && removeMissing.value !== 'now') {
    bad = true;
    problem(removeMissing.line, `${label}: removeMissingBackends must be drain or now, got ${JSON.stringify(removeMissing.value)}`);
  }
  let spec: ServiceSpec | undefined;
  if (!bad && fields.has('name') && fields.has('vip') && fields.has('port')) {
    try {
      spec = validateServiceInput(input as unknown as ServiceInput);
    } catch (err) {
      problem(line, `${label}: ${messageOf(err)}`);
    }
  }
  const backends: DesiredBackend[] = [];
  const b = fields.get('backends');
  if (b && b.node !== null && !isSeq(b.node)) problem(b.line, `${label}: "backends" must be a list`);
  else if (b && isSeq(b.node)) {
    const seen = new Map<string, number>();
    for (const item of b.node.items) {
      const d = parseBackend(item as Node, spec?.mode ?? (input.mode as ServiceSpec['mode'] | undefined) ?? SERVICE_DEFAULTS.mode, label, lineOf, problem);
      if (!d) continue;
      if (seen.has(d.key)) problem(d.line, `${label}: backend ${d.key} appears twice (first on line ${seen.get(d.key)})`);
      else seen.set(d.key, d.line);
      backends.push(d);
    }
  }
  if (!spec) return undefined;
  return { spec, backends, removeMissingBackends: (removeMissing?.value as RemoveMissing | undefined) ?? 'drain', line, fieldLines };
}

function parseBackend(
  node: Node, mode: ServiceSpec['mode'], label: string, lineOf: (n: Node | Pair | null | undefined) => number,
  problem: (line: number, message: string) => void,
): DesiredBackend | undefined {
  const line = lineOf(node);
  let raw: Record<string, unknown>;
  const lines: Record<string, number> = {};
  if (isScalar(node)) raw = { address: node.value };
  else if (isMap(node)) {
    raw = {};
    for (const pair of node.items) {
      const k = isScalar(pair.key) ? String(pair.key.value) : '';
      const l = lineOf(pair.key as Node);
      if (!BACKEND_KEYS.includes(k)) {
        problem(l, `${label}: unknown backend setting "${k}" (allowed: ${BACKEND_KEYS.join(', ')})`);
        continue;
      }
      lines[k] = l;
      const v = pair.value as Node | null;
      raw[k] = v === null ? null : (v as { toJSON(): unknown }).toJSON();
    }
  } else {
    problem(line, `${label}: a backend is IP[:PORT] or a map with "address"`);
    return undefined;
  }
  if (typeof raw.address !== 'string') {
    problem(lines.address ?? line, `${label}: a backend needs "address": IP or IP:PORT`);
    return undefined;
  }
  let addr: { ip: string; port?: number };
  try {
    addr = parseBackendKey(raw.address);
  } catch (err) {
    problem(lines.address ?? line, `${label}: ${messageOf(err)}`);
    return undefined;
  }
  const who = `${label}, backend ${raw.address}`;
  const state = raw.state ?? 'active';
  if (state !== 'active' && state !== 'drained') {
    problem(lines.state ?? line, `${who}: state must be active or drained, got ${JSON.stringify(state)}`);
    return undefined;
  }
  let spec: BackendSpec;
  try {
    spec = validateBackendSpec({
      ...addr, weight: raw.weight === undefined ? 1 : (raw.weight as number),
      ...(raw.mac !== undefined ? { mac: raw.mac as string } : {}), ...(raw.switchPort !== undefined ? { switchPort: raw.switchPort as number } : {}),
    }, mode);
  } catch (err) {
    const msg = messageOf(err);
    const at = msg.startsWith('weight') ? lines.weight : /MAC|switch port|--mac/.test(msg) ? (lines.mac ?? lines.switchPort) : undefined;
    problem(at ?? line, `${who}: ${msg}`);
    return undefined;
  }
  return { key: backendKey(spec), spec, state, line };
}

/**
 * The live state as a configuration file: settings at their defaults are left out, backends on
 * their way out (graceful removal) are left out, draining or drained ones say `state: drained`.
 * Applying it changes nothing.
 */
export function exportConfig(live: readonly ServiceView[]): string {
  const services = live.map((s) => {
    const out: Record<string, unknown> = { name: s.name, vip: s.vip, port: s.port };
    const d = SERVICE_DEFAULTS as Record<string, unknown>;
    for (const k of ['proto', 'mode', 'slots', 'switches', 'pinIdleTimeout', 'migration', 'drainDeadlineMs', 'tracking', 'maxQuerySlots'] as const) {
      if (JSON.stringify(s[k]) !== JSON.stringify(d[k])) out[k] = s[k];
    }
    out.backends = s.backends.filter((b) => !b.removeWhenDrained && b.state !== 'removed').map((b) => {
      const plain = b.weight === 1 && b.mac === undefined && b.state !== 'draining' && b.state !== 'drained';
      if (plain) return b.key;
      return {
        address: b.key,
        ...(b.weight !== 1 ? { weight: b.weight } : {}),
        ...(b.mac !== undefined ? { mac: b.mac, switchPort: b.switchPort } : {}),
        ...(b.state === 'draining' || b.state === 'drained' ? { state: 'drained' } : {}),
      };
    });
    return out;
  });
  return stringify({ services }, { lineWidth: 0 });
}
