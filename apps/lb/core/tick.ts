// The tick: switch events released at their bounded rate, health checks, slow start, migration
// steps and drains that end (their last connection gone, or their deadline passed).

import { drainStep, SWITCH_RETURN_GRACE_MS } from './drain.js';
import type { Effects } from './effects.js';
import { applyChange, dropPins, finishDrain, slowStartStep } from './pool.js';
import { remembered } from './profiles.js';
import { begin, type CoreState } from './state.js';
import { servesSwitch } from './switch-pipeline.js';

export function tick(s: CoreState, now: number): Effects {
  const fx = begin(s, now);
  fx.events.push(...s.switchEvents.flush(now));
  s.health.tick(now);
  const returning = now - s.startedAt < SWITCH_RETURN_GRACE_MS;
  for (const st of s.services.values()) {
    slowStartStep(s, st, now);
    const dpids = [...s.switches.values()].filter((sw) => servesSwitch(st.service, sw.dpidHex)).map((sw) => sw.dpidHex);
    // Just after a start, before any switch of the service is back, a query window would close
    // on the clock alone and the packets it exists for (idle flows of the old owner) would meet
    // the new owner once the switch returns: the windows wait for a switch, within the same grace
    // a drain gives switches to return.
    if (returning && dpids.length === 0) st.table.holdWindows(now);
    else applyChange(s, st, st.table.tick(now, remembered(s, st)), 'migration step');
    for (const b of [...st.backends.values()]) {
      if (b.state !== 'draining') continue;
      const step = drainStep(st, b, dpids, now, s.startedAt);
      if (step === 'done') finishDrain(s, st, b, 'its last connection is gone', now);
      else if (step === 'deadline') {
        dropPins(s, st, b);
        finishDrain(s, st, b, 'drain deadline passed', now);
      }
    }
  }
  return fx;
}
