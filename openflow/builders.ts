// Small named builders for the messages apps and the reconciler send, with OpenFlow's defaults
// written once here (Faucet's valve_of.py style): no buffer, any out port/group, table 0, no
// timeouts, no flags. They return messages as apps write them (without version and xid, which
// the connection fills in); add those to encode one directly.
import {
  OFP_NO_BUFFER, OFPCML_NO_BUFFER, OFPG, OFPP, type Action, type Bucket, type GroupProperty, type GroupType,
  type Instruction, type Match, type MessageOf, type OfMessageType,
} from './types.js';

/** A message without the header fields the connection fills in. */
export type MessageBody<T extends OfMessageType> = Omit<MessageOf<T>, 'version' | 'xid'>;

/** What a flow is: the fields every flow-mod builder takes. Unset fields get OpenFlow's defaults. */
export interface FlowSpec {
  match?: Match;
  priority?: number;
  tableId?: number;
  cookie?: bigint;
  idleTimeout?: number;
  hardTimeout?: number;
  /** OFPFF_* bits. */
  flags?: number;
  instructions?: Instruction[];
}

/** output:port. To the controller it sends the whole packet (OFPCML_NO_BUFFER); elsewhere maxLen is unused. */
export function output(port: number): Action {
  return { type: 'output', port, maxLen: port === OFPP.CONTROLLER ? OFPCML_NO_BUFFER : 0 };
}

/** The usual instruction list: apply these actions. */
export function applyActions(actions: Action[]): Instruction[] {
  return [{ type: 'apply_actions', actions }];
}

function flowMod(command: MessageOf<'flow_mod'>['command'], f: FlowSpec, cookieMask: bigint): MessageBody<'flow_mod'> {
  return {
    type: 'flow_mod', cookie: f.cookie ?? 0n, cookieMask, tableId: f.tableId ?? 0, command,
    idleTimeout: f.idleTimeout ?? 0, hardTimeout: f.hardTimeout ?? 0, priority: f.priority ?? 0,
    bufferId: OFP_NO_BUFFER, outPort: OFPP.ANY, outGroup: OFPG.ANY, flags: f.flags ?? 0,
    match: f.match ?? [], instructions: f.instructions ?? [],
  };
}

/** Adds the flow (or replaces the one with the same match and priority). */
export function flowAdd(f: FlowSpec): MessageBody<'flow_mod'> {
  return flowMod('add', f, 0n);
}

/**
 * Changes the instructions of flows. Strict: the one flow with this match and priority; else
 * every flow the match covers. `cookieMask` narrows either to flows whose cookie matches.
 */
export function flowModify(f: FlowSpec, o: { strict: boolean; cookieMask?: bigint }): MessageBody<'flow_mod'> {
  return flowMod(o.strict ? 'modify_strict' : 'modify', f, o.cookieMask ?? 0n);
}

/**
 * Deletes flows (instructions, timeouts and flags play no part). Strict: the one flow with this
 * match and priority; else every flow the match covers. `cookieMask` narrows to matching cookies.
 */
export function flowDelete(f: Pick<FlowSpec, 'match' | 'priority' | 'tableId' | 'cookie'>, o: { strict: boolean; cookieMask?: bigint }): MessageBody<'flow_mod'> {
  return flowMod(o.strict ? 'delete_strict' : 'delete', f, o.cookieMask ?? 0n);
}

/** What a group is. */
export interface GroupSpec {
  groupId: number;
  groupType: GroupType;
  buckets: Bucket[];
  /** OpenFlow 1.5 group properties (e.g. Open vSwitch's selection method). */
  properties?: GroupProperty[];
}

/** Adds or wholly replaces a group. */
export function groupMod(command: 'add' | 'modify', g: GroupSpec): MessageBody<'group_mod'> {
  return {
    type: 'group_mod', command, groupType: g.groupType, groupId: g.groupId, buckets: g.buckets,
    ...(g.properties ? { properties: g.properties } : {}),
  };
}

/** Deletes a group (OFPG.ALL: every group). The type is not looked at by switches. */
export function groupDelete(groupId: number, groupType: GroupType = 'all'): MessageBody<'group_mod'> {
  return { type: 'group_mod', command: 'delete', groupType, groupId, buckets: [] };
}

/** A select-group bucket: weight 1, no liveness watch. */
export function selectBucket(actions: Action[], bucketId?: number): Bucket {
  return { weight: 1, watchPort: OFPP.ANY, watchGroup: OFPG.ANY, ...(bucketId !== undefined ? { bucketId } : {}), actions };
}

/** Sends `data` through `actions`, as if it came in on `inPort` (default: from the controller). */
export function packetOut(p: { actions: Action[]; data: Buffer; inPort?: number }): MessageBody<'packet_out'> {
  return { type: 'packet_out', bufferId: OFP_NO_BUFFER, inPort: p.inPort ?? OFPP.CONTROLLER, actions: p.actions, data: p.data };
}
