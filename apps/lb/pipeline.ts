// The load balancer's OpenFlow pipeline as pure functions: the flows and group a service wants on
// a switch (fed to the reconciler), and the per-flow pin the query/reply path installs. One
// function builds the "send this flow to that backend" actions for buckets, pins, packet-outs and
// the connection entries an Open vSwitch learns.
//
// Two renderings, by switch profile (controller/capabilities.ts):
// - `openflow13`: a forward bucket rewrites and outputs; a query bucket sends the packet to the
//   controller, which pins the flow (query/reply).
// - `ovs`: the switch remembers every connection itself. A bucket of backend B loads B's id into
//   metadata and resubmits to LEARN_TABLE, where B's rule learns an exact 5-tuple entry for the
//   connection (priority and cookie of a pin, so it *is* a pin, made by the switch) and forwards
//   the packet. Later packets of the connection hit that entry, whatever the bucket says since, so
//   a slot changes owner at once: a query bucket is rendered as its new owner's bucket.
//   (Open vSwitch 3.1 creates no flow for a learn placed in a bucket directly; through resubmit
//   to a rule matching tcp/udp it does.)

import { match as matchOn } from 'ts-pattern';
import type { Action, Match, OxmBasicName, OxmField, OxmValueOf } from '../../openflow/types.js';
import { oxm } from '../../openflow/oxm.js';
import { OFPFF, OFPP } from '../../openflow/types.js';
import { applyActions, flowAdd, flowModify, groupMod, output, selectBucket, type MessageBody } from '../../openflow/builders.js';
import { NXM, NX_LEARN_F, type LearnSpec } from '../../openflow/nicira.js';
import type { SwitchProfile } from '../../controller/capabilities.js';
import { encodeMessage } from '../../openflow/messages.js';
import { defaultHealth } from './health.js';
import { groupIdFor, markerMac, pinCookie, pinCookieMatch, replyCookie, serviceCookie } from './cookies.js';
import type { Service } from './model.js';
import type { Bucket } from './slot-table.js';
import type { DesiredFlow, DesiredGroup } from '../../controller/desired.js';

/** Priorities, highest first. */
export const PRIO = { pin: 40_000, arp: 30_000, monitor: 25_000, service: 20_000, natReverse: 20_000, learn: 101, forward: 100 } as const;

/** The `ovs` profile's second table: one rule per (service, backend) that learns connections. */
export const LEARN_TABLE = 1;

/** `ovs` profile: metadata carries the chosen backend's id (bits 0-31, bucket → learn rule) and,
 * set by the learn rule, its output port (bits 32-47, → the learned entry's output). */
const metadata = (backendId: number, port = 0): OxmField => basic('metadata', (BigInt(port) << 32n) | BigInt(backendId));

/** Rule numbers inside a service's cookie space (low 32 bits of the cookie). */
const RULE = { service: 1, arpRequest: 2, arpReply: 3, serviceSyn: 4, natReverseBase: 0x1000_0000, learnBase: 0x2000_0000 } as const;

/** Where and how a backend is reached from one switch. */
export interface BackendTarget {
  id: number;
  ip: string;
  /** nat: the backend's port (the service port when the backend gave none). */
  l4port: number;
  mac: string;
  port: number;
}

const basic = oxm;
const setField = <N extends OxmBasicName>(name: N, value: OxmValueOf<N>): Action => ({ type: 'set_field', field: oxm(name, value) });

const IP_PROTO = { tcp: 6, udp: 17 } as const;
const l4Dst = (s: Service) => (s.proto === 'tcp' ? 'tcp_dst' : 'udp_dst') as 'tcp_dst' | 'udp_dst';
const l4Src = (s: Service) => (s.proto === 'tcp' ? 'tcp_src' : 'udp_src') as 'tcp_src' | 'udp_src';

/**
 * Actions that deliver a packet of `service` to backend `t`: dsr rewrites the destination MAC;
 * nat also rewrites destination IP and port. `inPort` avoids OpenFlow's "never out the in port"
 * rule when the backend sits behind the port the packet came in on.
 */
export function forwardActions(service: Service, t: BackendTarget, inPort?: number): Action[] {
  const out = output(inPort !== undefined && inPort === t.port ? OFPP.IN_PORT : t.port);
  return matchOn(service.mode)
    .with('dsr', () => [setField('eth_dst', t.mac), out])
    .with('nat', () => [
      setField('eth_dst', t.mac),
      setField('ipv4_dst', t.ip),
      setField(l4Dst(service), t.l4port),
      out,
    ])
    .exhaustive();
}

