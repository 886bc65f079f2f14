// The load balancer's JSON REST routes, plugged into the generic management server: a request
// (method, path, query, parsed body) in, a status and JSON body out. No sockets here, so every
// route is testable without a server.
import { HttpError, errorResponse as httpErrorResponse, oneLine, type ApiRequest, type ApiResponse } from '../../../controller/management/http.js';
import { LbError, type LbControl, type ServiceInput, type ServiceSettings } from '../control.js';
import type { HealthInput } from '../health.js';
import type { BackendSpec } from '../model.js';

export { HttpError, type ApiRequest, type ApiResponse } from '../../../controller/management/http.js';

type Params = Record<string, string>;
type Handler = (control: LbControl, params: Params, req: ApiRequest) => ApiResponse;

interface Route { method: string; segments: string[]; handler: Handler }

const ok = (body: unknown): ApiResponse => ({ status: 200, body });
const created = (body: unknown): ApiResponse => ({ status: 201, body });

const DEFAULT_WEIGHT = 1;
const EVENTS_LIMIT_DEFAULT = 100;
const EVENTS_LIMIT_MAX = 1000;

const routes: Route[] = [
  route('GET /status', (c) => ok(c.status())),
  route('GET /services', (c) => ok(c.listServices())),
  route('POST /services', (c, _p, r) => created(c.addService(serviceInput(r.body)))),
  route('GET /services/:name', (c, p) => ok(c.getService(p.name!))),
  route('PATCH /services/:name', (c, p, r) => ok(c.updateService(p.name!, serviceSettings(r.body)))),
  route('DELETE /services/:name', (c, p) => {
    c.removeService(p.name!);
    return ok({ removed: p.name });
  }),
  route('GET /services/:name/backends', (c, p) => ok(c.listBackends(p.name!))),
  route('POST /services/:name/backends', (c, p, r) => created(c.addBackend(p.name!, backendSpec(r.body)))),
  route('GET /services/:name/backends/:key', (c, p) => {
    const b = c.listBackends(p.name!).find((x) => x.key === p.key);
    if (!b) throw new LbError('not_found', `service ${p.name} has no backend ${p.key}`);
    return ok(b);
  }),
  route('POST /services/:name/backends/:key/drain', (c, p) => ok(c.drainBackend(p.name!, p.key!))),
  route('POST /services/:name/backends/:key/enable', (c, p) => ok(c.enableBackend(p.name!, p.key!))),
  route('PUT /services/:name/backends/:key/weight', (c, p, r) => {
    const body = objectBody(r.body);
    onlyFields(body, ['weight']);
    const weight = intField(body, 'weight', true);
    return ok(c.setWeight(p.name!, p.key!, weight!));
  }),
  route('DELETE /services/:name/backends/:key', (c, p, r) =>
    ok(c.removeBackend(p.name!, p.key!, { now: flag(r.query, 'now') }))),
  route('PUT /switches/:dpid/profile', (c, p, r) => {
    const body = objectBody(r.body);
    onlyFields(body, ['profile']);
    const profile = body.profile;
    if (profile !== 'ovs' && profile !== 'openflow13' && profile !== 'auto') {
      throw new HttpError(400, 'profile must be one of "ovs", "openflow13", "auto"');
    }
    return ok(c.setSwitchProfile(p.dpid!, profile));
  }),
  route('GET /events', (c, _p, r) => {
    const after = queryInt(r.query, 'after', 0, 0, Number.MAX_SAFE_INTEGER);
    const limit = queryInt(r.query, 'limit', EVENTS_LIMIT_DEFAULT, 1, EVENTS_LIMIT_MAX);
    return ok(c.eventsSince(after, limit));
  }),
];

function route(spec: string, handler: Handler): Route {
  const [method, path] = spec.split(' ') as [string, string];
  return { method, segments: path.split('/').filter(Boolean), handler };
}

