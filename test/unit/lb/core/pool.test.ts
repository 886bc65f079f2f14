// Pool changes decided by the core: ARP resolution of a new backend, a backend marked down after
// unanswered probes, and slots migrating when a backend is added or its weight changes.
import { describe, expect, it } from 'vitest';
import { pinCookieMatch, replyCookieMatch } from '../../../../apps/lb/cookies.js';
import { MONITOR_OWNER, ownerOf } from '../../../../apps/lb/core/lb-core.js';
import { buildArpReply } from '../../../../openflow/packet/build.js';
import { parsePacket } from '../../../../openflow/packet/parse.js';
import { OFPP } from '../../../../openflow/types.js';
import { desired, eventsOf, OVS1, Rig, sent, storeOf, SW1 } from './fixture.js';

const QUICK = { minMs: 100, quietMs: 50, maxMs: 200 };

function withService(rig: Rig, slots = 8): void {
  rig.keep(rig.core.switchUp(SW1, rig.now));
  rig.keep(rig.core.addService({ name: 'web', vip: '10.0.0.100', port: 80, slots, migration: QUICK }, rig.now));
}

const owners = (rig: Rig) => rig.core.getService('web').slotOwners;

describe('ARP resolution (core)', () => {
  it('asks for a new backend on every switch, and an answer makes it active where it answered', () => {
    const rig = new Rig();
    withService(rig);
    const add = rig.keep(rig.core.addBackend('web', { ip: '10.0.0.11', port: 8080, weight: 1 }, rig.now));
    expect(add.value.state).toBe('resolving');
    const asks = sent(add.effects);
    expect(asks).toHaveLength(1);
    const ask = asks[0];
    expect(ask).toMatchObject({ type: 'packet_out', inPort: OFPP.CONTROLLER, actions: [{ type: 'output', port: OFPP.ALL, maxLen: 0 }] });
    const parsed = ask.type === 'packet_out' ? parsePacket(ask.data) : undefined;
    expect(parsed?.ok && parsed.packet.l3).toMatchObject({ kind: 'arp', op: 1, tpa: '10.0.0.11' });
    expect(owners(rig).every((o) => o === null)).toBe(true);

    const answer = buildArpReply({ senderMac: '02:00:00:00:00:11', senderIp: '10.0.0.11', targetMac: '02:48:46:00:00:01', targetIp: '0.0.0.0' });
    const fx = rig.keep(rig.core.packetIn(SW1.dpidHex, answer, 5, rig.advance(10)));
    expect(eventsOf(fx, 'backend_resolved')).toEqual([
      { type: 'backend_resolved', service: 'web', backend: '10.0.0.11:8080', mac: '02:00:00:00:00:11', dpid: SW1.dpidHex, port: 5 },
    ]);
    expect(eventsOf(fx, 'backend_state').map((e) => [e.from, e.to, e.reason])).toEqual([['resolving', 'active', 'resolved by ARP']]);
    expect(storeOf(fx, 'update_backend').at(-1)?.backend).toMatchObject({ state: 'active', resolvedMac: '02:00:00:00:00:11', locations: { [SW1.dpidHex]: 5 } });
    // Its group on the switch now reaches it through port 5.
    const group = desired(fx, ownerOf(1)).at(-1)?.desired.groups[0];
    expect(JSON.stringify(group, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))).toContain('"port":5');
    expect(rig.core.listBackends('web')[0].resolvedMac).toBe('02:00:00:00:00:11');
  });

  it('answers ARP for the VIP out of the port it was asked on', () => {
    const rig = new Rig();
    withService(rig);
    const ask = buildArpReply({ senderMac: '02:00:00:00:00:99', senderIp: '10.0.0.50', targetMac: '00:00:00:00:00:00', targetIp: '10.0.0.100' });
    ask.writeUInt16BE(1, 20); // op: request
    const out = sent(rig.core.packetIn(SW1.dpidHex, ask, 7, rig.now));
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ type: 'packet_out', inPort: 7, actions: [{ type: 'output', port: OFPP.IN_PORT, maxLen: 0 }] });
    const p = out[0].type === 'packet_out' ? parsePacket(out[0].data) : undefined;
    expect(p?.ok && p.packet.l3).toMatchObject({ kind: 'arp', op: 2, spa: '10.0.0.100', tpa: '10.0.0.50', tha: '02:00:00:00:00:99' });
  });
});

