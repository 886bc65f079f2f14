// The flow-mod, group-mod and packet-out builders: OpenFlow's defaults in one place, and what
// Open vSwitch reads from their encodings.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  applyActions, flowAdd, flowDelete, flowModify, groupDelete, groupMod, output, packetOut, selectBucket,
} from '../../../openflow/builders.js';
import { encodeMessage } from '../../../openflow/messages.js';
import { OFP_NO_BUFFER, OFPCML_NO_BUFFER, OFPG, OFPP, type OfMessage } from '../../../openflow/types.js';

const hasOfctl = spawnSync('ovs-ofctl', ['--version'], { encoding: 'utf8' }).status === 0;
const ofpPrint = (m: OfMessage): string =>
  spawnSync('ovs-ofctl', ['ofp-print', Buffer.from(encodeMessage(m)).toString('hex')], { encoding: 'utf8' }).stdout;

const tcp80 = [{ kind: 'basic', name: 'eth_type', value: 0x0800 }, { kind: 'basic', name: 'ip_proto', value: 6 }, { kind: 'basic', name: 'tcp_dst', value: 80 }] as const;

describe('builders', () => {
  it('flowAdd fills OpenFlow defaults and keeps what it is given', () => {
    expect(flowAdd({ priority: 5, match: [...tcp80], instructions: applyActions([output(3)]), cookie: 7n, idleTimeout: 30, flags: 1 })).toEqual({
      type: 'flow_mod', command: 'add', cookie: 7n, cookieMask: 0n, tableId: 0, idleTimeout: 30, hardTimeout: 0, priority: 5,
      bufferId: OFP_NO_BUFFER, outPort: OFPP.ANY, outGroup: OFPG.ANY, flags: 1, match: [...tcp80],
      instructions: [{ type: 'apply_actions', actions: [{ type: 'output', port: 3, maxLen: 0 }] }],
    });
  });

  it('output sends the whole packet to the controller, nothing special elsewhere', () => {
    expect(output(OFPP.CONTROLLER)).toEqual({ type: 'output', port: OFPP.CONTROLLER, maxLen: OFPCML_NO_BUFFER });
    expect(output(OFPP.NORMAL)).toEqual({ type: 'output', port: OFPP.NORMAL, maxLen: 0 });
  });

  it('modify and delete pick strict or not, and carry the cookie mask', () => {
    expect(flowModify({ cookie: 1n }, { strict: false, cookieMask: 0xffn })).toMatchObject({ command: 'modify', cookie: 1n, cookieMask: 0xffn });
    expect(flowModify({}, { strict: true })).toMatchObject({ command: 'modify_strict', cookieMask: 0n });
    expect(flowDelete({ tableId: 3 }, { strict: true })).toMatchObject({ command: 'delete_strict', tableId: 3, instructions: [] });
    expect(flowDelete({}, { strict: false })).toMatchObject({ command: 'delete' });
  });

  it('group builders: add/modify carry properties only when given; delete has no buckets', () => {
    const g = { groupId: 9, groupType: 'select' as const, buckets: [selectBucket([output(2)], 0)] };
    expect(groupMod('add', g)).toEqual({ type: 'group_mod', command: 'add', groupType: 'select', groupId: 9, buckets: g.buckets });
    expect('properties' in groupMod('modify', g)).toBe(false);
    expect(groupDelete(9)).toEqual({ type: 'group_mod', command: 'delete', groupType: 'all', groupId: 9, buckets: [] });
    expect(selectBucket([])).toEqual({ weight: 1, watchPort: OFPP.ANY, watchGroup: OFPG.ANY, actions: [] });
  });

  it('packetOut comes from the controller unless told otherwise', () => {
    expect(packetOut({ actions: [], data: Buffer.alloc(0) })).toMatchObject({ bufferId: OFP_NO_BUFFER, inPort: OFPP.CONTROLLER });
    expect(packetOut({ actions: [], data: Buffer.alloc(0), inPort: 4 }).inPort).toBe(4);
  });

  it.runIf(hasOfctl)('Open vSwitch reads the builders\' encodings as meant', () => {
    const add = ofpPrint({ ...flowAdd({ priority: 5, match: [...tcp80], instructions: applyActions([output(3)]), cookie: 7n, idleTimeout: 30 }), version: 4, xid: 1 });
    expect(add).toContain('ADD priority=5,tcp,tp_dst=80 cookie:0x7 idle:30 actions=output:3');
    const del = ofpPrint({ ...flowDelete({ priority: 5, match: [...tcp80] }, { strict: true }), version: 4, xid: 2 });
    expect(del).toContain('DEL_STRICT priority=5,tcp,tp_dst=80');
    const grp = ofpPrint({ ...groupMod('add', { groupId: 9, groupType: 'select', buckets: [selectBucket([output(2)])] }), version: 4, xid: 3 });
    expect(grp).toContain('ADD group_id=9,type=select,bucket=actions=output:2');
    const po = ofpPrint({ ...packetOut({ actions: [output(OFPP.FLOOD)], data: Buffer.alloc(14) }), version: 4, xid: 4 });
    expect(po).toContain('in_port=CONTROLLER actions=FLOOD data_len=14');
  });
});