function match(segments: string[], pattern: string[]): Params | null {
  if (segments.length !== pattern.length) return null;
  const params: Params = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    if (p.startsWith(':')) params[p.slice(1)] = segments[i]!;
    else if (p !== segments[i]) return null;
  }
  return params;
}

/** Runs one API request. Every failure becomes `{error}` with the right status. */
export function handleApi(control: LbControl, req: ApiRequest): ApiResponse {
  try {
    let segments: string[];
    try {
      segments = req.path.split('/').filter(Boolean).map((s) => decodeURIComponent(s));
    } catch {
      throw new HttpError(400, 'the request path is not valid URL encoding');
    }
    let pathMatched = false;
    for (const r of routes) {
      const params = match(segments, r.segments);
      if (!params) continue;
      pathMatched = true;
      if (r.method !== req.method) continue;
      return r.handler(control, params, req);
    }
    if (pathMatched) throw new HttpError(405, `${req.method} is not allowed on /api${req.path}`);
    throw new HttpError(404, `no such API endpoint: ${req.method} /api${req.path}`);
  } catch (err) {
    return errorResponse(err);
  }
}

/** The load balancer's refusals keep their status; the rest as any management error. */
export function errorResponse(err: unknown): ApiResponse {
  if (err instanceof LbError) return { status: err.httpStatus, body: { error: oneLine(err.message) } };
  return httpErrorResponse(err);
}

// ---- body and query parsing: shapes only; the LB validates meaning (ranges, addresses, names).

type Json = Record<string, unknown>;

function objectBody(body: unknown): Json {
  if (body === undefined) throw new HttpError(400, 'a JSON object body is required');
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'the body must be a JSON object');
  return body as Json;
}

function onlyFields(body: Json, allowed: readonly string[]): void {
  for (const k of Object.keys(body)) {
    if (!allowed.includes(k)) throw new HttpError(400, `unknown field "${k}" (allowed: ${allowed.join(', ')})`);
  }
}

function strField(body: Json, name: string, required: true): string;
function strField(body: Json, name: string, required: false): string | undefined;
function strField(body: Json, name: string, required: boolean): string | undefined {
  const v = body[name];
  if (v === undefined) {
    if (required) throw new HttpError(400, `"${name}" is required`);
    return undefined;
  }
  if (typeof v !== 'string') throw new HttpError(400, `"${name}" must be a string`);
  return v;
}

function intField(body: Json, name: string, required: boolean): number | undefined {
  const v = body[name];
  if (v === undefined) {
    if (required) throw new HttpError(400, `"${name}" is required`);
    return undefined;
  }
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new HttpError(400, `"${name}" must be an integer`);
  return v;
}

function enumField<T extends string>(body: Json, name: string, values: readonly T[]): T | undefined {
  const v = strField(body, name, false);
  if (v === undefined) return undefined;
  if (!(values as readonly string[]).includes(v)) throw new HttpError(400, `"${name}" must be one of ${values.join(', ')}`);
  return v as T;
}