describe('health by ARP (core)', () => {
  it('marks a backend down after healthMisses unanswered probes: pins deleted, slots moved', () => {
    const rig = new Rig();
    withService(rig);
    for (const [ip, port] of [['10.0.0.11', 1], ['10.0.0.12', 2]] as const) {
      rig.keep(rig.core.addBackend('web', { ip, port: 8080, weight: 1, mac: `02:00:00:00:00:${ip.slice(-2)}`, switchPort: port }, rig.now));
    }
    for (let i = 0; i < 20; i++) rig.keep(rig.core.tick(rig.advance(50)));
    const b1 = rig.core.listBackends('web')[0];
    // b2 answers every probe; b1 never does.
    const b2Answer = buildArpReply({ senderMac: '02:00:00:00:00:12', senderIp: '10.0.0.12', targetMac: '02:48:46:00:00:01', targetIp: '0.0.0.0' });
    for (let i = 1; i <= 4; i++) {
      const fx = rig.keep(rig.core.probe(rig.advance(5_000)));
      expect(sent(fx).filter((m) => m.type === 'packet_out')).toHaveLength(2);
      expect(eventsOf(fx, 'backend_state')).toEqual([]);
      rig.keep(rig.core.packetIn(SW1.dpidHex, b2Answer, 2, rig.advance(5)));
    }
    expect(rig.core.listBackends('web')[0].health.lastResult).toBe('4 ARP probes unanswered');
    // A probe before the health interval is due counts nothing.
    expect(eventsOf(rig.keep(rig.core.probe(rig.advance(100))), 'backend_state')).toEqual([]);
    const fx = rig.keep(rig.core.probe(rig.advance(5_000)));
    expect(eventsOf(fx, 'backend_state')).toEqual([
      { type: 'backend_state', service: 'web', backend: b1.key, from: 'active', to: 'down', reason: 'no ARP answer to 4 probes' },
    ]);
    expect(storeOf(fx, 'update_backend').map((c) => c.backend.state)).toEqual(['down']);
    const deletes = sent(fx).filter((m) => m.type === 'flow_mod' && m.command === 'delete');
    const pin = pinCookieMatch(1, b1.id);
    const reply = replyCookieMatch(1, b1.id);
    expect(deletes.map((m) => m.type === 'flow_mod' && [m.cookie, m.cookieMask])).toEqual([[pin.cookie, pin.mask], [reply.cookie, reply.mask]]);
    expect(owners(rig)).not.toContain(b1.key);
    expect(eventsOf(fx, 'slot_moved').length + eventsOf(fx, 'migration_started').length).toBeGreaterThan(0);
    expect(desired(fx, ownerOf(1)).length).toBeGreaterThan(0);
  });

  it('a port going down takes the backend behind it down at once', () => {
    const rig = new Rig();
    withService(rig);
    rig.keep(rig.core.addBackend('web', { ip: '10.0.0.11', port: 8080, weight: 1, mac: '02:00:00:00:00:11', switchPort: 1 }, rig.now));
    rig.keep(rig.core.addBackend('web', { ip: '10.0.0.12', port: 8080, weight: 1, mac: '02:00:00:00:00:12', switchPort: 2 }, rig.now));
    const port = { portNo: 2, hwAddr: '02:00:00:00:01:02', name: 'b2', config: 0, state: 1, curr: 0, advertised: 0, supported: 0, peer: 0, currSpeed: 0, maxSpeed: 0 };
    const fx = rig.keep(rig.core.portStatus(SW1.dpidHex, { type: 'port_status', version: 4, xid: 0, reason: 'modify', port }, rig.advance(10)));
    expect(eventsOf(fx, 'backend_health').map((e) => [e.backend, e.health, e.check])).toEqual([['10.0.0.12:8080', 'down', 'port status']]);
    expect(eventsOf(fx, 'backend_state').map((e) => [e.backend, e.to])).toEqual([['10.0.0.12:8080', 'down']]);
    expect(rig.core.listBackends('web').map((b) => b.state)).toEqual(['active', 'down']);
  });

  it('a probe that went to no switch is no unanswered probe', () => {
    const rig = new Rig();
    rig.keep(rig.core.addService({ name: 'web', vip: '10.0.0.100', port: 80, slots: 8 }, rig.now));
    rig.keep(rig.core.addBackend('web', { ip: '10.0.0.11', port: 8080, weight: 1, mac: '02:00:00:00:00:11', switchPort: 1 }, rig.now));
    for (let i = 0; i < 10; i++) {
      const fx = rig.core.probe(rig.advance(5_000));
      expect(fx.switches).toEqual([]);
      expect(eventsOf(fx, 'backend_state')).toEqual([]);
    }
    expect(rig.core.listBackends('web')[0].state).toBe('active');
  });
});

