// OFPT_ROLE_STATUS (OpenFlow 1.4+): declared in openflow/messages/role.ts alone. Checked against
// Open vSwitch's `ovs-ofctl ofp-print`, and through our own decoder.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage, OFPT } from '../../../openflow/messages.js';
import type { OfMessage } from '../../../openflow/types.js';

const hasOfctl = spawnSync('ovs-ofctl', ['--version'], { encoding: 'utf8' }).status === 0;
const ofpPrint = (b: Buffer): string => {
  const r = spawnSync('ovs-ofctl', ['ofp-print', b.toString('hex')], { encoding: 'utf8' });
  return r.stdout + r.stderr;
};

const status: OfMessage = { type: 'role_status', version: 5, xid: 1, role: 'master', reason: 'config', generationId: 10n };

describe('role status', () => {
  it('has its type code and exact bytes (ofp14_role_status: role, reason, pad, generation id)', () => {
    expect(OFPT.ROLE_STATUS).toBe(30);
    expect(Buffer.from(encodeMessage(status)).toString('hex')).toBe('051e0018000000010000000201000000000000000000000a');
  });

  it('round-trips, numeric reasons and properties included', () => {
    for (const m of [status,
      { ...status, version: 6, role: 'slave', reason: 'master_request', generationId: 0xffffffffffffffffn },
      { ...status, reason: 7, properties: Buffer.from('ffff000c00002320000000010000000000000000', 'hex').subarray(0, 16) }] as OfMessage[]) {
      const bytes = Buffer.from(encodeMessage(m));
      const back = decodeMessage(bytes);
      expect(back).toEqual({ ok: true, value: m });
    }
  });

  it('is not a 1.3 message: it stays raw there and does not encode', () => {
    const bytes = Buffer.from(encodeMessage(status));
    bytes[0] = 4;
    expect(decodeMessage(bytes)).toMatchObject({ ok: true, value: { type: 'raw', msgType: 30 } });
    expect(() => encodeMessage({ ...status, version: 4 })).toThrow(/not part of OpenFlow wire version 4/);
  });

  it.runIf(hasOfctl)('reads, in Open vSwitch\'s words, as what we meant', () => {
    expect(ofpPrint(Buffer.from(encodeMessage(status)))).toContain('OFPT_ROLE_STATUS (OF1.4) (xid=0x1): role=primary generation_id=10 reason=configuration_changed');
    const v15 = ofpPrint(Buffer.from(encodeMessage({ ...status, version: 6, xid: 2, role: 'slave', reason: 'master_request', generationId: 3n })));
    expect(v15).toContain('OFPT_ROLE_STATUS (OF1.5) (xid=0x2): role=secondary generation_id=3 reason=primary_request');
  });
});
