// One place decides what a switch can do: its profile and OFPP_NORMAL come from one decision about
// the description, group types from GROUP_FEATURES' bits.
import { describe, expect, it } from 'vitest';
import { emptyCapabilities, maxGroups, switchCapabilities, type HandshakeFacts } from '../../../controller/capabilities.js';
import type { SwitchDesc } from '../../../openflow/types.js';

const desc = (mfrDesc: string, swDesc: string): SwitchDesc => ({ mfrDesc, hwDesc: 'hw', swDesc, serialNum: '', dpDesc: '' });
const facts = (over: Partial<HandshakeFacts>): HandshakeFacts =>
  ({ nTables: 254, nBuffers: 0, features: 0x4f, desc: null, groupFeatures: null, bundles: false, ...over });

describe('switch capabilities', () => {
  it('Open vSwitch gets the ovs profile and OFPP_NORMAL, from either description field', () => {
    for (const d of [desc('Nicira, Inc.', '3.1.0'), desc('someone', 'Open vSwitch 3.1'), desc('x', 'openvswitch')]) {
      const c = switchCapabilities(facts({ desc: d }));
      expect(c.profile).toBe('ovs');
      expect(c.normalPort).toBe(true);
    }
  });

  it('other or silent switches get the portable profile and no OFPP_NORMAL', () => {
    for (const d of [desc('Acme Networks', 'AcmeOS 9'), null]) {
      const c = switchCapabilities(facts({ desc: d }));
      expect(c.profile).toBe('openflow13');
      expect(c.normalPort).toBe(false);
    }
    expect(emptyCapabilities()).toMatchObject({ profile: 'openflow13', normalPort: false, bundles: false, groupTypes: [] });
  });

  it('reads group types from GROUP_FEATURES bits and max groups per type', () => {
    const groupFeatures = { types: 0b1010, capabilities: 0, maxGroups: [1, 2, 3, 4] as [number, number, number, number], actions: [0, 0, 0, 0] as [number, number, number, number] };
    const c = switchCapabilities(facts({ groupFeatures, bundles: true }));
    expect(c.groupTypes).toEqual(['select', 'ff']);
    expect(c.bundles).toBe(true);
    expect(maxGroups(c, 'select')).toBe(2);
    expect(maxGroups(c, 'ff')).toBe(4);
    expect(maxGroups(emptyCapabilities(), 'select')).toBe(0);
  });
});