/** `ovs` profile: hand the packet to backend `id`'s learn rule. */
function rememberActions(id: number): Action[] {
  return [{ type: 'set_field', field: metadata(id) }, { type: 'nx_resubmit', table: LEARN_TABLE }];
}

/** Actions of one slot's bucket on a switch of `profile`. */
export function bucketActions(
  service: Service, slot: number, bucket: Bucket, targetOf: (id: number) => BackendTarget | undefined, profile: SwitchProfile = 'openflow13',
): Action[] {
  const to = (id: number): Action[] => {
    const t = targetOf(id);
    // Owner not reachable from this switch yet: let the controller see (and drop) the packets.
    if (!t) return queryActions(service, slot);
    return profile === 'ovs' ? rememberActions(id) : forwardActions(service, t);
  };
  return matchOn(bucket)
    .with({ kind: 'forward' }, (b) => to(b.backend))
    // The switch remembers the old owner's connections: new ones go to the new owner at once.
    .with({ kind: 'query' }, (b) => (profile === 'ovs' ? (b.to === null ? [] : to(b.to)) : queryActions(service, slot)))
    .with({ kind: 'drop' }, () => [])
    .exhaustive();
}

/** A query bucket marks the packet with service and slot, and sends it whole to the controller. */
function queryActions(service: Service, slot: number): Action[] {
  return [setField('eth_dst', markerMac(service.id, slot)), output(OFPP.CONTROLLER)];
}

/**
 * Open vSwitch's default selection (dp_hash) ignores UDP ports, so every UDP flow between one client
 * and the VIP would land in the same slot. On OpenFlow 1.5 a UDP service asks for the `hash` method
 * over the 5-tuple instead (values are field masks). Like dp_hash, it maps a flow to the same bucket
 * for as long as the buckets' number and ids stay the same.
 */
function selectionMethod(service: Service, version: number, profile: SwitchProfile): DesiredGroup['properties'] {
  if (service.proto !== 'udp' || version < 6 || profile !== 'ovs') return undefined;
  return [{
    type: 'ntr_selection_method', method: 'hash', param: 0n,
    fields: [basic('ipv4_src', '255.255.255.255'), basic('ipv4_dst', '255.255.255.255'), basic('udp_src', 0xffff), basic('udp_dst', 0xffff)],
  }];
}

export function serviceGroup(
  service: Service, buckets: readonly Bucket[], targetOf: (id: number) => BackendTarget | undefined, version = 4,
  profile: SwitchProfile = 'openflow13',
): DesiredGroup {
  const properties = selectionMethod(service, version, profile);
  return {
    ...(properties ? { properties } : {}),
    groupId: groupIdFor(service.id),
    groupType: 'select',
    buckets: buckets.map((b, slot) => selectBucket(bucketActions(service, slot, b, targetOf, profile), slot)),
  };
}

function flow(priority: number, match: Match, actions: Action[], cookie: bigint, tableId = 0): DesiredFlow {
  return { tableId, priority, match, instructions: applyActions(actions), cookie, idleTimeout: 0, hardTimeout: 0, flags: 0 };
}

/** The service's part of a packet's match: its protocol, VIP and port. */
function serviceMatch(service: Service): Match {
  return [
    basic('eth_type', 0x0800), basic('ip_proto', IP_PROTO[service.proto]),
    basic('ipv4_dst', service.vip), basic(l4Dst(service), service.port),
  ];
}

/** NXM fields of the client's side and the service's port, per protocol. */
const NX_L4 = { tcp: { src: NXM.tcpSrc, dst: NXM.tcpDst }, udp: { src: NXM.udpSrc, dst: NXM.udpDst } } as const;

/**
 * What an Open vSwitch learns for a connection sent to `t`: the pin it would get from the
 * controller (same match, priority, timeouts, cookie, rewrite), made by the switch at the first
 * packet. The output port comes from metadata because learn outputs only to a port held in a field.
 */