function nested(body: Json, name: string, keys: readonly string[]): Record<string, number> | undefined {
  const v = body[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new HttpError(400, `"${name}" must be an object`);
  const o = v as Json;
  onlyFields(o, keys);
  const out: Record<string, number> = {};
  for (const k of keys) {
    const n = intField(o, k, true);
    out[k] = n!;
  }
  return out;
}

const SERVICE_FIELDS = ['name', 'vip', 'port', 'proto', 'mode', 'slots', 'switches', 'pinIdleTimeout', 'migration', 'drainDeadlineMs', 'tracking', 'maxQuerySlots', 'health'] as const;
const HEALTH_FIELDS = ['type', 'intervalMs', 'timeoutMs', 'rise', 'fall', 'http', 'slowStartMs'] as const;

/** The shape of a health object (the LB checks the values: apps/lb/health.ts validateHealth). */
function healthInput(v: unknown): HealthInput {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new HttpError(400, '"health" must be an object');
  const o = v as Json;
  onlyFields(o, HEALTH_FIELDS);
  if (o.http !== undefined) {
    if (typeof o.http !== 'object' || o.http === null || Array.isArray(o.http)) throw new HttpError(400, '"health.http" must be an object');
    onlyFields(o.http as Json, ['path', 'status']);
  }
  return o as HealthInput;
}


export function serviceInput(raw: unknown): ServiceInput {
  const body = objectBody(raw);
  onlyFields(body, SERVICE_FIELDS);
  const input: ServiceInput = {
    name: strField(body, 'name', true),
    vip: strField(body, 'vip', true),
    port: intField(body, 'port', true)!,
  };
  const proto = enumField(body, 'proto', ['tcp', 'udp'] as const);
  if (proto) input.proto = proto;
  const mode = enumField(body, 'mode', ['nat', 'dsr'] as const);
  if (mode) input.mode = mode;
  const tracking = enumField(body, 'tracking', ['migrations', 'all'] as const);
  if (tracking) input.tracking = tracking;
  const slots = intField(body, 'slots', false);
  if (slots !== undefined) input.slots = slots;
  const drain = intField(body, 'drainDeadlineMs', false);
  if (drain !== undefined) input.drainDeadlineMs = drain;
  const maxQ = intField(body, 'maxQuerySlots', false);
  if (maxQ !== undefined) input.maxQuerySlots = maxQ;
  if (body.switches !== undefined) {
    if (!Array.isArray(body.switches) || body.switches.some((s) => typeof s !== 'string')) {
      throw new HttpError(400, '"switches" must be an array of datapath ids (strings)');
    }
    input.switches = body.switches as string[];
  }
  const idle = nested(body, 'pinIdleTimeout', ['tcp', 'udp']);
  if (idle) input.pinIdleTimeout = { tcp: idle.tcp!, udp: idle.udp! };
  const mig = nested(body, 'migration', ['minMs', 'quietMs', 'maxMs']);
  if (mig) input.migration = { minMs: mig.minMs!, quietMs: mig.quietMs!, maxMs: mig.maxMs! };
  if (body.health !== undefined) input.health = healthInput(body.health);
  return input;
}

const SETTINGS_FIELDS = ['switches', 'pinIdleTimeout', 'migration', 'drainDeadlineMs', 'tracking', 'maxQuerySlots', 'health'] as const;

/** The settings of a live service that PATCH may change (the LB validates their values). */
export function serviceSettings(raw: unknown): ServiceSettings {
  const body = objectBody(raw);
  onlyFields(body, SETTINGS_FIELDS);
  // The same shapes as a new service's fields: parse them with its parser.
  const { name: _n, vip: _v, port: _p, ...rest } = serviceInput({ ...body, name: 'x', vip: '0.0.0.0', port: 0 });
  return rest;
}

export function backendSpec(raw: unknown): BackendSpec {
  const body = objectBody(raw);
  onlyFields(body, ['ip', 'port', 'weight', 'mac', 'switchPort']);
  const spec: BackendSpec = { ip: strField(body, 'ip', true), weight: intField(body, 'weight', false) ?? DEFAULT_WEIGHT };
  const port = intField(body, 'port', false);
  if (port !== undefined) spec.port = port;
  const mac = strField(body, 'mac', false);
  if (mac !== undefined) spec.mac = mac;
  const sp = intField(body, 'switchPort', false);
  if (sp !== undefined) spec.switchPort = sp;
  return spec;
}

function flag(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  return v !== null && v !== '0' && v !== 'false';
}

function queryInt(q: URLSearchParams, name: string, dflt: number, min: number, max: number): number {
  const v = q.get(name);
  if (v === null || v === '') return dflt;
  if (!/^\d+$/.test(v)) throw new HttpError(400, `query parameter "${name}" must be a non-negative integer`);
  const n = Number(v);
  if (n < min || n > max) throw new HttpError(400, `query parameter "${name}" must be between ${min} and ${max}`);
  return n;
}
