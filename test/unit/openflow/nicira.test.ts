// Open vSwitch's NX actions as typed actions, and the one OXM/NXM field table they and matches
// are derived from.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { Reader, Writer } from '../../../openflow/buf.js';
import { readActions, writeActions } from '../../../openflow/actions.js';
import { encodeMessage } from '../../../openflow/messages.js';
import { NXM, NX_LEARN_F } from '../../../openflow/nicira.js';
import { matchValue, oxm, oxmDescriptor } from '../../../openflow/oxm.js';
import { basicFieldOfHeader, OXM_BASIC } from '../../../openflow/oxm-fields.js';
import type { Action, OxmField } from '../../../openflow/types.js';

const hasOfctl = spawnSync('ovs-ofctl', ['--version'], { encoding: 'utf8' }).status === 0;

const learn: Action = {
  type: 'nx_learn', table: 0, priority: 40000, idleTimeout: 300, finIdleTimeout: 2, cookie: 0x200000100000007n,
  flags: NX_LEARN_F.SEND_FLOW_REM, specs: [
    { kind: 'match_value', field: NXM.ethType, value: 0x0800 },
    { kind: 'match_value', field: NXM.ipProto, value: 6 },
    { kind: 'match_field', field: NXM.ipSrc },
    { kind: 'match_value', field: NXM.ipDst, value: '10.0.0.100' },
    { kind: 'match_from', field: NXM.tcpDst, from: NXM.tcpSrc },
    { kind: 'load_value', field: NXM.ethDst, value: '02:00:00:00:00:0b' },
    { kind: 'output_field', field: NXM.metadata, ofs: 32, bits: 16 },
  ],
};
const actions: Action[] = [{ type: 'nx_resubmit', table: 1 }, { type: 'nx_fin_timeout', idleTimeout: 2, hardTimeout: 0 }, learn, { type: 'output', port: 3, maxLen: 0 }];

function enc(a: Action[]): Buffer {
  const w = new Writer();
  writeActions(w, a, 4);
  return Buffer.from(w.finish());
}

describe('NX actions', () => {
  it('encode as experimenter actions and read back as the same typed actions', () => {
    const bytes = enc(actions);
    expect(bytes.length % 8).toBe(0);
    expect(bytes.subarray(0, 16).toString('hex')).toBe('ffff001000002320000efff801000000'); // resubmit(,1)
    expect(bytes.subarray(16, 32).toString('hex')).toBe('ffff001000002320001300020000' + '0000'); // fin_timeout(idle_timeout=2)
    expect(readActions(new Reader(bytes), bytes.length, 4)).toEqual(actions);
  });

  it.runIf(hasOfctl)('read, in Open vSwitch\'s words, as meant', () => {
    const text = spawnSync('ovs-ofctl', ['ofp-print', Buffer.from(encodeMessage({
      type: 'flow_mod', version: 4, xid: 1, cookie: 0n, cookieMask: 0n, tableId: 0, command: 'add', idleTimeout: 0, hardTimeout: 0, priority: 1,
      bufferId: 0xffffffff, outPort: 0xffffffff, outGroup: 0xffffffff, flags: 0,
      match: [oxm('eth_type', 0x0800), oxm('ip_proto', 6)], instructions: [{ type: 'apply_actions', actions }],
    })).toString('hex')], { encoding: 'utf8' }).stdout;
    expect(text).toContain('priority=1,tcp actions=resubmit(,1),fin_timeout(idle_timeout=2),learn(table=0,idle_timeout=300,fin_idle_timeout=2,priority=40000,send_flow_rem,'
      + 'cookie=0x200000100000007,eth_type=0x800,nw_proto=6,NXM_OF_IP_SRC[],ip_dst=10.0.0.100,NXM_OF_TCP_DST[]=NXM_OF_TCP_SRC[],'
      + 'load:0x2000000000b->NXM_OF_ETH_DST[],output:OXM_OF_METADATA[32..47]),output:3');
  });
});

describe('the field table', () => {
  it('gives NXM headers as Open vSwitch numbers them', () => {
    expect(NXM.inPort.header).toBe(0x00000002);
    expect(NXM.ethDst.header).toBe(0x00000206);
    expect(NXM.ipSrc.header).toBe(0x00000e04);
    expect(NXM.tcpDst.header).toBe(0x00001402);
    expect(NXM.metadata.header).toBe(0x80000408);
  });

  it('names the packet field an NXM or OXM basic header stands for, masked or not', () => {
    expect(basicFieldOfHeader(NXM.inPort.header)).toBe('in_port');
    expect(basicFieldOfHeader(NXM.ipSrc.header)).toBe('ipv4_src');
    expect(basicFieldOfHeader(NXM.udpDst.header)).toBe('udp_dst');
    expect(basicFieldOfHeader(NXM.metadata.header)).toBe('metadata');
    expect(basicFieldOfHeader(0x80002f08)).toBe('arp_tpa'); // OXM_OF_ARP_TPA_W: code 23, has-mask, 8 bytes
    expect(basicFieldOfHeader(0x00000406)).toBeUndefined(); // NXM_OF_ETH_SRC: not in the table
    expect(basicFieldOfHeader(0x00010004)).toBeUndefined(); // NXM_NX_REG0 (class NXM_1)
  });

  it('derives descriptors and typed fields from one row per field', () => {
    expect(oxmDescriptor('ipv6_src')).toEqual({ name: 'ipv6_src', code: OXM_BASIC.ipv6_src.code, kind: 'ipv6', length: 16, maskable: true });
    expect(oxm('ipv4_src', '10.0.0.0', '255.0.0.0')).toEqual({ kind: 'basic', name: 'ipv4_src', value: '10.0.0.0', mask: '255.0.0.0' });
    const m: OxmField[] = [oxm('tcp_dst', 80), oxm('metadata', 7n)];
    const port: number | undefined = matchValue(m, 'tcp_dst');
    const md: bigint | undefined = matchValue(m, 'metadata');
    expect([port, md]).toEqual([80, 7n]);
    // Values are typed by field: these do not compile.
    // @ts-expect-error a port is a number
    oxm('tcp_dst', '80');
    // @ts-expect-error metadata is 64 bits: a bigint
    const bad: OxmField = { kind: 'basic', name: 'metadata', value: 1 };
    void bad;
  });
});