export function learnConnection(service: Service, t: BackendTarget, finTimeout: number): Action {
  const l4 = NX_L4[service.proto];
  const specs: LearnSpec[] = [
    { kind: 'match_value', field: NXM.ethType, value: 0x0800 },
    { kind: 'match_value', field: NXM.ipProto, value: IP_PROTO[service.proto] },
    { kind: 'match_field', field: NXM.ipSrc },
    { kind: 'match_value', field: NXM.ipDst, value: service.vip },
    { kind: 'match_field', field: l4.src },
    { kind: 'match_value', field: l4.dst, value: service.port },
    { kind: 'load_value', field: NXM.ethDst, value: t.mac },
  ];
  if (service.mode === 'nat') {
    specs.push({ kind: 'load_value', field: NXM.ipDst, value: t.ip }, { kind: 'load_value', field: l4.dst, value: t.l4port });
  }
  specs.push({ kind: 'output_field', field: NXM.metadata, ofs: 32, bits: 16 });
  return {
    type: 'nx_learn', table: 0, priority: PRIO.pin, idleTimeout: service.pinIdleTimeout[service.proto],
    ...(service.proto === 'tcp' ? { finIdleTimeout: finTimeout } : {}),
    cookie: pinCookie(service.id, t.id), flags: NX_LEARN_F.SEND_FLOW_REM, specs,
  };
}

/**
 * nat, `ovs` profile: the entry for the connection's replies, learned with it. It rewrites the
 * backend's replies to this client back to the VIP the client used and sends them out of the port
 * the client's packet came in by. The service's static reverse rule does the same for every reply
 * from the backend, but it can name only one VIP: with this entry, services that share a backend
 * each answer with their own VIP.
 */
export function learnReply(service: Service, t: BackendTarget, finTimeout: number): Action {
  const l4 = NX_L4[service.proto];
  return {
    type: 'nx_learn', table: 0, priority: PRIO.pin, idleTimeout: service.pinIdleTimeout[service.proto],
    ...(service.proto === 'tcp' ? { finIdleTimeout: finTimeout } : {}),
    cookie: replyCookie(service.id, t.id), flags: 0, specs: [
      { kind: 'match_value', field: NXM.ethType, value: 0x0800 },
      { kind: 'match_value', field: NXM.ipProto, value: IP_PROTO[service.proto] },
      { kind: 'match_value', field: NXM.ipSrc, value: t.ip },
      { kind: 'match_from', field: NXM.ipDst, from: NXM.ipSrc },
      { kind: 'match_value', field: l4.src, value: t.l4port },
      { kind: 'match_from', field: l4.dst, from: l4.src },
      { kind: 'load_value', field: NXM.ipSrc, value: service.vip },
      { kind: 'load_value', field: l4.src, value: service.port },
      { kind: 'output_field', field: NXM.inPort, ofs: 0, bits: 16 },
    ],
  };
}

/** TCP SYN without ACK: the packet that opens a connection. */
const TCP_SYN_ONLY = { kind: 'basic', name: 'tcp_flags', value: 0x002, mask: 0x012 } as const satisfies OxmField;

/**
 * `ovs` profile: backend `t`'s rules in LEARN_TABLE (reached from its buckets through metadata and
 * resubmit). A TCP connection is learned from its SYN only: a packet that straggles in after its
 * connection's entry ended (the last ACK after a FIN) goes to the backend without leaving an entry
 * that would outlive the connection by the idle timeout (and hold a drain that long). UDP has no
 * opening packet: every flow is learned from its first datagram.
 */
export function learnFlows(service: Service, t: BackendTarget, finTimeout: number, replies = false): DesiredFlow[] {
  const cookie = serviceCookie(service.id, RULE.learnBase + t.id);
  const match = [...serviceMatch(service), metadata(t.id)];
  const learn = flow(PRIO.learn, service.proto === 'tcp' ? [...match, TCP_SYN_ONLY] : match, [
    { type: 'set_field', field: metadata(t.id, t.port) },
    learnConnection(service, t, finTimeout),
    ...(replies && service.mode === 'nat' ? [learnReply(service, t, finTimeout)] : []),
    ...forwardActions(service, t),
  ], cookie, LEARN_TABLE);
  if (service.proto !== 'tcp') return [learn];
  return [learn, flow(PRIO.forward, match, forwardActions(service, t), cookie, LEARN_TABLE)];
}

