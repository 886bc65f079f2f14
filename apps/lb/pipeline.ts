// The load balancer's OpenFlow pipeline as pure functions: the flows and group a service wants on
// a switch (fed to the reconciler), and the per-flow pin the query/reply path installs. One
// function builds the "send this flow to that backend" actions for buckets, pins and packet-outs.

import { match as matchOn } from 'ts-pattern';
import type { Action, Instruction, Match, MessageOf, OxmBasicName, OxmField } from '../../openflow/types.js';
import { OFPCML_NO_BUFFER, OFPFF, OFPP, OFP_NO_BUFFER } from '../../openflow/types.js';
import { groupIdFor, markerMac, pinCookie, pinCookieMatch, serviceCookie } from './cookies.js';
import type { Service } from './model.js';
import type { Bucket } from './slot-table.js';
import type { DesiredFlow, DesiredGroup } from '../../controller/desired.js';

/** Priorities, highest first. */
export const PRIO = { pin: 40_000, arp: 30_000, service: 20_000, natReverse: 20_000 } as const;

/** Rule numbers inside a service's cookie space (low 32 bits of the cookie). */
const RULE = { service: 1, arpRequest: 2, arpReply: 3, natReverseBase: 0x1000_0000 } as const;

/** Where and how a backend is reached from one switch. */
export interface BackendTarget {
  id: number;
  ip: string;
  /** nat: the backend's port (the service port when the backend gave none). */
  l4port: number;
  mac: string;
  port: number;
}

const basic = (name: OxmBasicName, value: number | string): OxmField => ({ kind: 'basic', name, value });
const setField = (name: OxmBasicName, value: number | string): Action => ({ type: 'set_field', field: basic(name, value) });
const output = (port: number): Action => ({ type: 'output', port, maxLen: port === OFPP.CONTROLLER ? OFPCML_NO_BUFFER : 0 });
const apply = (actions: Action[]): Instruction[] => [{ type: 'apply_actions', actions }];

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

