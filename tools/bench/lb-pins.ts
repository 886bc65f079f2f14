// Memory per pin: the app's per-switch pin map (ServiceState.pins) and everything else one tracked
// flow costs the controller, filled through the real hot-path decision (ServiceState.decide) with
// N distinct new TCP flows of a tracking-'all' service. The flow registry alone is measured by
// lb-registry.ts; here the registry is cleared after the fill to separate the two.
// Usage: node --expose-gc dist/tools/bench/lb-pins.js [--flows 1000000] [--json]
import { serviceVmac } from '../../apps/lb/cookies.js';
import { SERVICE_DEFAULTS, type Backend, type Service } from '../../apps/lb/model.js';
import { ServiceState } from '../../apps/lb/service-state.js';
import { SlotTable } from '../../apps/lb/slot-table.js';
import { fmtInt, gcExposed, heapAfterGc, numArg } from './lb-common.js';
import { isMain, runAsScript } from './report.js';

export interface PinsBenchResult {
  flows: number;
  pins: number;
  registryEntries: number;
  /** Heap growth per flow with pin map + registry + counters (what decide() keeps per flow). */
  bytesPerTrackedFlow: number;
  /** ...after clearing the registry: the pin map's share. */
  bytesPerPin: number;
  /** The difference: the registry's share. */
  bytesPerRegistryEntry: number;
  decidePerSec: number;
  gcExposed: boolean;
}

export function runPinsBench(flows: number): PinsBenchResult {
  const service: Service = {
    ...SERVICE_DEFAULTS, name: 'bench', vip: '10.99.0.1', port: 80, tracking: 'all', id: 1, vmac: serviceVmac(1), createdAt: 0,
  };
  const table = new SlotTable({ slots: service.slots, windows: service.migration, maxQuerySlots: service.maxQuerySlots, tracking: 'all' });
  const st = new ServiceState(service, table);
  const now = Date.now();
  for (let i = 1; i <= 3; i++) {
    const b: Backend = {
      id: i, service: 'bench', ip: `10.98.0.${i}`, port: 8080, weight: 1, mac: `02:00:00:00:02:0${i}`, switchPort: i + 1,
      state: 'active', stateSince: now, removeWhenDrained: false,
    };
    st.addBackend(b, now);
  }
  st.rebalance(now);
  const dpid = '000000000000be00';
  const before = heapAfterGc();
  const t0 = performance.now();
  let installed = 0;
  for (let s = 0; s < flows; s++) {
    // Clients 10.1.x.y, 16 flows per address, like lb-registry.ts.
    const ip = (0x0a010000 + (s >>> 4)) >>> 0;
    const port = 32768 + (s & 15) * 1747;
    const d = st.decide(dpid, s & 255, ip, port, true, now);
    if (d?.install) installed++;
  }
  const ms = performance.now() - t0;
  if (installed !== flows) throw new Error(`decide installed ${installed} pins for ${flows} new flows`);
  const all = heapAfterGc();
  const registryEntries = st.registry.size;
  // The pin map is one typed-array table: its size is exact; the rest is the registry.
  const pinTable = st.pins.get(dpid);
  const pins = pinTable?.size ?? 0;
  const pinBytes = pinTable?.bytes ?? 0;
  return {
    flows, pins, registryEntries,
    bytesPerTrackedFlow: (all - before) / flows,
    bytesPerPin: pinBytes / flows,
    bytesPerRegistryEntry: (all - before - pinBytes) / flows,
    decidePerSec: (flows / ms) * 1000,
    gcExposed: gcExposed(),
  };
}

export function formatPins(r: PinsBenchResult): string {
  return [
    `pin memory (${fmtInt(r.flows)} new flows through ServiceState.decide; gc ${r.gcExposed ? 'exposed' : 'NOT exposed: run with --expose-gc'})`,
    `  per tracked flow (pin map + registry + counters): ${r.bytesPerTrackedFlow.toFixed(1)} B`,
    `  per pin (pin map table):                          ${r.bytesPerPin.toFixed(1)} B   (${fmtInt(r.pins)} pins)`,
    `  per registry entry (the rest):                     ${r.bytesPerRegistryEntry.toFixed(1)} B   (${fmtInt(r.registryEntries)} entries)`,
    `  decide() while filling: ${fmtInt(r.decidePerSec)} /s`,
  ].join('\n');
}

if (isMain(import.meta.url)) {
  const argv = process.argv.slice(2);
  runAsScript('lb-pins', argv, () => runPinsBench(numArg(argv, 'flows', 1_000_000)), formatPins);
}
