// HTTP health checks from the controller host (no monitor address): the I/O half of the core's
// http_check effect. The outcome goes back to the core, which judges it (health.ts httpResult).

import { request as httpGet } from 'node:http';
import type { HttpCheckRequest } from './core/effects.js';
import type { HttpOutcome } from './core/health-monitor.js';

export function runHttpCheck(c: HttpCheckRequest, done: (outcome: HttpOutcome) => void): void {
  let over = false;
  const end = (outcome: HttpOutcome): void => {
    if (over) return;
    over = true;
    done(outcome);
  };
  const req = httpGet({
    host: c.host, port: c.port, path: c.path, method: 'GET', timeout: c.timeoutMs, agent: false,
    headers: { 'user-agent': 'holdfast-health', connection: 'close' },
  }, (res) => {
    res.resume();
    end({ kind: 'status', status: res.statusCode ?? 0 });
    res.destroy();
  });
  req.on('timeout', () => {
    end({ kind: 'timeout' });
    req.destroy();
  });
  req.on('error', (err: NodeJS.ErrnoException) => end({ kind: 'error', code: err.code ?? err.message }));
  req.end();
}
