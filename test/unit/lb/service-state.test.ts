// The query/reply decision as the app runs it (ServiceState.decide): coalescing of packet-ins for
// a flow whose pin is on its way, old-owner rule during a migration, the registry, pin bookkeeping.
import { describe, expect, it } from 'vitest';
import { ServiceState } from '../../../apps/lb/service-state.js';
import { SlotTable } from '../../../apps/lb/slot-table.js';
import { SERVICE_DEFAULTS, type Backend, type Service } from '../../../apps/lb/model.js';

const DP = '0000000000000001';
const service: Service = { ...SERVICE_DEFAULTS, name: 's', vip: '10.0.0.100', port: 80, slots: 4, id: 3, vmac: '02:48:46:00:00:03', createdAt: 0 };

function backend(id: number, state: Backend['state'] = 'active'): Backend {
  return { id, service: 's', ip: `10.0.0.${10 + id}`, port: 8080, weight: 1, mac: `02:00:00:00:00:0${id}`, switchPort: id, state, stateSince: 0, removeWhenDrained: false };
}

function setUp(): ServiceState {
  const st = new ServiceState(service, new SlotTable({ slots: 4, windows: { minMs: 1000, quietMs: 500, maxMs: 5000 }, maxQuerySlots: 4, tracking: 'migrations' }));
  st.addBackend(backend(1), 0);
  st.rebalance(0); // all four slots to backend 1 at once (nobody owned them)
  st.addBackend(backend(2), 0);
  st.rebalance(0); // two slots migrate 1 → 2 through query state
  return st;
}

describe('ServiceState.decide', () => {
  it('sends new connections to the new owner and others to the old one, coalescing repeats', () => {
    const st = setUp();
    const q = st.table.migrations().map((m) => m.slot);
    expect(q.length).toBe(2);
    const slot = q[0];
    const syn = st.decide(DP, slot, 0x0a000001, 40000, true, 10);
    expect(syn).toMatchObject({ backend: 2, install: true });
    const again = st.decide(DP, slot, 0x0a000001, 40000, true, 11);
    expect(again).toMatchObject({ backend: 2, install: false }); // pin on its way: just forward
    const old = st.decide(DP, slot, 0x0a000002, 40001, false, 12);
    expect(old).toMatchObject({ backend: 1, install: true }); // mid-connection: stays with the old owner
    expect(st.pinsOf(1)).toBe(1);
    expect(st.pinsOf(2)).toBe(1);
    expect(st.counters).toMatchObject({ packetIns: 3, pinsInstalled: 2 });
    // The pin expires; the flow comes back while the slot is still migrating: the registry sends it home.
    st.pinGone(DP, 0x0a000002, 40001, 1);
    expect(st.pinsOf(1)).toBe(0);
    st.addBackend(backend(9), 0); // (targets cache invalidated; unrelated backend)
    expect(st.decide(DP, slot, 0x0a000002, 40001, false, 13)).toMatchObject({ backend: 1, install: true });
  });

  it('keeps pins per switch and forgets a removed backend', () => {
    const st = setUp();
    const slot = st.table.migrations()[0].slot;
    st.decide(DP, slot, 0x0a000003, 5000, false, 1);
    expect(st.decide('0000000000000002', slot, 0x0a000003, 5000, false, 2)?.install).toBe(true);
    expect(st.pinsOf(1)).toBe(2);
    st.dropPinsOf(1);
    expect(st.pinsOf(1)).toBe(0);
    expect(st.pins.get(DP)?.size).toBe(0);
  });

  it('drops what no backend can take', () => {
    const st = new ServiceState(service, new SlotTable({ slots: 4, windows: { minMs: 0, quietMs: 0, maxMs: 0 }, maxQuerySlots: 4, tracking: 'all' }));
    expect(st.decide(DP, 0, 1, 1, true, 0)).toBeNull();
  });
});

describe('ServiceState per switch', () => {
  it('forgets a gone switch: its pins no longer count, the other switch\'s do', () => {
    const st = setUp();
    const slot = st.table.migrations()[0]!.slot;
    st.decide(DP, slot, 0x0a000001, 40000, false, 10);
    st.decide('0000000000000002', slot, 0x0a000001, 40001, false, 10);
    st.connections.set(DP, new Map([[1, { flows: 5, packets: 0n, bytes: 0n, at: 10 }]]));
    expect(st.pinsOf(1)).toBe(2);
    expect(st.connectionsOf(1)).toBe(5);
    st.forgetSwitch(DP);
    expect(st.pinsOf(1)).toBe(1);
    expect(st.pins.has(DP)).toBe(false);
    expect(st.connectionsOf(1)).toBe(0);
  });

  it('counts connections only from switches that counted since a time', () => {
    const st = setUp();
    st.connections.set(DP, new Map([[1, { flows: 0, packets: 0n, bytes: 0n, at: 100 }]]));
    expect(st.connectionsOf(1, [DP], 50)).toBe(0);
    expect(st.connectionsOf(1, [DP], 150)).toBeNull(); // counted before the last slot left
    expect(st.connectionsOf(1, [DP, '0000000000000002'], 50)).toBeNull(); // one switch never counted
    expect(st.connectionsOf(1, [], 0)).toBeNull(); // no switch connected (a controller that just started): unknown, not 0
  });
});