describe('slot migration (core)', () => {
  function twoBackends(rig: Rig): void {
    rig.keep(rig.core.addBackend('web', { ip: '10.0.0.11', port: 8080, weight: 1, mac: '02:00:00:00:00:11', switchPort: 1 }, rig.now));
    for (let i = 0; i < 20; i++) rig.keep(rig.core.tick(rig.advance(50)));
    expect(owners(rig).every((o) => o === '10.0.0.11:8080')).toBe(true);
  }

  it('openflow13: an added backend takes its share through query-slot migrations that end on the clock', () => {
    const rig = new Rig();
    withService(rig, 16);
    twoBackends(rig);
    const add = rig.keep(rig.core.addBackend('web', { ip: '10.0.0.12', port: 8080, weight: 1, mac: '02:00:00:00:00:12', switchPort: 2 }, rig.now));
    const started = eventsOf(add.effects, 'migration_started');
    expect(started).toHaveLength(1);
    expect(started[0].slots).toHaveLength(8);
    expect(started[0].reason).toBe('backend 10.0.0.12:8080 added');
    expect(storeOf(add.effects, 'save_slot_table')).toHaveLength(1);
    expect(desired(add.effects, ownerOf(1))).toHaveLength(1);
    expect(desired(add.effects, MONITOR_OWNER)).toHaveLength(1);
    expect(rig.core.getService('web').querySlots.sort((a, b) => a - b)).toEqual([...started[0].slots].sort((a, b) => a - b));

    // Nothing moves before the minimum window; all has moved by the maximum.
    expect(eventsOf(rig.core.tick(rig.advance(50)), 'slot_moved')).toEqual([]);
    const moved = [];
    let done = 0;
    for (let i = 0; i < 10; i++) {
      const fx = rig.keep(rig.core.tick(rig.advance(50)));
      moved.push(...eventsOf(fx, 'slot_moved'));
      done += eventsOf(fx, 'migration_done').length;
    }
    expect(moved.map((m) => m.to)).toEqual(Array(8).fill('10.0.0.12:8080'));
    expect(done).toBe(1);
    expect(owners(rig).filter((o) => o === '10.0.0.12:8080')).toHaveLength(8);

    // Weight 3: the new backend's share grows to 12 of 16.
    const w = rig.keep(rig.core.setWeight('web', '10.0.0.12:8080', 3, rig.now));
    expect(eventsOf(w.effects, 'backend_weight')).toEqual([{ type: 'backend_weight', service: 'web', backend: '10.0.0.12:8080', from: 1, to: 3 }]);
    expect(storeOf(w.effects, 'update_backend').map((c) => c.backend.weight)).toEqual([3]);
    expect(eventsOf(w.effects, 'migration_started')[0].slots).toHaveLength(4);
    for (let i = 0; i < 10; i++) rig.keep(rig.core.tick(rig.advance(50)));
    expect(owners(rig).filter((o) => o === '10.0.0.12:8080')).toHaveLength(12);
  });

  it('ovs (switches remember connections): slots change owner at once', () => {
    const rig = new Rig();
    rig.keep(rig.core.switchUp(OVS1, rig.now));
    rig.keep(rig.core.addService({ name: 'web', vip: '10.0.0.100', port: 80, slots: 16, migration: QUICK }, rig.now));
    twoBackends(rig);
    const add = rig.keep(rig.core.addBackend('web', { ip: '10.0.0.12', port: 8080, weight: 1, mac: '02:00:00:00:00:12', switchPort: 2 }, rig.now));
    expect(eventsOf(add.effects, 'slot_moved')).toHaveLength(8);
    expect(eventsOf(add.effects, 'migration_started')).toEqual([]);
    expect(owners(rig).filter((o) => o === '10.0.0.12:8080')).toHaveLength(8);
  });
});

describe('query windows across a restart (core)', () => {
  // A window exists for the packets of the old owner's idle flows; after a restart they can only
  // arrive once the switch is back, so the window must not close on the clock before that.
  it('wait for a switch of the service within the return grace, then close on their own clock', () => {
    const rig = new Rig();
    withService(rig);
    rig.keep(rig.core.addBackend('web', { ip: '10.0.0.11', port: 8080, weight: 1, mac: '02:00:00:00:00:11', switchPort: 1 }, rig.now));
    rig.keep(rig.core.addBackend('web', { ip: '10.0.0.12', port: 8080, weight: 1, mac: '02:00:00:00:00:12', switchPort: 2 }, rig.now));
    expect(rig.core.getService('web').migrations.length).toBeGreaterThan(0);

    const again = new Rig(rig.advance(1_000), {}, rig.saved(), rig.ids);
    const inFlight = again.core.getService('web').migrations.length;
    expect(inFlight).toBeGreaterThan(0);
    // 5 s without the switch: many times the window's 200 ms maximum, and nothing closed.
    for (let i = 0; i < 100; i++) again.keep(again.core.tick(again.advance(50)));
    expect(again.core.getService('web').migrations).toHaveLength(inFlight);

    again.keep(again.core.switchUp(SW1, again.now));
    for (let i = 0; i < 10; i++) again.keep(again.core.tick(again.advance(50)));
    expect(again.core.getService('web').migrations).toEqual([]);
  });
});
