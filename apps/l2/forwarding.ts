// Ordinary L2 forwarding for everything the load balancer does not handle: the NORMAL action
// where the switch has it (a single lowest-priority flow, kept by the reconciler), else a small
// learning switch (table-miss to the controller; learned destinations get flows).

import type { App, SwitchHandle } from '../../controller/app.js';
import type { Reconciler } from '../../controller/reconciler.js';
import type { DesiredFlow } from '../../controller/desired.js';
import { applyActions, flowAdd, output, packetOut } from '../../openflow/builders.js';
import { OFPP, type MessageOf } from '../../openflow/types.js';
import { bufferToMac } from '../../openflow/packet/addr.js';
import { inPortOf } from '../../openflow/oxm.js';

const OWNER = 'l2';
/** Cookie kind 0x03: L2 forwarding flows. */
export const L2_COOKIE = 0x03n << 56n;
const L2_MASK = 0xffn << 56n;
const LEARNED_IDLE_S = 300;
/** Learned flows live outside the reconciled space (kind 0x04): they come and go by themselves. */
const LEARNED_COOKIE = 0x04n << 56n;
/**
 * MACs remembered per switch. Source MACs are chosen by whoever sends packets: without a bound,
 * random source addresses grow the table without end (300,000 of them cost 51 MB). Past it the
 * least recently seen MAC goes; a forgotten destination is flooded until it is seen again.
 */
export const L2_MAX_MACS = 8192;

export class L2Forwarding implements App {
  readonly name = 'l2';
  /** dpid → MAC → port, for switches without NORMAL. */
  private readonly tables = new Map<string, Map<string, number>>();

  constructor(private readonly reconciler: Reconciler, private readonly maxMacs = L2_MAX_MACS) {
    reconciler.claim(OWNER, { cookie: L2_COOKIE, cookieMask: L2_MASK, groupIdMin: 0xfffff000, groupIdMax: 0xfffff0ff });
  }

  switchUp(sw: SwitchHandle): void {
    const miss: DesiredFlow = {
      tableId: 0, priority: 0, match: [], cookie: L2_COOKIE | 1n,
      instructions: applyActions([output(sw.capabilities.normalPort ? OFPP.NORMAL : OFPP.CONTROLLER)]),
    };
    void this.reconciler.setDesired(OWNER, sw.dpid, { flows: [miss], groups: [] }).catch(() => undefined);
  }

  switchDown(sw: SwitchHandle): void {
    this.tables.delete(sw.dpidHex);
  }

  /** MACs remembered for a switch (tests). */
  macCount(dpidHex: string): number {
    return this.tables.get(dpidHex)?.size ?? 0;
  }

  packetIn(sw: SwitchHandle, msg: MessageOf<'packet_in'>): void {
    if (sw.capabilities.normalPort || msg.cookie !== (L2_COOKIE | 1n) || msg.data.length < 14) return;
    const port = inPortOf(msg.match);
    if (port === undefined) return;
    let table = this.tables.get(sw.dpidHex);
    if (!table) this.tables.set(sw.dpidHex, (table = new Map()));
    const src = bufferToMac(msg.data, 6);
    const dst = bufferToMac(msg.data, 0);
    // Delete then set: a Map iterates in insertion order, so its first key is the least recent.
    table.delete(src);
    table.set(src, port);
    if (table.size > this.maxMacs) table.delete(table.keys().next().value!);
    const out = table.get(dst);
    if (out !== undefined && out !== port) {
      sw.send(flowAdd({
        cookie: LEARNED_COOKIE, idleTimeout: LEARNED_IDLE_S, priority: 1,
        match: [{ kind: 'basic', name: 'eth_dst', value: dst }], instructions: applyActions([output(out)]),
      }));
    }
    sw.send(packetOut({ inPort: port, actions: [output(out ?? OFPP.FLOOD)], data: msg.data }));
  }
}
