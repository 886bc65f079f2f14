// Polling until a condition holds, for integration tests that watch a real switch or process.

export type WaitFor = <T>(fn: () => T | undefined | false, timeoutMs?: number, what?: string) => Promise<T>;

/**
 * A waitFor that polls `fn` every `pollMs` until it returns a truthy value (resolved with it), or
 * rejects after `timeoutMs` (each test file picks the default that suits its switch's pace).
 */
export function waiter(defaultTimeoutMs: number, pollMs: number): WaitFor {
  return <T>(fn: () => T | undefined | false, timeoutMs = defaultTimeoutMs, what = 'condition'): Promise<T> => {
    const start = Date.now();
    return new Promise((resolve, reject) => {
      const tick = (): void => {
        const v = fn();
        if (v) return resolve(v);
        if (Date.now() - start > timeoutMs) return reject(new Error(`timed out waiting for ${what}`));
        setTimeout(tick, pollMs);
      };
      tick();
    });
  };
}

/** Polls `cond` every 50 ms until it holds (tools/rig has it: the rigs and benchmarks use it too). */
export { until } from '../../tools/rig/until.js';
