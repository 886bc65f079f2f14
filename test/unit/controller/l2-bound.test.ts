// The learning switch's MAC table stays bounded under random source MACs, keeping recent ones.
import { describe, expect, it } from 'vitest';
import { L2Forwarding, L2_COOKIE } from '../../../apps/l2/forwarding.js';
import type { SwitchHandle } from '../../../controller/app.js';
import { createLogger } from '../../../controller/log.js';
import { Reconciler } from '../../../controller/reconciler.js';
import type { MessageOf } from '../../../openflow/types.js';

function frame(dst: number, src: number): Buffer {
  const b = Buffer.alloc(60);
  b.writeUIntBE(dst, 0, 6);
  b.writeUIntBE(src, 6, 6);
  b.writeUInt16BE(0x0800, 12);
  return b;
}

describe('L2 learning table', () => {
  it('holds at most maxMacs per switch; the least recently seen go first', () => {
    const l2 = new L2Forwarding(new Reconciler(createLogger({ level: 'silent' })), 100);
    const sent: string[] = [];
    const sw = { dpidHex: '0000000000000001', capabilities: { normalPort: false }, send: (m: { type: string }) => void sent.push(m.type) } as unknown as SwitchHandle;
    const pin = (dst: number, src: number, port: number): MessageOf<'packet_in'> => ({
      type: 'packet_in', version: 4, xid: 0, bufferId: 0xffffffff, totalLen: 60, reason: 'no_match', tableId: 0,
      cookie: L2_COOKIE | 1n, match: [{ kind: 'basic', name: 'in_port', value: port }], data: frame(dst, src),
    });
    l2.packetIn(sw, pin(0xffffffffffff, 0x020000000001, 1)); // a host we keep talking to
    for (let i = 0; i < 300_000; i++) {
      l2.packetIn(sw, pin(0xffffffffffff, 0x0a0000000000 + i, 2));
      if (i % 50 === 0) l2.packetIn(sw, pin(0xffffffffffff, 0x020000000001, 1));
    }
    expect(l2.macCount('0000000000000001')).toBe(100);
    // The busy host is still known: traffic to it gets a flow, not a flood.
    sent.length = 0;
    l2.packetIn(sw, pin(0x020000000001, 0x0b0000000000, 2));
    expect(sent).toEqual(['flow_mod', 'packet_out']);
  });
});
