// The controller runtime against a real Open vSwitch (userspace lab): handshake and version
// negotiation, keepalive, flows/groups/bundles, multipart, packet-in/out with real traffic,
// reconnection, two bridges at once, and the reconciler.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Controller, OfRequestError, type App, type SwitchHandle } from '../../controller/index.js';
import { startLab, type Lab } from '../../tools/lab/lab.js';
import { waiter } from '../helpers/wait-for.js';
import { OFP_NO_BUFFER, OFPG, OFPP, type Instruction, type MessageOf } from '../../openflow/types.js';
import type { DesiredFlow } from '../../controller/desired.js';

const DP13 = 0x00000000000000a1n;
const DP15 = 0x00000000000000b1n;

let ctl: Controller;
let lab: Lab;
const events: string[] = [];
const packetIns: { dpid: bigint; inPort: number }[] = [];

/** Forwards packet-ins between two ports of br15 by packet-out (a two-port wire through the controller). */
const wire: App = {
  name: 'wire',
  switchUp: (sw) => void events.push(`up ${sw.dpidHex} v${sw.version}`),
  switchDown: (sw) => void events.push(`down ${sw.dpidHex}`),
  packetIn(sw, msg) {
    const inPort = msg.match.find((f) => f.kind === 'basic' && f.name === 'in_port');
    const port = inPort && inPort.kind === 'basic' ? Number(inPort.value) : -1;
    packetIns.push({ dpid: sw.dpid, inPort: port });
    if (sw.dpid !== DP15) return;
    const h1 = lab.host('h1').ofport;
    const h2 = lab.host('h2').ofport;
    const to = port === h1 ? h2 : port === h2 ? h1 : -1;
    if (to < 0) return;
    sw.send({ type: 'packet_out', bufferId: OFP_NO_BUFFER, inPort: port, actions: [{ type: 'output', port: to, maxLen: 0 }], data: msg.data });
  },
};

const waitFor = waiter(8000, 25);

const sw = (dpid: bigint): SwitchHandle => {
  const s = ctl.switch(dpid);
  if (!s) throw new Error(`switch ${dpid} not connected`);
  return s;
};

const output = (port: number): Instruction[] => [{ type: 'apply_actions', actions: [{ type: 'output', port, maxLen: 0 }] }];
function flowMod(over: Partial<MessageOf<'flow_mod'>>): Omit<MessageOf<'flow_mod'>, 'version' | 'xid'> {
  return {
    type: 'flow_mod', command: 'add', cookie: 0n, cookieMask: 0n, tableId: 0, idleTimeout: 0, hardTimeout: 0,
    priority: 100, bufferId: OFP_NO_BUFFER, outPort: OFPP.ANY, outGroup: OFPG.ANY, flags: 0, match: [], instructions: [],
    ...over,
  };
}

beforeAll(async () => {
  ctl = new Controller({ listeners: [{ host: '127.0.0.1', port: 0 }], echoIntervalMs: 200, echoTimeoutMs: 3000, auditIntervalMs: 0 });
  ctl.use(wire);
  await ctl.start();
  const port = ctl.addresses()[0].port;
  lab = await startLab({
    name: 'runtime-test',
    bridges: [
      { name: 'br13', protocols: ['OpenFlow13'], datapathId: DP13.toString(16).padStart(16, '0'), controller: { host: '127.0.0.1', port } },
      { name: 'br15', datapathId: DP15.toString(16).padStart(16, '0'), controller: { host: '127.0.0.1', port } },
    ],
    hosts: [
      { name: 'h1', bridge: 'br15', ip: '10.0.0.1/24' },
      { name: 'h2', bridge: 'br15', ip: '10.0.0.2/24' },
      { name: 'h3', bridge: 'br13', ip: '10.0.1.3/24' },
    ],
  });
  await waitFor(() => ctl.switch(DP13) && ctl.switch(DP15), 10000, 'both bridges to connect');
});

afterAll(async () => {
  await lab?.stop();
  await ctl?.stop();
});