export interface ServiceFlowOptions {
  profile: SwitchProfile;
  /** Idle timeout of a learned TCP entry once FIN or RST was seen (`ovs` profile). */
  finTimeout: number;
  /** nat backends whose connections also learn a reply entry (`ovs` profile): those another nat
   * service shares, where the static reverse rule cannot tell which VIP a reply is for. Only
   * those: a reply entry costs the switch one more slow-path trip per connection (measured). */
  sharedBackend?: (t: BackendTarget) => boolean;
}

/** The service's static flows on one switch: VIP rule, ARP for the VIP, nat reverse rules, and in
 * the `ovs` profile one learn rule per backend. `targets`: backends that may have flows here. */
export function serviceFlows(service: Service, targets: readonly BackendTarget[], o: ServiceFlowOptions = { profile: 'openflow13', finTimeout: 2 }): DesiredFlow[] {
  const flows: DesiredFlow[] = [
    flow(PRIO.service, serviceMatch(service), [{ type: 'group', groupId: groupIdFor(service.id) }], serviceCookie(service.id, RULE.service)),
    // ARP requests for the VIP: the controller answers with the service's virtual MAC.
    flow(PRIO.arp, [basic('eth_type', 0x0806), basic('arp_op', 1), basic('arp_tpa', service.vip)],
      [output(OFPP.CONTROLLER)], serviceCookie(service.id, RULE.arpRequest)),
    // ARP replies to the controller's own probes (sent from the virtual MAC) resolve backends. They
    // also travel on, so every switch on the way learns the port towards the backend.
    flow(PRIO.arp, [basic('eth_type', 0x0806), basic('eth_dst', service.vmac), basic('arp_op', 2)],
      [output(OFPP.CONTROLLER), output(OFPP.NORMAL)], serviceCookie(service.id, RULE.arpReply)),
  ];
  if (service.mode === 'nat') {
    for (const t of targets) {
      flows.push(flow(PRIO.natReverse, [
        basic('eth_type', 0x0800), basic('ip_proto', IP_PROTO[service.proto]),
        basic('ipv4_src', t.ip), basic(l4Src(service), t.l4port),
      ], [
        setField('ipv4_src', service.vip), setField(l4Src(service), service.port),
        output(OFPP.NORMAL),
      ], serviceCookie(service.id, RULE.natReverseBase + t.id)));
    }
  }
  if (o.profile === 'ovs') {
    // The same VIP rule once more for TCP SYNs, one priority up. It changes no decision; it makes
    // Open vSwitch's datapath flow for a SYN depend on the SYN flag, so a connection's next packets
    // miss it, are looked up again and meet the entry the SYN just learned. Without it they can
    // reuse the SYN's datapath flow until revalidation, bypass the entry, and a short connection's
    // FIN never reaches it (the entry then outlives the connection by the idle timeout).
    if (service.proto === 'tcp') {
      flows.push(flow(PRIO.service + 1, [...serviceMatch(service), TCP_SYN_ONLY], [{ type: 'group', groupId: groupIdFor(service.id) }],
        serviceCookie(service.id, RULE.serviceSyn)));
    }
    for (const t of targets) flows.push(...learnFlows(service, t, o.finTimeout, o.sharedBackend?.(t) ?? false));
  }
  return flows;
}

/** The client side of a flow: what a pin matches besides the service's VIP and port. */
export interface FlowClient {
  srcIp: string;
  srcPort: number;
}

export interface PinOptions {
  /** Open vSwitch's fin_timeout (`ovs` profile only): a pin's idle timeout shortens once the TCP
   * connection sends FIN or RST, so drains end soon after connections close. */
  finTimeout?: number;
}

export function pinMatch(service: Service, c: FlowClient): Match {
  return [
    basic('eth_type', 0x0800), basic('ip_proto', IP_PROTO[service.proto]),
    basic('ipv4_src', c.srcIp), basic('ipv4_dst', service.vip),
    basic(l4Src(service), c.srcPort), basic(l4Dst(service), service.port),
  ];
}

/** The pin flow-mod for one flow: exact 5-tuple, idle timeout, flow-removed notification. */
/** What a pin does: forward to the backend (and, on Open vSwitch, shorten its life after FIN). */
export function pinActions(service: Service, t: BackendTarget, opts: PinOptions = {}): Action[] {
  const actions = forwardActions(service, t);
  if (opts.finTimeout !== undefined && service.proto === 'tcp') actions.unshift({ type: 'nx_fin_timeout', idleTimeout: opts.finTimeout, hardTimeout: 0 });
  return actions;
}

