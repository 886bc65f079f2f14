// Switch profiles as the decisions read them: which profile a switch is driven in, whether a
// service's switches all remember connections, and the pin options that follow from the profile.

import type { SwitchProfile } from '../../../controller/capabilities.js';
import type { PinOptions } from '../pipeline.js';
import type { ServiceState } from '../service-state.js';
import type { CoreState } from './state.js';
import { servesSwitch } from './switch-pipeline.js';

/** The profile a switch is driven in: forced by an operator, else detected at its handshake. */
export function profileOf(s: CoreState, dpidHex: string, detected?: SwitchProfile): SwitchProfile {
  return s.forcedProfiles.get(dpidHex) ?? detected ?? s.switches.get(dpidHex)?.detectedProfile ?? 'openflow13';
}

export function profileForced(s: CoreState, dpidHex: string): boolean {
  return s.forcedProfiles.has(dpidHex);
}

/** Every switch that carries the service remembers its connections (and one is connected), so
 * its slots can change owner at once. */
export function remembered(s: CoreState, st: ServiceState): boolean {
  let any = false;
  for (const sw of s.switches.values()) {
    if (!servesSwitch(st.service, sw.dpidHex)) continue;
    if (profileOf(s, sw.dpidHex) !== 'ovs') return false;
    any = true;
  }
  return any;
}

export function pinOptions(s: CoreState, dpidHex: string): PinOptions {
  return profileOf(s, dpidHex) === 'ovs' ? { finTimeout: s.cfg.finIdleTimeout } : {};
}
