// Switch admission against a real Open vSwitch bridge: a fake TCP client claiming the bridge's
// datapath id does not evict it (the bridge answers echoes); a datapath id off the allow-list is
// refused before it is told anything; a connection that stops answering is taken over by a
// newcomer with its dpid; and the bridge's own reconnection still works.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Controller, type App, type SwitchHandle } from '../../controller/index.js';
import { startLab, type Lab } from '../../tools/lab/lab.js';
import { FakeSwitch, type FakeSwitchOptions } from '../../tools/fake-switch/index.js';
import { removeDir, startHoldfastProcess } from '../helpers/holdfast-process.js';
import { waiter } from '../helpers/wait-for.js';

const REAL = 0x00000000000000d1n;
const FAKE_OK = 0x00000000000000d2n;
const NOT_ALLOWED = 0x0000000000000badn;
const PROBE_MS = 500;

let ctl: Controller;
let lab: Lab;
let real: SwitchHandle;
const events: string[] = [];
const fakes: FakeSwitch[] = [];
const recorder: App = {
  name: 'recorder',
  switchUp: (sw) => void events.push(`up ${sw.dpidHex} ${sw.remote}`),
  switchDown: (sw) => void events.push(`down ${sw.dpidHex} ${sw.remote}`),
};
const waitFor = waiter(5000, 20);

async function fake(opts: FakeSwitchOptions): Promise<FakeSwitch> {
  const f = await FakeSwitch.connect(ctl.addresses()[0].port, opts);
  fakes.push(f);
  return f;
}

function closedWithin(f: FakeSwitch, ms: number): Promise<void> {
  return Promise.race([f.closed, new Promise<void>((_, reject) => setTimeout(() => reject(new Error(`fake not closed within ${ms} ms`)), ms))]);
}

beforeAll(async () => {
  ctl = new Controller({
    listeners: [{ host: '127.0.0.1', port: 0 }], echoIntervalMs: 200, echoTimeoutMs: 3000, auditIntervalMs: 0,
    allowDpids: [REAL, FAKE_OK], takeoverProbeMs: PROBE_MS,
  });
  ctl.use(recorder);
  await ctl.start();
  lab = await startLab({
    name: 'runtime-admit',
    bridges: [{ name: 'bradm', protocols: ['OpenFlow13'], datapathId: REAL.toString(16).padStart(16, '0'), controller: { host: '127.0.0.1', port: ctl.addresses()[0].port } }],
    hosts: [],
  });
  real = await waitFor(() => ctl.switch(REAL), 10000, 'real bridge');
});

afterAll(async () => {
  for (const f of fakes) f.close();
  await lab?.stop();
  await ctl?.stop();
});

describe('switch admission', () => {
  it('a fake claiming the real bridge\'s datapath id is refused and closed; the bridge stays', async () => {
    const before = events.length;
    const echoesBefore = ctl.connectionStats(REAL)!.echoRepliesReceived;
    const dup = await fake({ dpid: REAL });
    await closedWithin(dup, PROBE_MS + 3000);
    expect(ctl.switch(REAL)).toBe(real);
    expect(real.connected).toBe(true);
    await real.barrier();
    expect(events.slice(before)).toEqual([]); // no down/up of the real switch
    expect(ctl.admission.duplicates).toBe(1);
    // The bridge was asked (and answered) an echo to decide.
    expect(ctl.connectionStats(REAL)!.echoRepliesReceived).toBeGreaterThan(echoesBefore);
    // The impostor got through the handshake but was never programmed.
    expect(dup.received.some((m) => m.type === 'flow_mod' || m.type === 'group_mod' || m.type === 'packet_out')).toBe(false);
    // Ten at once: all refused, the bridge still the same connection.
    const many = await Promise.all(Array.from({ length: 10 }, () => fake({ dpid: REAL })));
    await Promise.all(many.map((f) => closedWithin(f, PROBE_MS + 3000)));
    expect(ctl.switch(REAL)).toBe(real);
    expect(ctl.admission.duplicates).toBe(11);
    await real.barrier();
  });

  it('a datapath id not on the allow-list is refused after FEATURES_REPLY, before anything else', async () => {
    const f = await fake({ dpid: NOT_ALLOWED });
    await closedWithin(f, 3000);
    expect(ctl.switch(NOT_ALLOWED)).toBeUndefined();
    expect(events.some((e) => e.includes('0000000000000bad'))).toBe(false);
    expect(ctl.admission.notAllowed).toBe(1);
    const asked = new Set(f.received.map((m) => m.type));
    expect([...asked].every((t) => t === 'hello' || t === 'features_request' || t === 'echo_request'), [...asked].join(',')).toBe(true);
  });

  it('a newcomer takes over a datapath id whose connection stopped answering echoes', async () => {
    const a = await fake({ dpid: FAKE_OK });
    const first = await waitFor(() => ctl.switch(FAKE_OK), 3000, 'first');
    a.answerAll = false; // hung, but its TCP connection is still open
    const before = events.length;
    const t0 = Date.now();
    const b = await fake({ dpid: FAKE_OK });
    const second = await waitFor(() => (ctl.switch(FAKE_OK) !== first ? ctl.switch(FAKE_OK) : undefined), PROBE_MS + 3000, 'takeover');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(PROBE_MS - 50); // it waited for the echo first
    await closedWithin(a, 1000);
    expect(first.connected).toBe(false);
    expect(second.connected).toBe(true);
    expect(b.isClosed).toBe(false);
    expect(events.slice(before).map((e) => e.split(' ')[0])).toEqual(['down', 'up']);
    expect(ctl.admission.takeovers).toBe(1);
  });

  it('the real bridge reconnecting (del-controller, set-controller) is admitted again', async () => {
    await lab.setController('bradm', null);
    await waitFor(() => !ctl.switch(REAL), 5000, 'bridge to go');
    await lab.setController('bradm', { host: '127.0.0.1', port: ctl.addresses()[0].port });
    const fresh = await waitFor(() => ctl.switch(REAL), 10000, 'bridge to return');
    expect(fresh).not.toBe(real);
    await fresh.barrier();
  });
});

describe('holdfast start --allow-dpid', () => {
  it('admits the listed switches and refuses the others', async () => {
    const hf = await startHoldfastProcess({ extraArgs: ['--allow-dpid', '00000000000000e1,0x00000000000000e2', '--log', 'warn'] });
    try {
      const ok = await FakeSwitch.connect(hf.openflowPort, { dpid: 0xe2n });
      fakes.push(ok);
      const bad = await FakeSwitch.connect(hf.openflowPort, { dpid: 0xe3n });
      fakes.push(bad);
      await closedWithin(bad, 3000);
      // The admitted one is up (the status lists it) and stays.
      const listed = async (): Promise<string[]> =>
        ((await (await fetch(`${hf.api}/api/status`)).json()) as { switches: { dpid: string }[] }).switches.map((x) => x.dpid);
      for (let i = 0; i < 100 && (await listed()).length === 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(await listed()).toEqual(['00000000000000e2']);
      expect(ok.isClosed).toBe(false);
    } finally {
      await hf.stop();
      removeDir(hf.dir);
    }
  });
});