/** Points every pin of a backend on a switch at its new location (a non-strict modify by cookie). */
export function repointPinsFlowMod(service: Service, t: BackendTarget, opts: PinOptions = {}): MessageBody<'flow_mod'> {
  const { cookie, mask } = pinCookieMatch(service.id, t.id);
  return flowModify({
    cookie, priority: PRIO.pin,
    // The service's part of a pin's match: it selects every pin of the service (the cookie picks the
    // backend's) and gives the rewrite actions their prerequisites.
    match: serviceMatch(service),
    instructions: applyActions(pinActions(service, t, opts)),
  }, { strict: false, cookieMask: mask });
}

export function pinFlowMod(service: Service, c: FlowClient, t: BackendTarget, opts: PinOptions = {}): MessageBody<'flow_mod'> {
  return flowAdd({
    cookie: pinCookie(service.id, t.id), idleTimeout: service.pinIdleTimeout[service.proto], priority: PRIO.pin,
    flags: OFPFF.SEND_FLOW_REM, match: pinMatch(service, c), instructions: applyActions(pinActions(service, t, opts)),
  });
}

/** OpenFlow's length field: no message, group_mods included, is longer. */
const OFP_MAX_MESSAGE = 0xffff;

/**
 * How many slots a service of this mode and protocol can have: its whole group (one bucket a slot)
 * must fit in one group_mod. Measured on the largest bucket any profile renders (a forward bucket
 * that rewrites everything, a query bucket, an `ovs` bucket) in the largest encoding (OpenFlow 1.5,
 * bucket ids and the selection-method property), so the limit holds on every switch.
 */
export function maxSlotsFor(mode: Service['mode'], proto: Service['proto']): number {
  const s: Service = {
    name: 'limit', vip: '10.0.0.1', port: 80, proto, mode, slots: 1, switches: [], pinIdleTimeout: { tcp: 1, udp: 1 },
    migration: { minMs: 0, quietMs: 0, maxMs: 0 }, drainDeadlineMs: 0, tracking: 'migrations', maxQuerySlots: 1,
    id: 1, vmac: '02:00:00:00:00:01', createdAt: 0, health: defaultHealth(proto),
  };
  const t: BackendTarget = { id: 1, ip: '10.0.0.2', l4port: 8080, mac: '02:00:00:00:00:02', port: 1 };
  const size = (buckets: Bucket[], profile: SwitchProfile): number => {
    const g = serviceGroup(s, buckets, () => t, 6, profile);
    return encodeMessage({ ...groupMod('add', g), version: 6, xid: 0 }).length;
  };
  const kinds: Bucket[] = [{ kind: 'forward', backend: 1 }, { kind: 'query', from: 1, to: 1 }];
  let base = 0;
  let per = 0;
  for (const profile of ['ovs', 'openflow13'] as const) {
    for (const b of kinds) {
      const one = size([b], profile);
      const two = size([b, b], profile);
      per = Math.max(per, two - one);
      base = Math.max(base, one - (two - one));
    }
  }
  return Math.floor((OFP_MAX_MESSAGE - base) / per);
}

/** Rules of the health monitor (cookie service id 0: no service has it). */
const MONITOR_RULE = { arp: 1, ipv4: 2 } as const;

/**
 * The health monitor's flows (standard OpenFlow, both profiles): ARP requests for the monitor IP
 * go to the controller, which answers with the monitor MAC; IPv4 to the monitor MAC (the backends'
 * answers to probes) goes to the controller whole, above the nat reverse rules (which would
 * otherwise rewrite a nat backend's answer to come from the VIP) and below ARP.
 */
export function monitorFlows(m: { ip: string; mac: string }): DesiredFlow[] {
  return [
    flow(PRIO.arp, [basic('eth_type', 0x0806), basic('arp_op', 1), basic('arp_tpa', m.ip)], [output(OFPP.CONTROLLER)],
      serviceCookie(0, MONITOR_RULE.arp)),
    flow(PRIO.monitor, [basic('eth_dst', m.mac), basic('eth_type', 0x0800)], [output(OFPP.CONTROLLER)],
      serviceCookie(0, MONITOR_RULE.ipv4)),
  ];
}
