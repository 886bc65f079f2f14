import { describe, expect, it } from 'vitest';
import { countFlowMods } from '../../../controller/connection.js';
import { encodeMessage } from '../../../openflow/messages.js';
import { OFPG, OFPP, OFP_NO_BUFFER, type OfMessage } from '../../../openflow/types.js';

const flowMod: OfMessage = {
  type: 'flow_mod', version: 6, xid: 1, cookie: 0n, cookieMask: 0n, tableId: 0, command: 'add', idleTimeout: 0, hardTimeout: 0,
  priority: 1, bufferId: OFP_NO_BUFFER, outPort: OFPP.ANY, outGroup: OFPG.ANY, flags: 0, match: [], instructions: [],
};

describe('countFlowMods', () => {
  it('counts flow-mods among messages laid end to end, bundled ones included', () => {
    const bytes = Buffer.concat([
      encodeMessage(flowMod),
      encodeMessage({ type: 'barrier_request', version: 6, xid: 2 }),
      encodeMessage({ type: 'bundle_add_message', version: 6, xid: 3, bundleId: 1, flags: 0, message: { ...flowMod, xid: 3 } }),
      encodeMessage({ ...flowMod, xid: 4 }),
    ]);
    expect(countFlowMods(bytes)).toBe(3);
    expect(countFlowMods(Buffer.alloc(0))).toBe(0);
  });
});
