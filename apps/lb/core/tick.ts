// The tick: switch events released at their bounded rate, health checks, slow start, migration
// steps and drains that end (their last connection gone, or their deadline passed).

import { drainStep } from './drain.js';
import type { Effects } from './effects.js';
import { applyChange, dropPins, finishDrain, slowStartStep } from './pool.js';
import { remembered } from './profiles.js';
import { begin, type CoreState } from './state.js';
import { servesSwitch } from './switch-pipeline.js';

export function tick(s: CoreState, now: number): Effects {
  const fx = begin(s, now);
  fx.events.push(...s.switchEvents.flush(now));
  s.health.tick(now);
  for (const st of s.services.values()) {
    slowStartStep(s, st, now);
    const change = st.table.tick(now, remembered(s, st));
    applyChange(s, st, change, 'migration step');
    let dpids: string[] | undefined;
    for (const b of [...st.backends.values()]) {
      if (b.state !== 'draining') continue;
      dpids ??= [...s.switches.values()].filter((sw) => servesSwitch(st.service, sw.dpidHex)).map((sw) => sw.dpidHex);
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
