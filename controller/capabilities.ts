// What a switch can do, decided in one place from what it told us at the handshake.
//
// A switch profile is what the controller may ask of a switch:
// - `ovs`: Open vSwitch extensions (resubmit, learn, fin_timeout, the selection-method group
//   property, registers) so that the switch itself remembers every connection from its first packet.
// - `openflow13`: standard OpenFlow 1.3 only (select groups, set-field, packet-in/out,
//   flow-removed, bundles where offered), for hardware switches.
// The profile is detected from the switch's description; operators can force it per switch.
import type { SwitchDesc } from '../openflow/types.js';

export type SwitchProfile = 'ovs' | 'openflow13';
export const SWITCH_PROFILES: readonly SwitchProfile[] = ['ovs', 'openflow13'];

/** Open vSwitch says so in its description (manufacturer "Nicira, Inc.", software "Open vSwitch"). */
export function isOpenVswitch(mfr: string, sw: string): boolean {
  return /nicira|open ?v ?switch/i.test(mfr) || /open ?v ?switch/i.test(sw);
}

/** The profile a switch gets unless an operator forces one. Unknown switches get the portable one. */
export function detectProfile(desc: SwitchDesc | null): SwitchProfile {
  return desc !== null && isOpenVswitch(desc.mfrDesc, desc.swDesc) ? 'ovs' : 'openflow13';
}
