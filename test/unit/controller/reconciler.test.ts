// The reconciler's decisions against a recording stand-in for a switch handle (no I/O).
import { describe, expect, it } from 'vitest';
import type { OfMessageInput, SwitchHandle } from '../../../controller/app.js';
import { createLogger, resolveLogLevel } from '../../../controller/log.js';
import { Reconciler, prerequisitesFirst } from '../../../controller/reconciler.js';
import type { DesiredFlow, DesiredGroup } from '../../../controller/desired.js';
import type { FlowStats, MultipartReplyBody, MultipartRequestBody } from '../../../openflow/types.js';

const log = createLogger({ level: 'silent' });

class RecordingSwitch {
  dpid = 1n;
  dpidHex = '0000000000000001';
  version = 4 as const;
  connected = true;
  transactions: OfMessageInput[][] = [];
  dumpFlows: FlowStats[] = [];
  multipartCalls: MultipartRequestBody[] = [];
  async transaction(msgs: readonly OfMessageInput[]): Promise<void> {
    this.transactions.push([...msgs]);
  }
  async multipart(body: MultipartRequestBody): Promise<MultipartReplyBody[]> {
    this.multipartCalls.push(body);
    if (body.kind === 'group_desc') return [{ kind: 'group_desc', groups: [] }];
    return [{ kind: 'flow', flows: this.dumpFlows }];
  }
}

const flow = (i: number, cookie = 0xab00n + BigInt(i)): DesiredFlow => ({
  tableId: 0, priority: i, cookie,
  match: [{ kind: 'basic', name: 'tcp_dst', value: i }, { kind: 'basic', name: 'ip_proto', value: 6 }, { kind: 'basic', name: 'eth_type', value: 0x800 }],
  instructions: [{ type: 'apply_actions', actions: [{ type: 'group', groupId: 10 }] }],
});
const group = (id: number, port = 1): DesiredGroup => ({ groupId: id, groupType: 'select', buckets: [{ weight: 1, watchPort: 0xffffffff, watchGroup: 0xffffffff, actions: [{ type: 'output', port, maxLen: 0 }] }] });
const claim = { cookie: 0xab00n, cookieMask: 0xff00n, groupIdMin: 10, groupIdMax: 19 };

function setup(): { r: Reconciler; sw: RecordingSwitch } {
  const r = new Reconciler(log, 0);
  r.claim('app', claim);
  const sw = new RecordingSwitch();
  return { r, sw };
}
const up = (r: Reconciler, sw: RecordingSwitch) => r.switchUp(sw as unknown as SwitchHandle);
const kinds = (msgs: OfMessageInput[]) => msgs.map((m) => (m.type === 'flow_mod' ? `flow:${m.command}:${m.priority}` : m.type === 'group_mod' ? `group:${m.command}:${m.groupId}` : m.type));

describe('Reconciler', () => {
  it('refuses overlapping claims and desired state outside the claim', async () => {
    const { r } = setup();
    expect(() => r.claim('other', { cookie: 0xab55n, cookieMask: 0xff00n, groupIdMin: 30, groupIdMax: 40 })).toThrow(/cookie space overlaps/);
    expect(() => r.claim('other', { cookie: 0xcd00n, cookieMask: 0xff00n, groupIdMin: 15, groupIdMax: 40 })).toThrow(/group range overlaps/);
    expect(() => r.claim('x', { cookie: 0n, cookieMask: 0n, groupIdMin: 50, groupIdMax: 60 })).toThrow(/every flow/);
    await expect(r.setDesired('app', 1n, { flows: [flow(1, 0xcd01n)], groups: [] })).rejects.toThrow(/outside its cookie space/);
    await expect(r.setDesired('app', 1n, { flows: [], groups: [group(20)] })).rejects.toThrow(/outside its range/);
    await expect(r.setDesired('nobody', 1n, { flows: [], groups: [] })).rejects.toThrow(/not claimed/);
  });

  it('stores state for a disconnected switch and applies it at connect after a dump, groups before flows', async () => {
    const { r, sw } = setup();
    await r.setDesired('app', 1n, { flows: [flow(1), flow(2)], groups: [group(10)] });
    expect(sw.transactions).toHaveLength(0);
    sw.dumpFlows = [{ ...flow(2), durationSec: 5, durationNsec: 0, idleTimeout: 0, hardTimeout: 0, flags: 0, packetCount: 9n, byteCount: 9n, match: [...flow(2).match].reverse() }];
    up(r, sw);
    await r.audit(1n); // waits for the connect pass (shared) and one more
    expect(sw.multipartCalls.some((b) => b.kind === 'flow' && b.body.cookie === 0xab00n && b.body.cookieMask === 0xff00n)).toBe(true);
    expect(kinds(sw.transactions[0])).toEqual(['group:add:10', 'flow:add:1']);
    const add = sw.transactions[0][1];
    // OXM prerequisites first, whatever order the app listed them in.
    expect(add.type === 'flow_mod' && add.match.map((m) => (m.kind === 'basic' ? m.name : ''))).toEqual(['eth_type', 'ip_proto', 'tcp_dst']);
  });

  it('sends only the difference, deletes cookie-exact and strict, flows before groups on removal', async () => {
    const { r, sw } = setup();
    up(r, sw);
    await r.setDesired('app', 1n, { flows: [flow(1), flow(2)], groups: [group(10), group(11)] });
    sw.transactions.length = 0;
    await r.setDesired('app', 1n, { flows: [flow(1)], groups: [group(10, 2)] });
    expect(kinds(sw.transactions[0])).toEqual(['group:modify:10', 'flow:delete_strict:2', 'group:delete:11']);
    const del = sw.transactions[0][1];
    expect(del.type === 'flow_mod' && [del.cookie, del.cookieMask]).toEqual([0xab02n, 0xffff_ffff_ffff_ffffn]);
    sw.transactions.length = 0;
    await r.setDesired('app', 1n, { flows: [flow(1)], groups: [group(10, 2)] });
    expect(sw.transactions).toHaveLength(0);
    expect(r.stats(1n)?.lastDiff?.flowAdd).toBe(0);
  });

  it('coalesces bursts of setDesired into few passes, the last state winning', async () => {
    const { r, sw } = setup();
    up(r, sw);
    const ps = [1, 2, 3, 4, 5].map((n) => r.setDesired('app', 1n, { flows: Array.from({ length: n }, (_, i) => flow(i + 1)), groups: [] }));
    await Promise.all(ps);
    expect(sw.transactions.length).toBeLessThanOrEqual(2);
    const added = sw.transactions.flat().filter((m) => m.type === 'flow_mod' && m.command === 'add').length;
    expect(added).toBe(5);
  });
});

describe('helpers', () => {
  it('orders OXM fields by prerequisite', () => {
    expect(prerequisitesFirst(flow(1).match).map((m) => (m.kind === 'basic' ? m.name : ''))).toEqual(['eth_type', 'ip_proto', 'tcp_dst']);
  });
  it('resolves the log level from option, then HOLDFAST_LOG, else warn', () => {
    expect(resolveLogLevel(undefined, undefined)).toBe('warn');
    expect(resolveLogLevel(undefined, 'debug')).toBe('debug');
    expect(resolveLogLevel('error', 'debug')).toBe('error');
    expect(resolveLogLevel(undefined, 'nonsense')).toBe('warn');
  });
});