/** Actions of one slot's bucket. */
export function bucketActions(service: Service, slot: number, bucket: Bucket, targetOf: (id: number) => BackendTarget | undefined): Action[] {
  return matchOn(bucket)
    .with({ kind: 'forward' }, (b) => {
      const t = targetOf(b.backend);
      // Owner not reachable from this switch yet: let the controller see (and drop) the packets.
      return t ? forwardActions(service, t) : queryActions(service, slot);
    })
    .with({ kind: 'query' }, () => queryActions(service, slot))
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
function selectionMethod(service: Service, version: number): DesiredGroup['properties'] {
  if (service.proto !== 'udp' || version < 6) return undefined;
  return [{
    type: 'ntr_selection_method', method: 'hash', param: 0n,
    fields: [basic('ipv4_src', '255.255.255.255'), basic('ipv4_dst', '255.255.255.255'), basic('udp_src', 0xffff), basic('udp_dst', 0xffff)],
  }];
}

export function serviceGroup(
  service: Service, buckets: readonly Bucket[], targetOf: (id: number) => BackendTarget | undefined, version = 4,
): DesiredGroup {
  const properties = selectionMethod(service, version);
  return {
    ...(properties ? { properties } : {}),
    groupId: groupIdFor(service.id),
    groupType: 'select',
    buckets: buckets.map((b, slot) => ({
      weight: 1, watchPort: OFPP.ANY, watchGroup: 0xffffffff, bucketId: slot,
      actions: bucketActions(service, slot, b, targetOf),
    })),
  };
}

function flow(priority: number, match: Match, actions: Action[], cookie: bigint): DesiredFlow {
  return { tableId: 0, priority, match, instructions: apply(actions), cookie, idleTimeout: 0, hardTimeout: 0, flags: 0 };
}

/** The service's static flows on one switch: VIP rule, ARP for the VIP, nat reverse rules. */
export function serviceFlows(service: Service, reverseTargets: readonly BackendTarget[]): DesiredFlow[] {
  const flows: DesiredFlow[] = [
    flow(PRIO.service, [
      basic('eth_type', 0x0800), basic('ip_proto', IP_PROTO[service.proto]),
      basic('ipv4_dst', service.vip), basic(l4Dst(service), service.port),
    ], [{ type: 'group', groupId: groupIdFor(service.id) }], serviceCookie(service.id, RULE.service)),
    // ARP requests for the VIP: the controller answers with the service's virtual MAC.
    flow(PRIO.arp, [basic('eth_type', 0x0806), basic('arp_op', 1), basic('arp_tpa', service.vip)],
      [output(OFPP.CONTROLLER)], serviceCookie(service.id, RULE.arpRequest)),
    // ARP replies to the controller's own probes (sent from the virtual MAC) resolve backends. They
    // also travel on, so every switch on the way learns the port towards the backend.
    flow(PRIO.arp, [basic('eth_type', 0x0806), basic('eth_dst', service.vmac), basic('arp_op', 2)],
      [output(OFPP.CONTROLLER), output(OFPP.NORMAL)], serviceCookie(service.id, RULE.arpReply)),
  ];
  if (service.mode === 'nat') {
    for (const t of reverseTargets) {
      flows.push(flow(PRIO.natReverse, [
        basic('eth_type', 0x0800), basic('ip_proto', IP_PROTO[service.proto]),
        basic('ipv4_src', t.ip), basic(l4Src(service), t.l4port),
      ], [
        setField('ipv4_src', service.vip), setField(l4Src(service), service.port),
        output(OFPP.NORMAL),
      ], serviceCookie(service.id, RULE.natReverseBase + t.id)));
    }
  }
  return flows;
}

/** The client side of a flow: what a pin matches besides the service's VIP and port. */
export interface FlowClient {
  srcIp: string;
  srcPort: number;
}

/** Open vSwitch's fin_timeout action (NXAST_FIN_TIMEOUT): shortens a pin's idle timeout once the
 * TCP connection sends FIN or RST, so drains end soon after connections close. */
export function nxFinTimeout(idleSeconds: number): Action {
  const data = Buffer.alloc(8);
  data.writeUInt16BE(19, 0); // subtype NXAST_FIN_TIMEOUT
  data.writeUInt16BE(idleSeconds, 2); // fin_idle_timeout
  data.writeUInt16BE(0, 4); // fin_hard_timeout
  return { type: 'experimenter', experimenter: 0x00002320, data };
}

export interface PinOptions {
  /** Append Open vSwitch's fin_timeout (only on switches that understand Nicira actions). */
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
  if (opts.finTimeout !== undefined && service.proto === 'tcp') actions.unshift(nxFinTimeout(opts.finTimeout));
  return actions;
}

/** Points every pin of a backend on a switch at its new location (a non-strict modify by cookie). */
export function repointPinsFlowMod(service: Service, t: BackendTarget, opts: PinOptions = {}): Omit<MessageOf<'flow_mod'>, 'version' | 'xid'> {
  const { cookie, mask } = pinCookieMatch(service.id, t.id);
  return {
    type: 'flow_mod', cookie, cookieMask: mask, tableId: 0, command: 'modify',
    idleTimeout: 0, hardTimeout: 0, priority: PRIO.pin, bufferId: OFP_NO_BUFFER, outPort: OFPP.ANY, outGroup: 0xffffffff,
    // The service's part of a pin's match: it selects every pin of the service (the cookie picks the
    // backend's) and gives the rewrite actions their prerequisites.
    flags: 0, match: [
      basic('eth_type', 0x0800), basic('ip_proto', IP_PROTO[service.proto]),
      basic('ipv4_dst', service.vip), basic(l4Dst(service), service.port),
    ],
    instructions: apply(pinActions(service, t, opts)),
  };
}

export function pinFlowMod(service: Service, c: FlowClient, t: BackendTarget, opts: PinOptions = {}): Omit<MessageOf<'flow_mod'>, 'version' | 'xid'> {
  const actions = pinActions(service, t, opts);
  return {
    type: 'flow_mod', cookie: pinCookie(service.id, t.id), cookieMask: 0n, tableId: 0, command: 'add',
    idleTimeout: service.pinIdleTimeout[service.proto], hardTimeout: 0, priority: PRIO.pin,
    bufferId: OFP_NO_BUFFER, outPort: OFPP.ANY, outGroup: 0xffffffff, flags: OFPFF.SEND_FLOW_REM,
    match: pinMatch(service, c), instructions: apply(actions),
  };
}
