// Pure part of the lab: validates a LabSpec and derives every name, port number and address the lab
// will create, so the I/O side only executes a plan (and unit tests can check it without root).
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface LabTls { key: string; cert: string; ca: string }
export interface LabController { host: string; port: number; tls?: LabTls }

export interface LabBridgeSpec {
  name: string;
  /** OpenFlow versions the bridge speaks; default OpenFlow13,OpenFlow14,OpenFlow15. */
  protocols?: string[];
  /** 16 hex digits. */
  datapathId?: string;
  /** Controller the bridge connects to (reached from the lab namespace through a unix-socket proxy). */
  controller?: LabController | null;
  /** Further controllers the bridge connects to at the same time (a cluster of controllers). */
  moreControllers?: LabController[];
  /** The bridge listens (ptcp:) on this port inside the lab namespace; exposed on a root-loopback port. */
  listenPort?: number;
}

export interface LabHostSpec {
  name: string;
  bridge: string;
  /** IPv4 address with prefix, e.g. "10.0.0.1/24". */
  ip: string;
  mac?: string;
  /** OpenFlow port number on the bridge (ofport_request); default: next free number from 1. */
  ofport?: number;
}

export interface LabSpec {
  /** Free-form label recorded in the state file. */
  name?: string;
  bridges: LabBridgeSpec[];
  hosts: LabHostSpec[];
  /** Leave IPv6 enabled in host namespaces (default off: no router solicitations or MLD noise). */
  ipv6?: boolean;
}

export const DEFAULT_PROTOCOLS = ['OpenFlow13', 'OpenFlow14', 'OpenFlow15'] as const;
export const LAB_ID_RE = /^hf[0-9a-f]{6}$/;
/** Every namespace a lab creates starts with its id and a dash. */
export const LAB_NETNS_RE = /^(hf[0-9a-f]{6})-/;
const IFNAMSIZ = 15;
const NAME_RE = /^[A-Za-z0-9_.-]+$/;
const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const OF_VERSIONS = new Set(['OpenFlow10', 'OpenFlow11', 'OpenFlow12', 'OpenFlow13', 'OpenFlow14', 'OpenFlow15']);

export interface PlannedHost {
  name: string;
  bridge: string;
  netns: string;
  /** Host end of the veth pair, inside the host namespace. */
  veth: string;
  /** Switch end of the veth pair, inside the OVS namespace, added to the bridge. */
  port: string;
  ip: string;
  prefixLen: number;
  cidr: string;
  mac: string;
  ofport: number;
}

export interface PlannedBridge {
  name: string;
  protocols: string[];
  datapathId?: string;
  controller: LabController | null;
  moreControllers: LabController[];
  listenPort?: number;
}

export interface LabPlan {
  id: string;
  runDir: string;
  ovsNetns: string;
  bridges: PlannedBridge[];
  hosts: PlannedHost[];
  ipv6: boolean;
  /** Every namespace the lab will create, recorded before any is created. */
  namespaces: string[];
}

export class LabSpecError extends Error {
  override name = 'LabSpecError';
}

export function labRoot(): string {
  return process.env.HOLDFAST_LAB_ROOT ?? join(tmpdir(), 'holdfast-lab');
}

export function newLabId(): string {
  return `hf${randomBytes(3).toString('hex')}`;
}

export function parseCidr(cidr: string): { ip: string; prefixLen: number } {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  if (!m) throw new LabSpecError(`bad IPv4 address/prefix "${cidr}" (want e.g. 10.0.0.1/24)`);
  const octets = m.slice(1, 5).map(Number);
  const prefixLen = Number(m[5]);
  if (octets.some((o) => o > 255) || prefixLen < 1 || prefixLen > 32) throw new LabSpecError(`bad IPv4 address/prefix "${cidr}"`);
  return { ip: octets.join('.'), prefixLen };
}

function checkPort(what: string, port: number): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new LabSpecError(`${what}: bad TCP port ${port}`);
}

function checkController(bridge: string, c: LabController | null | undefined): void {
  if (!c) return;
  if (!c.host) throw new LabSpecError(`bridge ${bridge}: controller host is empty`);
  checkPort(`bridge ${bridge} controller`, c.port);
}