describe('handshake', () => {
  it('negotiates 1.3 with a 1.3-only bridge and 1.5 with a 1.5 bridge, and learns each switch', () => {
    const a = sw(DP13);
    const b = sw(DP15);
    expect(a.version).toBe(4);
    expect(b.version).toBe(6);
    expect(a.dpidHex).toBe('00000000000000a1');
    for (const s of [a, b]) {
      expect(s.connected).toBe(true);
      expect(s.capabilities.bundles).toBe(true);
      expect(s.capabilities.groupTypes).toEqual(expect.arrayContaining(['all', 'select', 'indirect', 'ff']));
      expect(s.capabilities.normalPort).toBe(true);
      expect(s.capabilities.desc?.mfrDesc).toMatch(/Nicira|Open vSwitch/i);
      expect(s.capabilities.nTables).toBeGreaterThan(1);
      expect(Date.now() - s.connectedAt.getTime()).toBeLessThan(60_000);
    }
    expect([...b.ports.keys()]).toEqual(expect.arrayContaining([lab.host('h1').ofport, lab.host('h2').ofport]));
    expect([...a.ports.values()].map((p) => p.name)).toContain(lab.host('h3').port);
    expect(events).toEqual(expect.arrayContaining(['up 00000000000000a1 v4', 'up 00000000000000b1 v6']));
  });

  it('keeps ports current from PORT_STATUS', async () => {
    const b = sw(DP15);
    await lab.vsctl(['add-port', 'br15', 'extra0', '--', 'set', 'interface', 'extra0', 'type=internal', 'ofport_request=40']);
    await waitFor(() => b.ports.get(40), 5000, 'port 40 to appear');
    expect(b.ports.get(40)?.name).toBe('extra0');
    await lab.vsctl(['del-port', 'br15', 'extra0']);
    await waitFor(() => !b.ports.has(40), 5000, 'port 40 to go');
  });
});

describe('keepalive', () => {
  it('sends echo requests to a quiet switch and gets replies', async () => {
    const stats = await waitFor(() => {
      const s = ctl.connectionStats(DP13);
      return s && s.echoRepliesReceived >= 2 ? s : undefined;
    }, 5000, 'echo round-trips');
    expect(stats.echoRequestsSent).toBeGreaterThanOrEqual(stats.echoRepliesReceived);
    expect(stats.lastEchoRttMs).not.toBeNull();
  });
});

describe('requests', () => {
  it('installs a select group and flows through a bundle transaction, visible in ovs-ofctl', async () => {
    const b = sw(DP15);
    const bucket = (port: number) => ({ weight: 1, watchPort: OFPP.ANY, watchGroup: OFPG.ANY, actions: [{ type: 'output' as const, port, maxLen: 0 }] });
    await b.transaction([
      { type: 'group_mod', command: 'add', groupType: 'select', groupId: 7, buckets: [bucket(lab.host('h1').ofport), bucket(lab.host('h2').ofport)] },
      flowMod({
        cookie: 0x77n, priority: 300, tableId: 0,
        match: [{ kind: 'basic', name: 'eth_type', value: 0x800 }, { kind: 'basic', name: 'ipv4_dst', value: '10.9.9.9' }],
        instructions: [{ type: 'apply_actions', actions: [{ type: 'group', groupId: 7 }] }],
      }),
    ]);
    const groups = await lab.ofctl(['-O', 'OpenFlow13', 'dump-groups', 'br15']);
    expect(groups).toMatch(/group_id=7,type=select,bucket=.*output:\d+.*bucket=.*output:\d+/);
    const flows = await lab.ofctl(['-O', 'OpenFlow13', 'dump-flows', 'br15']);
    expect(flows).toMatch(/cookie=0x77,.*priority=300,ip,nw_dst=10\.9\.9\.9 actions=group:7/);
  });

  it('a failing bundle applies nothing and rejects with the switch error', async () => {
    const b = sw(DP15);
    const err = await b.transaction([
      flowMod({ cookie: 0x78n, priority: 301, match: [{ kind: 'basic', name: 'eth_type', value: 0x800 }, { kind: 'basic', name: 'ipv4_dst', value: '10.9.9.8' }], instructions: output(1) }),
      // group 999 does not exist: the switch refuses this flow, so the bundle must fail as a whole.
      flowMod({ cookie: 0x78n, priority: 302, instructions: [{ type: 'apply_actions', actions: [{ type: 'group', groupId: 999 }] }] }),
    ]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OfRequestError);
    expect((err as OfRequestError).errType).toMatch(/bad_action|bundle_failed/);
    const flows = await lab.ofctl(['-O', 'OpenFlow13', 'dump-flows', 'br15']);
    expect(flows).not.toMatch(/10\.9\.9\.8/);
  });

  it('runs a bundle on a 1.3 bridge (ONF extension) and fails a bad request with OfRequestError', async () => {
    const a = sw(DP13);
    await a.transaction([flowMod({ cookie: 0x13n, priority: 10, match: [{ kind: 'basic', name: 'eth_type', value: 0x806 }], instructions: output(OFPP.NORMAL) })]);
    expect(await lab.ofctl(['-O', 'OpenFlow13', 'dump-flows', 'br13'])).toMatch(/cookie=0x13,.*priority=10,arp actions=NORMAL/);
    const err = await a.request(flowMod({ command: 'add', instructions: [{ type: 'goto_table', tableId: 0 }] })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OfRequestError);
  });

  it('dumps many flows with a multipart request assembled across MORE', async () => {
    const b = sw(DP15);
    const n = 1500;
    const mods = Array.from({ length: n }, (_, i) => flowMod({
      tableId: 1, cookie: 0x5000n, priority: 10,
      match: [{ kind: 'basic', name: 'eth_type', value: 0x800 }, { kind: 'basic', name: 'ipv4_src', value: `10.5.${i >> 8}.${i & 255}` }],
      instructions: output(1),
    }));
    expect(b.sendBatch(mods)).toBe(true);
    await b.barrier();
    const parts = await b.multipart({ kind: 'flow', body: { tableId: 1, outPort: OFPP.ANY, outGroup: OFPG.ANY, cookie: 0x5000n, cookieMask: ~0n & 0xffffffffffffffffn, match: [] } });
    expect(parts.length).toBeGreaterThan(1); // > 64 KiB of flow stats cannot fit one reply
    const flows = parts.flatMap((p) => (p.kind === 'flow' ? p.flows : []));
    expect(flows).toHaveLength(n);
    const srcs = flows.map((f) => f.match.find((m) => m.kind === 'basic' && m.name === 'ipv4_src'));
    expect(new Set(srcs.map((m) => (m?.kind === 'basic' ? String(m.value) : ''))).size).toBe(n);
  });
});

