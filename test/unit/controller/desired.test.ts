import { describe, expect, it } from 'vitest';
import {
  canonicalMatch, diffFlows, diffGroups, flowKey, flowRecord, groupRecord, type DesiredFlow, type DesiredGroup,
} from '../../../controller/desired.js';
import type { Match } from '../../../openflow/types.js';

const out = (port: number) => [{ type: 'apply_actions' as const, actions: [{ type: 'output' as const, port, maxLen: 0 }] }];
const flow = (over: Partial<DesiredFlow> = {}): DesiredFlow => ({
  tableId: 0, priority: 100, cookie: 0x10n,
  match: [{ kind: 'basic', name: 'eth_type', value: 0x800 }, { kind: 'basic', name: 'ipv4_dst', value: '10.0.0.9' }],
  instructions: out(1), ...over,
});
const recs = (fs: DesiredFlow[]) => new Map(fs.map((f) => { const r = flowRecord(f, 4); return [r.key, r]; }));

describe('canonical flow identity', () => {
  it('is independent of OXM field order', () => {
    const a: Match = [{ kind: 'basic', name: 'eth_type', value: 0x800 }, { kind: 'basic', name: 'ip_proto', value: 6 }, { kind: 'basic', name: 'tcp_dst', value: 80 }];
    expect(canonicalMatch(a)).toBe(canonicalMatch([a[2], a[0], a[1]]));
    expect(flowKey({ tableId: 0, priority: 5, match: a })).not.toBe(flowKey({ tableId: 0, priority: 6, match: a }));
    expect(flowKey({ tableId: 0, priority: 5, match: a })).not.toBe(flowKey({ tableId: 1, priority: 5, match: a }));
  });

  it('normalizes masks the way the switch does', () => {
    const full: Match = [{ kind: 'basic', name: 'ipv4_dst', value: '10.0.0.9', mask: '255.255.255.255' }];
    const plain: Match = [{ kind: 'basic', name: 'ipv4_dst', value: '10.0.0.9' }];
    expect(canonicalMatch(full)).toBe(canonicalMatch(plain));
    const dirty: Match = [{ kind: 'basic', name: 'ipv4_dst', value: '10.0.0.9', mask: '255.255.255.0' }];
    const clean: Match = [{ kind: 'basic', name: 'ipv4_dst', value: '10.0.0.0', mask: '255.255.255.0' }];
    expect(canonicalMatch(dirty)).toBe(canonicalMatch(clean));
    expect(canonicalMatch(dirty)).not.toBe(canonicalMatch(plain));
    const wild: Match = [{ kind: 'basic', name: 'ipv4_dst', value: '10.0.0.9', mask: '0.0.0.0' }];
    expect(canonicalMatch(wild)).toBe(canonicalMatch([]));
  });

  it('reads tcp_flags in Open vSwitch\'s OpenFlow 1.3 form (ONF experimenter OXM) as the basic field we send', () => {
    // What an OpenFlow 1.3 flow dump gives back for tcp_flags=+syn-ack (seen on Open vSwitch 3.1).
    const onf: Match = [{ kind: 'other', oxmClass: 0xffff, field: 42, hasMask: true, payload: Buffer.from([0x4f, 0x4e, 0x46, 0x00, 0x00, 0x02, 0x00, 0x12]) }];
    const basic: Match = [{ kind: 'basic', name: 'tcp_flags', value: 2, mask: 0x12 }];
    expect(canonicalMatch(onf)).toBe(canonicalMatch(basic));
    expect(canonicalMatch(onf)).not.toBe(canonicalMatch([{ kind: 'basic', name: 'tcp_flags', value: 0x10, mask: 0x12 }]));
  });
});

describe('diffFlows', () => {
  it('sends nothing when desired equals installed (fields in another order)', () => {
    const f = flow();
    const g = flow({ match: [...f.match].reverse() });
    const d = diffFlows(recs([f]), recs([g]));
    expect(d).toEqual({ add: [], modify: [], replace: [], remove: [] });
  });

  it('classifies add, modify (instructions only), replace (cookie/timeouts) and remove', () => {
    const keep = flow({ priority: 1 });
    const changedActions = flow({ priority: 2 });
    const changedCookie = flow({ priority: 3 });
    const gone = flow({ priority: 4 });
    const fresh = flow({ priority: 5 });
    const installed = recs([keep, changedActions, changedCookie, gone]);
    const desired = recs([keep, { ...changedActions, instructions: out(2) }, { ...changedCookie, cookie: 0x11n, idleTimeout: 5 }, fresh]);
    const d = diffFlows(desired, installed);
    expect(d.add.map((f) => f.priority)).toEqual([5]);
    expect(d.modify.map((f) => f.priority)).toEqual([2]);
    expect(d.replace.map((f) => f.priority)).toEqual([3]);
    expect(d.remove.map((f) => f.priority)).toEqual([4]);
    expect(d.remove[0].cookie).toBe(0x10n);
  });
});

describe('diffGroups', () => {
  const grp = (id: number, ports: number[], type: DesiredGroup['groupType'] = 'select'): DesiredGroup => ({
    groupId: id, groupType: type,
    buckets: ports.map((p) => ({ weight: 1, watchPort: 0xffffffff, watchGroup: 0xffffffff, actions: [{ type: 'output', port: p, maxLen: 0 }] })),
  });
  const recsG = (gs: DesiredGroup[]) => new Map(gs.map((g) => [g.groupId, groupRecord(g, 4)]));

  it('compares type and buckets, ignoring bucket ids', () => {
    const a = grp(1, [1, 2]);
    const withIds = { ...a, buckets: a.buckets.map((b, i) => ({ ...b, bucketId: i })) };
    expect(diffGroups(recsG([a]), recsG([withIds]))).toEqual({ add: [], modify: [], remove: [] });
    const d = diffGroups(recsG([grp(1, [1, 3]), grp(2, [1]), grp(4, [1], 'all')]), recsG([a, grp(3, [2]), grp(4, [1], 'select')]));
    expect(d.modify.map((g) => g.groupId).sort()).toEqual([1, 4]);
    expect(d.add.map((g) => g.groupId)).toEqual([2]);
    expect(d.remove.map((g) => g.groupId)).toEqual([3]);
  });
});
