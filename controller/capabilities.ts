// What a switch can do, decided in one place from what it told us at the handshake: the
// connection gathers the facts (features, description, group features, a bundle probe) and asks
// `switchCapabilities`; apps read the result and never look at the description themselves.
//
// A switch profile is what the controller may ask of a switch:
// - `ovs`: Open vSwitch extensions (resubmit, learn, fin_timeout, the selection-method group
//   property, registers) so that the switch itself remembers every connection from its first packet.
// - `openflow13`: standard OpenFlow 1.3 only (select groups, set-field, packet-in/out,
//   flow-removed, bundles where offered), for hardware switches.
// The profile is detected from the switch's description; operators can force it per switch.
import { GROUP_TYPES, type GroupFeatures, type GroupType, type SwitchDesc } from '../openflow/types.js';

export type SwitchProfile = 'ovs' | 'openflow13';
export const SWITCH_PROFILES: readonly SwitchProfile[] = ['ovs', 'openflow13'];

/** What the handshake learned about a switch. */
export interface HandshakeFacts {
  nTables: number;
  nBuffers: number;
  /** OFPC_* bits from FEATURES_REPLY. */
  features: number;
  /** The DESC reply, null when the switch refused it. */
  desc: SwitchDesc | null;
  /** The GROUP_FEATURES reply, null when the switch refused it. */
  groupFeatures: GroupFeatures | null;
  /** The switch accepted a bundle open (OFPT_BUNDLE_CONTROL, or the ONF extension on 1.3). */
  bundles: boolean;
}

/** The handshake's facts and what is decided from them. */
export interface SwitchCapabilities extends HandshakeFacts {
  /** Group types from GROUP_FEATURES (empty if the switch has no group table or refused). */
  groupTypes: GroupType[];
  /**
   * OFPP_NORMAL is usable. Inferred from the switch description (Open vSwitch has it); unknown
   * hardware is assumed not to, so apps fall back to their own L2 forwarding.
   */
  normalPort: boolean;
  /** The profile detected from the description; apps may let operators force another. */
  profile: SwitchProfile;
}

/** Open vSwitch says so in its description (manufacturer "Nicira, Inc.", software "Open vSwitch"). */
export function isOpenVswitch(mfr: string, sw: string): boolean {
  return /nicira|open ?v ?switch/i.test(mfr) || /open ?v ?switch/i.test(sw);
}

/** The profile a switch gets unless an operator forces one. Unknown switches get the portable one. */
export function detectProfile(desc: SwitchDesc | null): SwitchProfile {
  return desc !== null && isOpenVswitch(desc.mfrDesc, desc.swDesc) ? 'ovs' : 'openflow13';
}

/** The group types whose bit GROUP_FEATURES sets (bit i = OFPGT code i). */
export function groupTypesOf(gf: GroupFeatures | null): GroupType[] {
  return gf === null ? [] : GROUP_TYPES.filter((_, i) => (gf.types >>> i) & 1);
}

/**
 * How many groups of `type` the switch holds, as GROUP_FEATURES says (0 when it did not answer).
 * OpenFlow has no figure for buckets per group: the bound there is the 64 KiB group_mod.
 */
export function maxGroups(caps: SwitchCapabilities, type: GroupType): number {
  return caps.groupFeatures?.maxGroups[GROUP_TYPES.indexOf(type)] ?? 0;
}

/** Everything a switch can do, from the handshake's facts. */
export function switchCapabilities(f: HandshakeFacts): SwitchCapabilities {
  const profile = detectProfile(f.desc);
  return {
    bundles: f.bundles,
    groupTypes: groupTypesOf(f.groupFeatures),
    groupFeatures: f.groupFeatures,
    // OFPP_NORMAL is Open vSwitch's (its standalone L2 switching); the same decision as the profile.
    normalPort: profile === 'ovs',
    profile,
    nTables: f.nTables,
    nBuffers: f.nBuffers,
    features: f.features,
    desc: f.desc,
  };
}

/** Before the handshake: nothing is known, nothing optional is assumed. */
export function emptyCapabilities(): SwitchCapabilities {
  return switchCapabilities({ nTables: 0, nBuffers: 0, features: 0, desc: null, groupFeatures: null, bundles: false });
}