describe('packet-in and packet-out', () => {
  it('carries real traffic between two hosts through the controller', async () => {
    const b = sw(DP15);
    const toController: Instruction[] = [{ type: 'apply_actions', actions: [{ type: 'output', port: OFPP.CONTROLLER, maxLen: 0xffff }] }];
    await b.transaction([flowMod({ tableId: 0, priority: 0, instructions: toController })]);
    const before = packetIns.length;
    const ping = await lab.exec('h1', ['ping', '-c', '3', '-i', '0.2', '-W', '2', '10.0.0.2'], { timeoutMs: 10000 });
    expect(ping.code, ping.stdout + ping.stderr).toBe(0);
    const mine = packetIns.slice(before).filter((p) => p.dpid === DP15);
    expect(mine.some((p) => p.inPort === lab.host('h1').ofport)).toBe(true);
    expect(mine.some((p) => p.inPort === lab.host('h2').ofport)).toBe(true);

    // A UDP datagram h1 → h2, delivered by packet-out only.
    const listener = lab.spawn('h2', ['socat', '-u', 'UDP-RECV:9999', 'STDOUT']);
    let got = '';
    listener.stdout?.on('data', (d: Buffer) => { got += d.toString(); });
    await new Promise((r) => setTimeout(r, 300));
    await lab.exec('h1', ['sh', '-c', 'echo holdfast-packet-out | socat -u STDIN UDP-SENDTO:10.0.0.2:9999']);
    await waitFor(() => got.includes('holdfast-packet-out'), 5000, 'UDP datagram at h2');
    listener.kill();
  });
});

describe('reconnection', () => {
  it('sees a switch go down on del-controller and come back up with the same dpid', async () => {
    const old = sw(DP13);
    await lab.setController('br13', null);
    await waitFor(() => !ctl.switch(DP13), 5000, 'br13 to go');
    expect(old.connected).toBe(false);
    expect(events).toContain('down 00000000000000a1');
    await expect(old.barrier()).rejects.toThrow(/disconnected/);
    await lab.setController('br13', { host: '127.0.0.1', port: ctl.addresses()[0].port });
    const fresh = await waitFor(() => ctl.switch(DP13), 10000, 'br13 to return');
    expect(fresh).not.toBe(old);
    expect(fresh.version).toBe(4);
    await fresh.barrier();
  });

  it('serves two bridges at once', async () => {
    const t0 = performance.now();
    await Promise.all([...Array(20)].flatMap(() => [sw(DP13).barrier(), sw(DP15).barrier()]));
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(ctl.switches().map((s) => s.dpid).sort()).toEqual([DP13, DP15]);
  });
});

