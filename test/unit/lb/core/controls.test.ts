// Operator controls on the core: bad input throws one clear LbError before anything changes (no
// effects, no id taken, the views as before); good input returns its view and its effects.
import { describe, expect, it } from 'vitest';
import type { LbError } from '../../../../apps/lb/control.js';
import { expectLbError } from '../../../helpers/lb-error.js';
import { ownerOf } from '../../../../apps/lb/core/lb-core.js';
import { eventsOf, Rig, storeOf, SW1 } from './fixture.js';

function setup(): Rig {
  const rig = new Rig();
  rig.keep(rig.core.switchUp(SW1, rig.now));
  rig.keep(rig.core.addService({ name: 'web', vip: '10.0.0.100', port: 80, slots: 16 }, rig.now));
  rig.keep(rig.core.addBackend('web', { ip: '10.0.0.11', port: 8080, weight: 1, mac: '02:00:00:00:00:11', switchPort: 1 }, rig.now));
  return rig;
}

function rejects(rig: Rig, fn: () => unknown, code: LbError['code'], re: RegExp): void {
  const before = JSON.stringify(rig.core.listServices());
  const ids = { ...rig.ids };
  expectLbError(fn, code, re);
  expect(JSON.stringify(rig.core.listServices())).toBe(before);
  expect(rig.ids).toEqual(ids);
}

describe('operator controls (core)', () => {
  it('rejects bad services, backends, weights and profiles with nothing changed', () => {
    const rig = setup();
    const { core, now } = rig;
    rejects(rig, () => core.addService({ name: 'web2', vip: '10.0.0.100', port: 80 }, now), 'conflict', /already service web/);
    rejects(rig, () => core.addService({ name: 'web', vip: '10.0.0.101', port: 80 }, now), 'conflict', /already exists/);
    rejects(rig, () => core.addService({ name: 'x', vip: '10.0.0.300', port: 80 }, now), 'invalid', /./);
    rejects(rig, () => core.addBackend('web', { ip: '10.0.0.300', weight: 1 }, now), 'invalid', /backend address/);
    rejects(rig, () => core.addBackend('web', { ip: '10.0.0.12', weight: 5000 }, now), 'invalid', /weight/);
    rejects(rig, () => core.addBackend('web', { ip: '10.0.0.100', weight: 1 }, now), 'invalid', /own VIP/);
    rejects(rig, () => core.addBackend('web', { ip: '10.0.0.11', port: 8080, weight: 1 }, now), 'conflict', /already has backend/);
    rejects(rig, () => core.addBackend('nope', { ip: '10.0.0.12', weight: 1 }, now), 'not_found', /no service named "nope"/);
    rejects(rig, () => core.setWeight('web', '10.0.0.11:8080', -2, now), 'invalid', /weight/);
    rejects(rig, () => core.drainBackend('web', '10.0.0.99', now), 'not_found', /has no backend 10.0.0.99/);
    rejects(rig, () => core.removeBackend('web', '10.0.0.11:9999', {}, now), 'not_found', /has no backend/);
    rejects(rig, () => core.removeService('nope'), 'not_found', /no service/);
    rejects(rig, () => core.updateService('web', { drainDeadlineMs: -1 }, now), 'invalid', /./);
    rejects(rig, () => core.setSwitchProfile('xyz', 'ovs'), 'invalid', /bad datapath id/);
    rejects(rig, () => core.setSwitchProfile('1', 'fast' as 'ovs'), 'invalid', /bad profile/);
  });

  it('a graceful remove of a backend being removed cannot be undone by enable', () => {
    const rig = setup();
    rig.keep(rig.core.removeBackend('web', '10.0.0.11:8080', {}, rig.now));
    rejects(rig, () => rig.core.enableBackend('web', '10.0.0.11:8080', rig.now), 'conflict', /being removed/);
  });

  it('a good change returns its view with its rows, events and switch work', () => {
    const rig = setup();
    const r = rig.keep(rig.core.addService({ name: 'dns', vip: '10.0.0.53', port: 53, proto: 'udp', slots: 4 }, rig.now));
    expect(r.value).toMatchObject({ name: 'dns', id: 2, proto: 'udp' });
    expect(storeOf(r.effects, 'insert_service').map((c) => c.service.name)).toEqual(['dns']);
    expect(storeOf(r.effects, 'save_slot_table').map((c) => c.service)).toEqual(['dns']);
    expect(r.effects.events).toEqual([{ type: 'service_added', service: 'dns' }]);
    expect(r.effects.runtime).toContainEqual(expect.objectContaining({ kind: 'claim', owner: ownerOf(2) }));

    const p = rig.keep(rig.core.setSwitchProfile('0x1', 'ovs'));
    expect(p.value).toEqual({ dpid: SW1.dpidHex, profile: 'ovs' });
    expect(storeOf(p.effects, 'set_switch_profile')).toEqual([{ kind: 'set_switch_profile', dpid: SW1.dpidHex, profile: 'ovs' }]);
    expect(rig.core.profileOf(SW1.dpidHex)).toBe('ovs');
    // The same setting again changes nothing.
    expect(rig.core.setSwitchProfile('1', 'ovs').effects.empty).toBe(true);

    const gone = rig.keep(rig.core.removeService('dns'));
    expect(storeOf(gone, 'delete_service')).toEqual([{ kind: 'delete_service', name: 'dns' }]);
    expect(gone.runtime).toEqual([{ kind: 'release', owner: ownerOf(2) }]);
    expect(eventsOf(gone, 'service_removed')).toHaveLength(1);
    expect(rig.core.listServices().map((s) => s.name)).toEqual(['web']);
  });
});