/** Turns a spec into the exact resources of a lab with the given id and run directory. */
export function planLab(spec: LabSpec, id: string, runDir: string): LabPlan {
  if (!LAB_ID_RE.test(id)) throw new LabSpecError(`bad lab id "${id}"`);
  if (spec.bridges.length === 0) throw new LabSpecError('a lab needs at least one bridge');
  const bridgeNames = new Set<string>();
  const bridges = spec.bridges.map((b): PlannedBridge => {
    // The netdev datapath creates a tap device named after the bridge.
    if (!NAME_RE.test(b.name) || b.name.length > IFNAMSIZ) throw new LabSpecError(`bad bridge name "${b.name}" (max ${IFNAMSIZ} chars of [A-Za-z0-9_.-])`);
    if (bridgeNames.has(b.name)) throw new LabSpecError(`duplicate bridge "${b.name}"`);
    bridgeNames.add(b.name);
    const protocols = b.protocols ?? [...DEFAULT_PROTOCOLS];
    if (protocols.length === 0 || protocols.some((p) => !OF_VERSIONS.has(p))) throw new LabSpecError(`bridge ${b.name}: bad protocols ${protocols.join(',')}`);
    if (b.datapathId !== undefined && !/^[0-9a-fA-F]{16}$/.test(b.datapathId)) throw new LabSpecError(`bridge ${b.name}: datapathId must be 16 hex digits`);
    checkController(b.name, b.controller);
    for (const c of b.moreControllers ?? []) checkController(b.name, c);
    if (b.listenPort !== undefined) checkPort(`bridge ${b.name} listenPort`, b.listenPort);
    return { name: b.name, protocols, datapathId: b.datapathId?.toLowerCase(), controller: b.controller ?? null, moreControllers: b.moreControllers ?? [], listenPort: b.listenPort };
  });

  const hostNames = new Set<string>();
  const usedOfports = new Map<string, Set<number>>(bridges.map((b) => [b.name, new Set<number>()]));
  for (const h of spec.hosts) {
    if (h.ofport === undefined) continue;
    if (!Number.isInteger(h.ofport) || h.ofport < 1 || h.ofport > 65279) throw new LabSpecError(`host ${h.name}: bad ofport ${h.ofport}`);
    const used = usedOfports.get(h.bridge);
    if (used?.has(h.ofport)) throw new LabSpecError(`host ${h.name}: ofport ${h.ofport} already used on ${h.bridge}`);
    used?.add(h.ofport);
  }
  const macs = new Set<string>();
  const hosts = spec.hosts.map((h, i): PlannedHost => {
    if (!NAME_RE.test(h.name) || h.name.length > 32) throw new LabSpecError(`bad host name "${h.name}"`);
    if (hostNames.has(h.name)) throw new LabSpecError(`duplicate host "${h.name}"`);
    hostNames.add(h.name);
    const used = usedOfports.get(h.bridge);
    if (!used) throw new LabSpecError(`host ${h.name}: unknown bridge "${h.bridge}"`);
    let ofport = h.ofport;
    if (ofport === undefined) {
      ofport = 1;
      while (used.has(ofport)) ofport++;
      used.add(ofport);
    }
    const n = i + 1;
    const mac = (h.mac ?? `02:00:00:00:${((n >> 8) & 0xff).toString(16).padStart(2, '0')}:${(n & 0xff).toString(16).padStart(2, '0')}`).toLowerCase();
    if (!MAC_RE.test(mac)) throw new LabSpecError(`host ${h.name}: bad MAC "${h.mac}"`);
    if (macs.has(mac)) throw new LabSpecError(`host ${h.name}: duplicate MAC ${mac}`);
    macs.add(mac);
    const { ip, prefixLen } = parseCidr(h.ip);
    const veth = `${id}h${n}`;
    const port = `${id}p${n}`;
    if (veth.length > IFNAMSIZ) throw new LabSpecError('too many hosts for interface names');
    return { name: h.name, bridge: h.bridge, netns: `${id}-h-${h.name}`, veth, port, ip, prefixLen, cidr: `${ip}/${prefixLen}`, mac, ofport };
  });

  const tlsFiles = new Set(bridges.flatMap((b) => (b.controller?.tls ? [JSON.stringify(b.controller.tls)] : [])));
  if (tlsFiles.size > 1) throw new LabSpecError('Open vSwitch has one SSL configuration: all TLS controllers of a lab must use the same key/cert/ca');

  const ovsNetns = `${id}-ovs`;
  return { id, runDir, ovsNetns, bridges, hosts, ipv6: spec.ipv6 ?? false, namespaces: [ovsNetns, ...hosts.map((h) => h.netns)] };
}

/** ovs-vsctl target string of a bridge's active controller, reached via the proxy on labPort. */
export function controllerTarget(c: LabController, labPort: number): string {
  return `${c.tls ? 'ssl' : 'tcp'}:127.0.0.1:${labPort}`;
}