describe('reconciler', () => {
  it('restores a flow deleted behind its back without touching the others', async () => {
    sw(DP15); // the bridge is connected
    const owner = 'test-app';
    ctl.reconciler.claim(owner, { cookie: 0xabcd_0000_0000_0000n, cookieMask: 0xffff_0000_0000_0000n, groupIdMin: 100, groupIdMax: 199 });
    const desired: DesiredFlow[] = [1, 2, 3].map((i) => ({
      tableId: 2, priority: 50 + i, cookie: 0xabcd_0000_0000_0000n + BigInt(i),
      // Listed in an order Open vSwitch does not return them in.
      match: [{ kind: 'basic', name: 'udp_dst', value: 1000 + i }, { kind: 'basic', name: 'ip_proto', value: 17 }, { kind: 'basic', name: 'eth_type', value: 0x800 }],
      instructions: [{ type: 'apply_actions', actions: [{ type: 'group', groupId: 100 }] }],
    }));
    const groups = [{ groupId: 100, groupType: 'select' as const, buckets: [1, 2].map((p) => ({ weight: 1, watchPort: OFPP.ANY, watchGroup: OFPG.ANY, actions: [{ type: 'output' as const, port: p, maxLen: 0 }] })) }];
    // Someone else's flow in the same table, and a stray flow inside our cookie space.
    await lab.ofctl(['-O', 'OpenFlow13', 'add-flow', 'br15', 'table=2,priority=9,cookie=0x1234,ip,actions=drop']);
    await lab.ofctl(['-O', 'OpenFlow13', 'add-flow', 'br15', 'table=2,priority=8,cookie=0xabcd000000000099,ip,actions=drop']);
    await ctl.reconciler.setDesired(owner, DP15, { flows: desired, groups });
    const dump1 = await lab.ofctl(['-O', 'OpenFlow13', 'dump-flows', 'br15', 'table=2']);
    expect(dump1).toMatch(/cookie=0xabcd000000000001,.*priority=51,udp,tp_dst=1001 actions=group:100/);
    expect(dump1).toMatch(/cookie=0x1234/);
    expect(dump1).not.toMatch(/0xabcd000000000099/);
    expect(await lab.ofctl(['-O', 'OpenFlow13', 'dump-groups', 'br15'])).toMatch(/group_id=100,type=select/);

    // Nothing to do when nothing changed (the dump compares equal to the desired state).
    await ctl.reconciler.audit(DP15);
    expect(ctl.reconciler.stats(DP15)?.lastDiff).toEqual({ flowAdd: 0, flowModify: 0, flowReplace: 0, flowRemove: 0, groupAdd: 0, groupModify: 0, groupRemove: 0 });

    await new Promise((r) => setTimeout(r, 1100));
    await lab.ofctl(['-O', 'OpenFlow13', 'del-flows', '--strict', 'br15', 'table=2,priority=52,udp,tp_dst=1002']);
    expect(await lab.ofctl(['-O', 'OpenFlow13', 'dump-flows', 'br15', 'table=2'])).not.toMatch(/tp_dst=1002/);
    await ctl.reconciler.audit(DP15);
    expect(ctl.reconciler.stats(DP15)?.lastDiff).toMatchObject({ flowAdd: 1, flowRemove: 0, flowModify: 0, flowReplace: 0 });
    const dump2 = await lab.ofctl(['-O', 'OpenFlow13', 'dump-flows', 'br15', 'table=2']);
    const duration = (re: RegExp) => Number(/duration=([\d.]+)s/.exec(dump2.split('\n').find((l) => re.test(l)) ?? '')?.[1] ?? -1);
    expect(duration(/tp_dst=1002/)).toBeLessThan(1);
    expect(duration(/tp_dst=1001/)).toBeGreaterThanOrEqual(1); // untouched: its age survived
    expect(duration(/tp_dst=1003/)).toBeGreaterThanOrEqual(1);
    expect(duration(/cookie=0x1234/)).toBeGreaterThanOrEqual(1);

    // Changing the desired state sends only the difference.
    await ctl.reconciler.setDesired(owner, DP15, { flows: desired.slice(0, 2).map((f, i) => (i === 0 ? { ...f, instructions: output(2) } : f)), groups });
    expect(ctl.reconciler.stats(DP15)?.lastDiff).toMatchObject({ flowAdd: 0, flowModify: 1, flowRemove: 1, groupModify: 0 });
    const dump3 = await lab.ofctl(['-O', 'OpenFlow13', 'dump-flows', 'br15', 'table=2']);
    expect(dump3).toMatch(/tp_dst=1001 actions=output:2/);
    expect(dump3).not.toMatch(/tp_dst=1003/);
    expect(dump3).toMatch(/cookie=0x1234/);
  });
});
